package report

import (
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// Hint says what a failed task most likely means and what to do about it.
func Hint(t rollout.FailedTask) string {
	text := strings.ToLower(t.StoppedReason)
	for _, c := range t.Containers {
		text += " " + strings.ToLower(c.Reason)
	}
	switch t.Kind {
	case rollout.KindSecretFailed:
		return "the task execution role could not read the registry secret: grant it secretsmanager:GetSecretValue on the secret (and kms:Decrypt if the secret uses a customer-managed KMS key)"
	case rollout.KindStaleImage:
		return "the task runs on an image cached on the instance because the pull failed: the registry credentials are still not working"
	case rollout.KindPullFailed:
		if notFound(text) {
			return "the registry says the image or tag does not exist: the credentials may be fine; check the image name and tag in the task definition"
		}
		return "the registry refused the pull: check the new username and password (a token needs pull scope on this repository); where the agent takes them from ecs.config, it ignores the whole ECS_ENGINE_AUTH_DATA when one member has the wrong shape for ECS_ENGINE_AUTH_TYPE, and pulls without credentials"
	}
	return "the task stopped for a reason other than pulling its image: see the task's logs and stop code"
}

func notFound(text string) bool {
	for _, s := range []string{"not found", "manifest unknown", "no such image"} {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
