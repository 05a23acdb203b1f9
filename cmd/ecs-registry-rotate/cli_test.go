package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// cliResult is what a terminal user sees of a run.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cliRun runs the program in-process as a terminal user would: flags,
// variables and standard input, outside Actions. opts nil: the SDK pointed
// at the fake with its credentials and region.
func (w *world) cliRun(t *testing.T, args []string, env map[string]string, stdin string, opts *awsclient.Options) cliResult {
	t.Helper()
	if opts == nil {
		opts = &awsclient.Options{Extra: w.fake.LoadOptions(), MaxBackoff: 20 * time.Millisecond}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] },
		streams{in: strings.NewReader(stdin), out: &stdout, err: &stderr}, *opts)
	r := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if t.Failed() || testing.Verbose() {
		t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

// fakeEndpoint is the fake's address, for SDK options built by hand.
func (w *world) fakeEndpoint(t *testing.T) string {
	t.Helper()
	for _, kv := range w.fake.Env() {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			return v
		}
	}
	t.Fatal("the fake has no AWS_ENDPOINT_URL")
	return ""
}

// unsetenv removes variables from this process's environment, which the
// SDK reads, until the test ends.
func unsetenv(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		t.Setenv(k, "") // restores the old value at the end
		os.Unsetenv(k)
	}
}

// cliPasswordFlag is a hint of --password, which puts the password in the
// process list (--password-stdin is fine).
var cliPasswordFlag = regexp.MustCompile(`--password([^-]|$)`)

var inputNames = []string{"auth-mode", "secret-id", "username", "password", "registry", "ecs-config-auth-type",
	"cluster", "services", "force-new-deployment", "minimum-healthy-percent", "wait", "timeout", "poll-interval",
	"fail-fast", "restart-agent", "ecs-config-transport", "verify-credentials", "dry-run", "rollback-on-failure",
	"role-to-assume", "aws-region"}

var problemLabel = regexp.MustCompile(`(?m)^error: input [a-z-]+: `)

// assertCLIHints fails on terminal output that names inputs as only
// Actions has them or suggests the password as a flag.
func assertCLIHints(t *testing.T, text string) {
	t.Helper()
	// "error: input secret-id: ..." labels the problem; the words after it
	// are the hint.
	hints := problemLabel.ReplaceAllString(text, "error: ")
	bad := []string{"INPUT_", "with:", "::"}
	for _, input := range inputNames {
		bad = append(bad, input+" input", "input "+input)
	}
	for _, b := range bad {
		if strings.Contains(hints, b) {
			t.Errorf("a terminal user is told %q:\n%s", b, text)
		}
	}
	if cliPasswordFlag.MatchString(text) {
		t.Errorf("a terminal user is told to use --password:\n%s", text)
	}
}

// Issue #15, point 4: outside Actions every hint uses the CLI's own
// names; nothing is asked of AWS.
func TestCLIMissingInputsNameFlagsAndOwnVariables(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"--cluster", "prod", "--username", user}, nil, "", nil)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	for _, want := range []string{
		"error: input secret-id: is required: the secret's name or ARN, in secrets-manager mode; pass --secret-id or set ECS_REGISTRY_ROTATE_SECRET_ID",
		"error: input password: is required: the new registry password or token; pipe it to --password-stdin or set ECS_REGISTRY_ROTATE_PASSWORD",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	assertCLIHints(t, r.stderr)
	if r.stdout != "" {
		t.Errorf("bad input wrote to stdout: %q", r.stdout)
	}
	if n := len(w.fake.Calls()); n != 0 {
		t.Errorf("bad input made %d AWS calls", n)
	}
}

func TestCLIEmptyPasswordStdinSaysSo(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--password-stdin"}, nil, "", nil)
	if r.code != 2 || strings.Count(r.stderr, "error:") != 1 || !strings.Contains(r.stderr, "--password-stdin read nothing from standard input") {
		t.Fatalf("exit %d, want 2 with one error saying that standard input was empty:\n%s", r.code, r.stderr)
	}
	assertCLIHints(t, r.stderr)
}

func TestCLIShortFlagRefusedAsWritten(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"-v"}, nil, "", nil)
	if r.code != 2 || !strings.Contains(r.stderr, "error: arguments: unknown flag -v; run with --help") || strings.Contains(r.stderr, "--v") {
		t.Fatalf("exit %d, want 2 refusing -v as -v:\n%s", r.code, r.stderr)
	}
}

// A missing region names --aws-region outside Actions, the step's with:
// under Actions.
func TestMissingRegionHintFitsWhereItRuns(t *testing.T) {
	unsetenv(t, "AWS_REGION", "AWS_DEFAULT_REGION")
	w := newWorld(t)
	noRegion := &awsclient.Options{Extra: []func(*config.LoadOptions) error{
		config.WithBaseEndpoint(w.fakeEndpoint(t)),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testenv.AccessKeyID, testenv.SecretAccessKey, "")),
	}}
	r := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user},
		map[string]string{"ECS_REGISTRY_ROTATE_PASSWORD": newPassword}, "", noRegion)
	if r.code != 2 || !strings.Contains(r.stderr, "error: input aws-region: no AWS region is set; pass --aws-region, or set AWS_REGION") {
		t.Fatalf("exit %d, want 2 naming --aws-region:\n%s", r.code, r.stderr)
	}
	assertCLIHints(t, r.stderr)

	w.clientOptions = func(o *awsclient.Options) { *o = *noRegion }
	a := w.run(t, w.defaultInputs())
	if a.code != 2 || !strings.Contains(a.stdout, "set aws-region under the step's with:") {
		t.Fatalf("under Actions: exit %d, want 2 naming the step's with:\n%s", a.code, a.stdout)
	}
	if n := len(w.fake.Calls()); n != 0 {
		t.Errorf("a missing region made %d AWS calls", n)
	}
}

// The plan's hints, too, name flags outside Actions and inputs under it.
func TestPlanHintsFitWhereItRuns(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--services", "ghost"},
		map[string]string{"ECS_REGISTRY_ROTATE_PASSWORD": newPassword}, "", nil)
	if r.code != 1 || !strings.Contains(r.stderr, "service ghost not found in cluster prod: check --services") {
		t.Fatalf("exit %d, want 1 naming --services:\n%s", r.code, r.stderr)
	}
	assertCLIHints(t, r.stderr)
	in := w.defaultInputs()
	in["services"] = "ghost"
	a := w.run(t, in)
	if a.code != 1 || !strings.Contains(a.stdout, "check the services input") {
		t.Fatalf("under Actions: exit %d, want 1 naming the services input:\n%s", a.code, a.stdout)
	}
}

// Issue #15, point 8: in a terminal each image that failed the registry
// check is given once, in the log ("FAIL image: why"), and the step's one
// error counts them; under Actions each also gets its annotation.
func TestCLIPrintsEachFailedCheckOnce(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--registry", w.fake.RegistryHost()},
		map[string]string{"ECS_REGISTRY_ROTATE_PASSWORD": "typo-" + newPassword}, "", nil)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, image := range []string{"shop/web:1.4.2", "shop/worker:2.0.1"} {
		n := 0
		for _, line := range strings.Split(r.stderr, "\n") {
			if strings.Contains(line, image) && strings.Contains(line, "rejected the login") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the failed check of %s is printed %d times, want once:\n%s", image, n, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "error: verify credentials failed: the new credentials could not pull 2 of 2 images; nothing was changed") {
		t.Errorf("no error counting the failed checks:\n%s", r.stderr)
	}
	in := w.defaultInputs()
	in["password"] = "typo-" + newPassword
	a := w.run(t, in)
	if n := strings.Count(a.stdout, "::error title=verify credentials%3A "); a.code != 1 || n != 2 {
		t.Errorf("under Actions: exit %d and %d annotations, want 1 and one per image:\n%s", a.code, n, a.stdout)
	}
}
