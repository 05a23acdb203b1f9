package main

import (
	"slices"
	"strings"
	"testing"
)

func TestWrongPasswordStoppedByVerification(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["password"] = "typo-" + newPassword
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("verification failed but AWS was changed: %v", m)
	}
	annotation := lineWith(r.stdout, "::error title=verify credentials")
	for _, want := range []string{w.fake.RegistryHost(), w.webImage, "unauthorized"} {
		if !strings.Contains(strings.ToLower(annotation), strings.ToLower(want)) {
			t.Errorf("annotation lacks %q: %s", want, annotation)
		}
	}
}

func TestVerificationOffLetsTheWatchCatchIt(t *testing.T) {
	w := newWorld(t)
	r := w.run(t, wrongPassword(w))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if m := w.mutations(); !slices.Contains(m, "PutSecretValue") || !slices.Contains(m, "UpdateService") {
		t.Errorf("with verify-credentials false the rotation should proceed; mutations %v", m)
	}
}
