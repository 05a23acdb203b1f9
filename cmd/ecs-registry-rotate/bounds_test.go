package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHugeStoppedReasonStaysBounded: a registry that answers a refused pull
// with 1 MB of text (line breaks and workflow commands included), which the
// agent quotes in the task's stoppedReason and the container's reason, fails
// the run as usual, and the log, the outputs and the job summary each stay
// far below 1 MB, each saying where it cut.
func TestHugeStoppedReasonStaysBounded(t *testing.T) {
	w := newWorld(t)
	w.fake.SetRegistryDenyMessage(strings.Repeat("denied\n::error::x ", 1<<20/18))
	r := w.run(t, wrongPassword(w))
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
	}
	tasks := decodeFailedTasks(t, r.outputs["failed-tasks"])
	if len(tasks) == 0 || !strings.HasPrefix(tasks[0].StoppedReason, "CannotPullContainerError: Error response from daemon: pull access denied") {
		t.Fatalf("failed-tasks %.300v", tasks)
	}
	if n := utf8.RuneCountInString(tasks[0].StoppedReason); n > 1100 || !strings.Contains(tasks[0].StoppedReason, "more characters)") {
		t.Errorf("stoppedReason in the outputs: %d characters, ending %q", n, lastChars(tasks[0].StoppedReason))
	}
	outputs := 0
	for _, v := range r.outputs {
		outputs += len(v)
	}
	for name, size := range map[string]int{"log": len(r.stdout), "outputs": outputs, "summary": len(r.summary)} {
		if size > 100<<10 {
			t.Errorf("the %s is %d bytes for a 1 MB reason", name, size)
		}
	}
	for name, text := range map[string]string{"log": r.stdout, "summary": r.summary} {
		if !strings.Contains(text, "more characters") {
			t.Errorf("the %s does not say what it cut", name)
		}
	}
	if !strings.Contains(lineWith(r.stdout, "::error title=rollout"), "Hint: the registry refused the pull") {
		t.Errorf("the rollout annotation lost its hint: %.300s…", lineWith(r.stdout, "::error title=rollout"))
	}
}

func lastChars(s string) string {
	if len(s) > 60 {
		return s[len(s)-60:]
	}
	return s
}
