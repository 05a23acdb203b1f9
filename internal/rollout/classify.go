package rollout

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// pullMarkers match the error names the ECS agent and Fargate put in front of
// a failed image pull: CannotPullContainerError, CannotPullECRContainerError,
// CannotPullContainerAuthError (aws/amazon-ecs-agent
// agent/dockerclient/dockerapi/errors.go), CannotPullImageManifestError.
// Matched in lower case, so one prefix covers them all.
var pullMarkers = []string{"cannotpull"}

// secretMarkers are the wordings of a registry secret that could not be read:
// Fargate's ResourceInitializationError, and the EC2 agent's raw errors
// ("Asm fetching secret from the service for <arn>: AccessDeniedException...",
// agent/asm/asm.go; "Fetching secret data from AWS Secrets Manager in region
// ...", agent/taskresource/asmsecret).
var secretMarkers = []string{
	"unable to pull secrets or registry auth",
	"asm fetching secret",
	"asm fetching authorization data",
	"fetching secret data from aws secrets manager",
	"unable to retrieve secret from asm",
}

// stoppingStatuses are the lastStatus values of a task on its way out.
var stoppingStatuses = map[string]bool{
	"DEACTIVATING": true, "STOPPING": true, "DEPROVISIONING": true, "STOPPED": true,
}

// Classify decides what a task of a new deployment is. It reads the task's
// stoppedReason and every container's reason, because ECS puts a pull error in
// either place depending on the launch type and on when the pull failed.
func Classify(t ecstypes.Task) Kind {
	last := aws.ToString(t.LastStatus)
	if !hasStopped(t) {
		if last != "RUNNING" {
			return KindPending
		}
		// The agent falls back to a cached image when a pull fails: the task
		// runs, but the credentials are still broken.
		for _, c := range t.Containers {
			if isPullError(aws.ToString(c.Reason)) {
				return KindStaleImage
			}
		}
		return KindRunning
	}
	texts := reasons(t)
	switch {
	case anyMatch(texts, isSecretError):
		return KindSecretFailed
	case anyMatch(texts, isPullError):
		return KindPullFailed
	case stoppedOnPurpose(t):
		return KindStopped
	default:
		return KindOtherFailure
	}
}

// hasStopped reports whether the task stopped or is stopping with a known
// cause. A task whose desired status just turned STOPPED but that has neither
// a stop code nor a reason yet is judged by its lastStatus until it has one.
func hasStopped(t ecstypes.Task) bool {
	last := aws.ToString(t.LastStatus)
	if last == "STOPPED" {
		return true
	}
	stopping := stoppingStatuses[last] || aws.ToString(t.DesiredStatus) == "STOPPED"
	return stopping && (t.StopCode != "" || aws.ToString(t.StoppedReason) != "")
}

// stoppedOnPurpose is a scale-in, a deployment replacing the task or a user's
// StopTask, with no sign of an error: ECS also uses ServiceSchedulerInitiated
// for tasks it kills after failed health checks, so the reason is read too.
func stoppedOnPurpose(t ecstypes.Task) bool {
	if t.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated && t.StopCode != ecstypes.TaskStopCodeUserInitiated {
		return false
	}
	if looksLikeError(aws.ToString(t.StoppedReason)) {
		return false
	}
	for _, c := range t.Containers {
		if aws.ToString(c.Reason) != "" {
			return false
		}
	}
	return true
}

// reasons are the task's stoppedReason and its containers' reasons.
func reasons(t ecstypes.Task) []string {
	texts := make([]string, 0, len(t.Containers)+1)
	texts = append(texts, aws.ToString(t.StoppedReason))
	for _, c := range t.Containers {
		texts = append(texts, aws.ToString(c.Reason))
	}
	return texts
}

func anyMatch(texts []string, match func(string) bool) bool {
	for _, s := range texts {
		if match(s) {
			return true
		}
	}
	return false
}

func isPullError(s string) bool { return containsAny(strings.ToLower(s), pullMarkers) }

// isSecretError matches the secret wordings; a bare ResourceInitializationError
// also covers log-group and network set-up failures, so it counts only when it
// speaks of a secret or of registry auth.
func isSecretError(s string) bool {
	lower := strings.ToLower(s)
	if containsAny(lower, secretMarkers) {
		return true
	}
	return strings.Contains(lower, "resourceinitializationerror") &&
		containsAny(lower, []string{"secret", "registry auth", "asm"})
}

// looksLikeError is true for reasons such as "Task failed ELB health checks"
// or "Essential container in task exited", false for "Scaling activity
// initiated by (deployment ecs-svc/1)" or "Task stopped by user".
func looksLikeError(s string) bool {
	return containsAny(strings.ToLower(s), []string{"fail", "error", "unhealthy", "health check", "exited", "killed"})
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isBad is the kinds that prove the credentials wrong: they end a fail-fast
// wait and keep a completed deployment from counting as done.
func (k Kind) isBad() bool {
	return k == KindPullFailed || k == KindSecretFailed || k == KindStaleImage
}

// isFailure is every kind reported in FailedTasks.
func (k Kind) isFailure() bool { return k.isBad() || k == KindOtherFailure }
