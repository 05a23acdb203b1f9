package main

import (
	"regexp"
	"strings"
	"testing"
)

// unescaped is a character of the value that Markdown would act on,
// without the backslash that shows it literally.
var unescaped = regexp.MustCompile(`(^|[^\\])[<*=()]`)

// Issue #15, point 5: under Actions a run stopped by bad input (exit 2)
// still writes result=failed, the arrays empty, and a short job summary
// that names each input at fault, shown literally; nothing reaches AWS.
func TestBadInputUnderActionsWritesResultAndSummary(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["timeout"] = "soon"
	in["cluster"] = "<img src=x onerror=alert(1)> **prod**"
	r := w.run(t, in)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	want := map[string]string{"result": "failed", "secret-version-id": "", "services": "[]", "failed-tasks": "[]", "instances": "[]"}
	for name, v := range want {
		if got, ok := r.outputs[name]; !ok || got != v {
			t.Errorf("output %s = %q (written: %v), want %q", name, got, ok, v)
		}
	}
	for _, s := range []string{"ecs-registry-rotate: failed", "Bad input (exit 2): 2 problems; nothing was asked of AWS and nothing was changed",
		"| cluster | ", "| timeout | ", `\<img src\=x onerror\=alert\(1\)\> \*\*prod\*\*`} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("the summary lacks %q:\n%s", s, r.summary)
		}
	}
	if row := lineWith(r.summary, "| cluster | "); unescaped.MatchString(row) {
		t.Errorf("the summary renders the value as Markdown or HTML: %s", row)
	}
	if n := len(w.fake.Calls()); n != 0 {
		t.Errorf("bad input made %d AWS calls", n)
	}
}

// The password stays out of the summary however the inputs are wrong: a
// password pasted into another input, or one too short to mask.
func TestBadInputSummaryHoldsNoPassword(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ name, input, value, password string }{
		{"pasted into cluster", "cluster", newPassword + " x", newPassword},
		{"pasted into services", "services", "web," + newPassword + "!", newPassword},
		{"too short to mask", "password", "hunter2", "hunter2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := w.defaultInputs()
			in[c.input] = c.value
			in["password"] = c.password
			r := w.run(t, in) // fails the test if the password shows anywhere
			if r.code != 2 || r.outputs["result"] != "failed" || !strings.Contains(r.summary, "| "+c.input+" | ") {
				t.Errorf("exit %d, result %q, want 2 and failed, and a summary naming %s:\n%s", r.code, r.outputs["result"], c.input, r.summary)
			}
			if strings.Contains(r.summary, c.password) {
				t.Errorf("the summary holds the password")
			}
		})
	}
}

// Outside Actions bad input writes no outputs: stdout stays empty.
func TestBadInputOutsideActionsWritesNoOutputs(t *testing.T) {
	w := newWorld(t)
	r := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--timeout", "soon"},
		map[string]string{"ECS_REGISTRY_ROTATE_PASSWORD": newPassword}, "", nil)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "error: input timeout:") {
		t.Fatalf("exit %d, stdout %q, want 2, nothing on stdout and the error on stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
