package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
)

// Issue #7, point 1: a re-run never turns a failed rollout green.
func TestRerunAfterFailedRolloutFailsAgain(t *testing.T) {
	w := newWorld(t)
	in := wrongPassword(w)
	if r := w.run(t, in); r.code != 1 {
		t.Fatalf("first run: exit %d, want 1", r.code)
	}
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("re-run: exit %d, result %q; want exit 1 and failed: the deployment it found never rolled out", r.code, r.outputs["result"])
	}
	if n := len(w.fake.SecretVersions(w.secretARN)); n != 2 {
		t.Errorf("the secret has %d versions, want 2: the re-run must not write again", n)
	}
}

func TestRerunAfterNoWaitWatchesTheEarlierDeployment(t *testing.T) {
	w := newWorld(t)
	in := wrongPassword(w)
	in["wait"] = "false"
	if r := w.run(t, in); r.code != 0 {
		t.Fatalf("first run (wait false): exit %d, want 0", r.code)
	}
	in["wait"] = "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] == "unchanged" {
		t.Fatalf("re-run: exit %d, result %q; want a failure from the deployment the first run started", r.code, r.outputs["result"])
	}
}

func TestRerunAfterCancelledWatchFails(t *testing.T) {
	w := newWorld(t)
	in := wrongPassword(w)
	in["fail-fast"] = "false"
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if r := w.runContext(ctx, t, in); r.code != 1 {
		t.Fatalf("cancelled run: exit %d, want 1", r.code)
	}
	in["fail-fast"] = "true"
	if r := w.run(t, in); r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("re-run: exit %d, result %q; want failed", r.code, r.outputs["result"])
	}
}

func TestRerunAfterSuccessIsUnchanged(t *testing.T) {
	w := newWorld(t)
	if r := w.run(t, w.defaultInputs()); r.code != 0 {
		t.Fatalf("first run: exit %d", r.code)
	}
	before := len(w.mutations())
	r := w.run(t, w.defaultInputs())
	if r.code != 0 || r.outputs["result"] != "unchanged" {
		t.Fatalf("re-run: exit %d, result %q; want unchanged", r.code, r.outputs["result"])
	}
	if after := len(w.mutations()); after != before {
		t.Errorf("the unchanged re-run changed AWS: %v", w.mutations()[before:])
	}
}

// Issue #7, point 3: a write whose answer never came is reported by name.
func TestCancelDuringSecretWriteTellsTheTruth(t *testing.T) {
	w := newWorld(t)
	w.fake.SlowReply("PutSecretValue", 3*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The write has taken effect; its answer is 3 s away.
		for len(w.fake.SecretVersions(w.secretARN)) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	r := w.runContext(ctx, t, w.defaultInputs())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	errLine := lineWith(r.stdout, "::error")
	for _, want := range []string{"cancelled", "secret prod/registry now holds version"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error lacks %q: %s", want, errLine)
		}
	}
	if strings.Contains(errLine, "nothing") {
		t.Errorf("the error says nothing changed, but the secret was written: %s", errLine)
	}
	if got := r.outputs["secret-version-id"]; got == "" || !hasStage(w.fake.SecretVersions(w.secretARN), got, "AWSCURRENT") {
		t.Errorf("secret-version-id %q is not the version written", got)
	}
}

// Issue #7, point 5: the version id is no password verifier.
func TestSecretVersionIDIsNotDerivedFromThePassword(t *testing.T) {
	w := newWorld(t)
	before := w.fake.SecretVersions(w.secretARN)
	r := w.run(t, w.defaultInputs())
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	value := `{"password":"` + newPassword + `","team":"platform","username":"deploy"}`
	sum := sha256.Sum256([]byte(w.secretARN + "\x00" + before[0].VersionID + "\x00" + value))
	if r.outputs["secret-version-id"] == hex.EncodeToString(sum[:]) {
		t.Fatal("secret-version-id is sha256(ARN, previous version, value): a reader of the log can test password guesses")
	}
}

// Issue #7, point 6: outside Actions no workflow command, and no password.
func TestCLIOutsideActionsPrintsNoWorkflowCommand(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", w.fake.RegistryHost(), "--poll-interval", "1s", "--password-stdin")
	cmd.Stdin = strings.NewReader(newPassword + "\n")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Errorf("workflow command outside Actions: %q", l)
		}
	}
	if strings.Contains(out.String(), newPassword) {
		t.Error("the password was printed")
	}
	if !strings.Contains(out.String(), `"result": "success"`) {
		t.Errorf("no outputs JSON on stdout:\n%s", out)
	}
}

func TestCLIErrorsReadErrorColon(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--password", "short", "--poll-interval", "1ns")
	_ = cmd.Run()
	if cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("exit %d, want 2:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	for _, want := range []string{"error: input password: is shorter than 8", "error: input poll-interval: 1ns is shorter than 1s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(w.fake.Calls()) > 0 {
		t.Errorf("bad input reached AWS: %v", w.fake.Calls())
	}
}

// Issue #7, point 7: a password pasted elsewhere is never echoed, escaped or not.
func TestPasswordInAnotherInputNeverEchoed(t *testing.T) {
	w := newWorld(t)
	pw := `we"ird\pass-` + "\u00e9"
	in := w.defaultInputs()
	in["password"], in["cluster"] = pw, pw
	r := w.run(t, in)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pw)
	for _, l := range strings.Split(r.stdout, "\n") {
		if l != "::add-mask::"+pw && (strings.Contains(l, pw) || strings.Contains(l, escaped) || strings.Contains(l, `we\"ird`)) {
			t.Errorf("the password shows in: %q", l)
		}
	}
}

// Issue #7, point 9: a registry's error text cannot inject workflow commands.
func TestRegistryErrorCannotInjectWorkflowCommands(t *testing.T) {
	w := newWorld(t)
	w.fake.SetRegistryDenyMessage("denied\n::stop-commands::x\n::error title=Injected::owned\n##[warning]legacy\r\n## Rotation OK\n[details](https://evil.example) ![x](https://evil.example/x.png) <img src=x>")
	in := w.defaultInputs()
	in["password"] = "typo-" + newPassword
	r := w.run(t, in)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "::stop-commands") || strings.HasPrefix(l, "::error title=Injected") || strings.Contains(l, "##[") {
			t.Errorf("injected command: %q", l)
		}
	}
	// Issue #7, point 10: the same text is literal in the summary.
	unescaped := strings.NewReplacer(`\<`, "", `\!`, "", `\]`, "").Replace(r.summary)
	for _, live := range []string{"\n::", "##[", "\n## Rotation OK", "](https://", "![", "<img", "\r"} {
		if strings.Contains(unescaped, live) {
			t.Errorf("summary carries live markup %q:\n%s", live, r.summary)
		}
	}
}

// Issue #7, point 12: an unwritable GITHUB_OUTPUT after a change is exit 1.
func TestUnwritableOutputAfterChangesIsExit1(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	r := w.runEnv(t, w.defaultInputs(), map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "no-such-dir", "output")})
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	errLine := lineWith(r.stdout, "::error title=report failed")
	for _, want := range []string{"GITHUB_OUTPUT", "secret prod/registry now holds version", "services web, worker were redeployed"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("error lacks %q: %q", want, errLine)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no-such-dir")); err == nil {
		t.Error("the directory appeared")
	}
}

// Issue #7, point 13: a poll interval below 1 s is bad input, not a flood.
func TestTinyPollIntervalIsBadInput(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["poll-interval"] = "1ns"
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--poll-interval", "1ns")
	cmd.Env = append(cmd.Env, "INPUT_PASSWORD="+newPassword)
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(out.String(), "poll-interval") {
		t.Fatalf("binary: exit %d, want 2 naming poll-interval:\n%s", code, out)
	}
	inputs.MinPollInterval = time.Second
	defer func() { inputs.MinPollInterval = 10 * time.Millisecond }()
	r := w.run(t, in)
	if r.code != 2 || len(w.fake.Calls()) != 0 {
		t.Fatalf("exit %d with %d AWS calls, want 2 and none", r.code, len(w.fake.Calls()))
	}
}

// Issue #7, point 15: an ARN from another partition is bad input.
func TestARNPartitionMismatchIsBadInput(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "arn:aws-cn:ecs:us-east-1:123456789012:cluster/prod"
	r := w.run(t, in)
	if r.code != 2 || !strings.Contains(lineWith(r.stdout, "::error"), "partition") {
		t.Fatalf("exit %d, want 2 naming the partition:\n%s", r.code, r.stdout)
	}
}

// Issue #7, point 2: a secret no service uses is never written.
func TestSecretThatNoServiceUsesIsNotWritten(t *testing.T) {
	w := newWorld(t)
	w.fake.CreateSecret("prod/db", `{"host":"db.internal","password":"db-Passw0rd"}`)
	for _, services := range []string{"", "proxy"} {
		in := w.defaultInputs()
		in["secret-id"], in["services"] = "prod/db", services
		r := w.run(t, in)
		if r.code != 1 || len(w.mutations()) != 0 {
			t.Fatalf("services %q: exit %d, mutations %v; want 1 and nothing written", services, r.code, w.mutations())
		}
		errLine := lineWith(r.stdout, "::error")
		for _, want := range []string{"prod/db", "prod"} {
			if !strings.Contains(errLine, want) {
				t.Errorf("services %q: the error lacks %q: %s", services, want, errLine)
			}
		}
	}
}

// Issue #7, point 4: a service named twice is deployed once.
func TestServiceNamedTwiceIsDeployedOnce(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["services"] = "web,arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	r := w.run(t, in)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if n := strings.Count(strings.Join(w.mutations(), " "), "UpdateService"); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// Issue #7, point 8: a password that is an ordinary word is refused.
func TestShortPasswordIsBadInputEndToEnd(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["password"] = "success"
	r := w.run(t, in)
	if r.code != 2 || len(w.fake.Calls()) != 0 {
		t.Fatalf("exit %d with %d calls, want 2 and none", r.code, len(w.fake.Calls()))
	}
	if strings.Contains(r.stdout, "::add-mask::") {
		t.Error("a password too short to mask was masked, hiding ordinary words")
	}
}

// Issue #7, point 11: each output has a delimiter of its own, drawn at
// random, so no value can end another early.
func TestOutputsFileUsesRandomDelimiters(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "output")
	r := w.runEnv(t, w.defaultInputs(), map[string]string{"GITHUB_OUTPUT": path})
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	b, _ := os.ReadFile(path)
	seen := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if _, d, ok := strings.Cut(l, "<<"); ok {
			if !strings.HasPrefix(d, "ghadelimiter_") || len(d) < len("ghadelimiter_")+32 || seen[d] {
				t.Errorf("delimiter %q is fixed, short or reused", d)
			}
			seen[d] = true
		}
	}
	if len(seen) != 5 {
		t.Errorf("%d outputs, want 5:\n%s", len(seen), b)
	}
}

// A missing region is bad input that names where to set it.
func TestMissingRegionIsBadInput(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user)
	var env []string
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "AWS_REGION=") && !strings.HasPrefix(kv, "AWS_DEFAULT_REGION=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword, "AWS_CONFIG_FILE=/dev/null")
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(out.String(), "aws-region") || !strings.Contains(out.String(), "AWS_REGION") {
		t.Fatalf("exit %d, want 2 naming aws-region and AWS_REGION:\n%s", code, out)
	}
	if len(w.fake.Calls()) != 0 {
		t.Errorf("AWS was called: %v", w.fake.Calls())
	}
}
