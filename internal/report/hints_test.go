package report

import (
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// Each kind of failed task gets the hint that says what to do. A refused
// pull also names the case that verification cannot see: in ecs-config
// mode the agent drops every registry's entry when one member of
// ECS_ENGINE_AUTH_DATA has the wrong shape, and pulls without credentials.
func TestHintPerKind(t *testing.T) {
	for _, c := range []struct {
		task rollout.FailedTask
		want []string
	}{
		{failedTask("web", "a", "CannotPullContainerError: pull access denied for registry.example.com/web"),
			[]string{"check the new username and password", "ignores the whole ECS_ENGINE_AUTH_DATA when one member has the wrong shape", "pulls without credentials"}},
		{failedTask("web", "b", "CannotPullContainerError: manifest for registry.example.com/web:2 not found: manifest unknown"),
			[]string{"image or tag does not exist"}},
		{rollout.FailedTask{Kind: rollout.KindSecretFailed, StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth"},
			[]string{"secretsmanager:GetSecretValue", "kms:Decrypt"}},
		{rollout.FailedTask{Kind: rollout.KindStaleImage}, []string{"cached on the instance"}},
	} {
		got := Hint(c.task)
		for _, want := range c.want {
			if !strings.Contains(got, want) {
				t.Errorf("%s %q: hint %q lacks %q", c.task.Kind, c.task.StoppedReason, got, want)
			}
		}
	}
}
