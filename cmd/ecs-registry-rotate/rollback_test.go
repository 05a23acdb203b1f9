package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Issue #9: a registry that refuses the new password, with verification off,
// ends as rolled-back, and the services run on the old credentials again.
func TestRollbackRestoresThePreviousVersionAndRollsBack(t *testing.T) {
	w := newWorld(t)
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // the new one never worked
	original := w.fake.SecretVersions(w.secretARN)[0].VersionID
	in := wrongPassword(w)
	in["rollback-on-failure"] = "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "rolled-back" {
		t.Fatalf("exit %d, result %q; want 1 and rolled-back", r.code, r.outputs["result"])
	}
	if !hasStage(w.fake.SecretVersions(w.secretARN), original, "AWSCURRENT") {
		t.Errorf("AWSCURRENT is not back on the original version %s: %+v", original, w.fake.SecretVersions(w.secretARN))
	}
	if n := len(w.fake.SecretVersions(w.secretARN)); n != 2 {
		t.Errorf("%d versions, want 2: the rollback moves a label, it writes no new version", n)
	}
	if !strings.Contains(w.fake.SecretString(w.secretARN), oldPassword) {
		t.Error("the secret's current value is not the old one")
	}
	for _, svc := range []string{"web", "worker"} {
		s, _ := w.fake.ServiceSnapshot("prod", svc)
		if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount {
			t.Errorf("service %s after the rollback: %d deployments, %d/%d running", svc, len(s.Deployments), s.RunningCount, s.DesiredCount)
		}
	}
	rollout, rollback := strings.Index(r.summary, "### Services"), strings.Index(r.summary, "## Rollback")
	if rollout < 0 || rollback < rollout {
		t.Errorf("the summary wants the rollout, then the rollback:\n%s", r.summary)
	}
	if !strings.Contains(lineWith(r.stdout, "::error title=rolled back"), "AWSCURRENT is version "+original) {
		t.Errorf("no annotation with the rollback's outcome:\n%s", r.stdout)
	}
	if n := strings.Count(strings.Join(w.mutations(), " "), "UpdateSecretVersionStage"); n != 1 {
		t.Errorf("%d UpdateSecretVersionStage calls, want 1", n)
	}
}

func TestNoRollbackWhenNothingWasWritten(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["password"] = "typo-" + newPassword // verification stops it
	in["rollback-on-failure"] = "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "failed" || len(w.mutations()) != 0 {
		t.Fatalf("exit %d, result %q, mutations %v; want failed with nothing changed", r.code, r.outputs["result"], w.mutations())
	}
}

func TestCancelledRunSaysHowToRollBackByHand(t *testing.T) {
	w := newWorld(t)
	in := wrongPassword(w)
	in["rollback-on-failure"] = "true"
	in["fail-fast"] = "false"
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r := w.runContext(ctx, t, in)
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d, result %q; want 1 and failed", r.code, r.outputs["result"])
	}
	errLine := lineWith(r.stdout, "::error title=run cancelled")
	for _, want := range []string{"aws secretsmanager update-secret-version-stage --secret-id " + w.secretARN, "--move-to-version-id", "aws ecs update-service --cluster prod --service web --force-new-deployment"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the cancel annotation lacks %q: %s", want, errLine)
		}
	}
	if strings.Contains(strings.Join(w.mutations(), " "), "UpdateSecretVersionStage") {
		t.Error("a cancelled run rolled back")
	}
}
