package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Issue #15, point 8: the demo shows a success, a refused check, a
// rolled-back rotation (as an Actions step, whose job summary it writes and
// names) and a failed one in secrets-manager mode, then a success and a
// failure in ecs-config mode; it prints each failed check once, each task
// error once with a count, the outputs only on request, and leaves nothing
// behind but the summary.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	summary := filepath.Join(t.TempDir(), "summary.md")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the demo makes its directory
	var out bytes.Buffer
	start := time.Now()
	err := demo(context.Background(), options{root: "../..", summary: summary, out: &out})
	took := time.Since(start)
	text := out.String()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, text)
	}
	t.Logf("the demo took %s", took.Round(100*time.Millisecond))
	if took > 3*time.Minute {
		t.Errorf("the demo took %s", took)
	}

	runs := strings.Split(text, "\n==================== ")[1:]
	want := []struct {
		exit   string
		result string
	}{{"0", "success"}, {"1", "failed"}, {"1", "rolled-back"}, {"1", "failed"}, {"0", "success"}, {"1", "failed"}}
	if len(runs) != len(want) {
		t.Fatalf("%d runs, want %d:\n%s", len(runs), len(want), text)
	}
	for i, w := range want {
		if !strings.Contains(runs[i], "\n>>> exit status "+w.exit+" after ") || !strings.Contains(runs[i], "\n>>> outputs: result="+w.result+";") {
			t.Errorf("run %d: want exit %s and result %s:\n%s", i+1, w.exit, w.result, runs[i])
		}
	}

	// 2: each image's failed check once.
	for _, image := range []string{"shop/web:1.4.2", "shop/worker:2.0.1"} {
		if n := countLines(runs[1], image, "rejected the login"); n != 1 {
			t.Errorf("run 2 gives the failed check of %s %d times, want once:\n%s", image, n, runs[1])
		}
	}
	// 3: the job summary, written and named.
	b, err := os.ReadFile(summary)
	if err != nil || !strings.HasPrefix(string(b), "## ↩️ ecs-registry-rotate: rolled-back") || !strings.Contains(string(b), "## Rollback") {
		t.Errorf("the summary of run 3 (%v):\n%s", err, b)
	}
	if !strings.Contains(runs[2], ">>> its job summary, as GitHub shows it on the run's page, is in "+summary) {
		t.Errorf("run 3 does not say where its summary is:\n%s", runs[2])
	}
	if strings.Contains(text, "::add-mask::token") {
		t.Errorf("the demo shows the password in ::add-mask::")
	}
	// 4: each task error once, with its count; no outputs as JSON.
	if n := countLines(runs[3], ">>> 2 tasks stopped with: CannotPullContainerError", "shop/worker"); n != 1 {
		t.Errorf("run 4 gives the tasks' error %d times with a count, want once:\n%s", n, runs[3])
	}
	if strings.Contains(text, `"failed-tasks"`) || strings.Contains(text, "stoppedReason") {
		t.Errorf("the outputs are printed as JSON without -outputs")
	}
	// 6: the preflight stops the ecs-config run before any change.
	for _, s := range []string{"no instance was changed", "parameter-denied", "instances: 1 failed, 3 skipped"} {
		if !strings.Contains(runs[5], s) {
			t.Errorf("run 6 lacks %q:\n%s", s, runs[5])
		}
	}
	// Nothing left behind in the temporary directory.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the demo left %v in %s", names, tmp)
	}
}

// countLines counts the lines of text that hold every one of parts.
func countLines(text string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// -outputs prints the outputs whole; without it, each task error is said
// once with its count.
func TestDescribeOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outputs.json")
	reason := "CannotPullContainerError: pull access denied for shop/web"
	task := `{"service":"web","stoppedReason":"` + reason + `","containers":[{"reason":"` + reason + `"}]}`
	other := `{"service":"web","stoppedReason":"Essential container exited","containers":[{"reason":""}]}`
	doc := `{"result":"failed","services":[{"service":"web","rolloutState":"IN_PROGRESS"}],"failed-tasks":[` +
		strings.Join([]string{task, task, other, task}, ",") + `],"instances":[]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, show := range []bool{false, true} {
		var out bytes.Buffer
		d := &demoRun{options: options{outputs: show, out: &out}}
		d.describeOutputs(path)
		got := out.String()
		if strings.Contains(got, `"failed-tasks"`) != show {
			t.Errorf("-outputs=%v: the JSON shown: %v\n%s", show, !show, got)
		}
		for _, want := range []string{">>> outputs: result=failed; services: web IN_PROGRESS", ">>> 3 tasks stopped with: " + reason + "\n", ">>> 1 task stopped with: Essential container exited\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("-outputs=%v: lacks %q:\n%s", show, want, got)
			}
		}
		if n := len(regexp.MustCompile(regexp.QuoteMeta(">>> ")+`\d+ tasks? stopped`).FindAllString(got, -1)); n != 2 {
			t.Errorf("-outputs=%v: %d lines of task errors, want 2:\n%s", show, n, got)
		}
	}
}

// The one line that carries the password under Actions is shown masked,
// as the runner shows it; every other line passes as it is.
func TestLineWriterMasksTheMaskLine(t *testing.T) {
	var out bytes.Buffer
	w := &lineWriter{out: &out}
	w.Write([]byte("::add-mask::s3cr"))
	w.Write([]byte("et-token\n::group::Plan\npartial"))
	w.Flush()
	if got, want := out.String(), "::add-mask::***\n::group::Plan\npartial\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
