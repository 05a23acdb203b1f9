package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// hostile is what a registry or a task reason could carry.
const hostile = "denied\n::stop-commands::x\r\n::error title=Injected::pwned\n##[error]legacy\u202eevil\x1b[31m\r## Rotation OK\n[click](https://evil.example) ![img](https://evil.example/x.png) <b>bold</b> www.evil.example | cell"

func TestNoOutsideTextBecomesAWorkflowCommand(t *testing.T) {
	rep, out, _ := newTestReporter(t)
	rep.Infof("registry said: %s", hostile)
	rep.Infof("%s", hostile)
	rep.Warningf("%s", hostile)
	rep.Group(hostile)
	rep.EndGroup()
	rep.Errorf(hostile, "%s", hostile)
	for _, l := range strings.Split(out.String(), "\n") {
		trimmed := strings.TrimLeft(l, " \t")
		if strings.HasPrefix(trimmed, "::") && !ours(trimmed) {
			t.Errorf("a line from outside became a workflow command: %q", l)
		}
		if strings.Contains(l, "##[") || strings.ContainsAny(l, "\r\x1b\u202e") {
			t.Errorf("legacy command or control character printed: %q", l)
		}
	}
}

func ours(l string) bool {
	for _, p := range []string{"::add-mask::", "::warning::", "::error title=", "::group::", "::endgroup::"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func TestSummaryShowsOutsideTextLiterally(t *testing.T) {
	task := failedTask("web", "t1", hostile)
	run := Run{Result: ResultFailed, Mode: "secrets-manager", Cluster: "prod",
		Watch:   &rollout.Result{FailedTasks: []rollout.FailedTask{task}, Services: []rollout.ServiceResult{{Service: "web", State: rollout.StateFailed, Reason: hostile}}},
		Failure: &Failure{Step: StepRollout, Err: errors.New(hostile)}}
	summary := Summary(run)
	for _, bad := range []string{"\n## Rotation", "](https://", "![", "<b>", "\r", "\n::", " www.evil"} {
		if strings.Contains(summary, bad) {
			t.Errorf("summary holds live markup %q:\n%s", bad, summary)
		}
	}
	for _, l := range strings.Split(summary, "\n") {
		if strings.HasPrefix(l, "|") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 10 {
			t.Errorf("a table row has another number of cells: %q", l)
		}
	}
}

func TestOutputDelimiterIsRandomAndValuesIntact(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out")}
	// A password that is an ordinary word would corrupt scrubbed outputs.
	rep := New(Options{Actions: true, Log: &bytes.Buffer{}, Getenv: func(k string) string { return env[k] }, Password: "services"})
	reason := "x\nghadelimiter_\nresult<<EOF\nsuccess\nEOF"
	rep.Outputs(Run{Result: ResultFailed, Watch: &rollout.Result{FailedTasks: []rollout.FailedTask{failedTask("web", "t1", reason)}}})
	text := readFile(t, env["GITHUB_OUTPUT"])
	var delims []string
	for _, l := range strings.Split(text, "\n") {
		if name, d, ok := strings.Cut(l, "<<"); ok && !strings.ContainsAny(name, " ") && strings.HasPrefix(d, "ghadelimiter_") {
			delims = append(delims, d)
		}
	}
	if len(delims) != len(outputNames) {
		t.Fatalf("%d output blocks, want %d:\n%s", len(delims), len(outputNames), text)
	}
	if delims[0] == delims[1] {
		t.Errorf("the delimiter is the same for two values: %s", delims[0])
	}
	if !strings.Contains(text, "result<<"+delims[0]+"\nfailed\n") || !strings.Contains(text, `"services":`) && !strings.Contains(text, "services<<") {
		t.Errorf("outputs corrupted:\n%s", text)
	}
}

func TestUnwritableOutputsFailTheRunAndSayWhatChanged(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "missing-dir", "out")}
	var out bytes.Buffer
	rep := New(Options{Actions: true, Log: &out, Getenv: func(k string) string { return env[k] }})
	err := rep.Finish(Run{Result: ResultSuccess, Deployments: []rollout.Deployment{{Target: rollout.Target{Service: "web"}}}})
	if !errors.Is(err, ErrOutputs) {
		t.Fatalf("Finish: %v, want ErrOutputs", err)
	}
	if !strings.Contains(out.String(), "::error title=report failed::") || !strings.Contains(out.String(), "services web were redeployed") {
		t.Errorf("no error naming what changed:\n%s", out.String())
	}
	if _, err := os.Stat(env["GITHUB_OUTPUT"]); err == nil {
		t.Error("the output file appeared")
	}
}
