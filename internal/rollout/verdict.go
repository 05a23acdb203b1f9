package rollout

import (
	"fmt"
	"time"
)

// decide gives the verdict, if there is one yet.
func (t *tracker) decide(failFast bool) {
	if t.terminal() {
		return
	}
	switch {
	case t.gone != "":
		t.finish(StateFailed, fmt.Sprintf("service %s is %s: it was deleted during the rollout", t.res.Service, t.gone))
	case t.vanished:
		t.finish(StateFailed, t.withDetail(fmt.Sprintf("deployment %s no longer exists; the service is on %s (rolled back?)", t.dep.DeploymentID, orUnknown(t.primary)), true))
	case t.seen.rollout == "FAILED":
		t.finish(StateFailed, t.withDetail(fmt.Sprintf("rolloutState FAILED: %s", orUnknown(t.seen.rolloutReason)), false))
	case failFast && t.bad > 0:
		t.finish(StateFailed, t.firstBad)
	case t.checksOwed() != 0:
		t.want |= t.checksOwed() // a look failed or found a task still starting: next poll
	case t.doneCandidate() && t.bad > 0:
		t.finish(StateFailed, fmt.Sprintf("%s, but %d task(s) of it could not pull with the credentials; first: %s", t.doneWording(), t.bad, t.firstBad))
	case t.doneCandidate():
		t.finish(StateSucceeded, fmt.Sprintf("%s: %d of %d tasks running", t.doneWording(), t.seen.running, t.seen.desired))
	}
}

func (t *tracker) doneWording() string {
	if t.seen.rollout != "" {
		return "rolloutState " + t.seen.rollout
	}
	return "the only deployment left"
}

// withDetail adds what explains a failure: the last trouble ECS reported
// (when the deployment is gone, that is all that is left of its reason) and
// the first task that proved the credentials wrong.
func (t *tracker) withDetail(s string, events bool) string {
	if events && len(t.res.RecentEvents) > 0 {
		s += "; ECS reported: " + t.res.RecentEvents[0]
	}
	if t.firstBad != "" {
		s += "; first failed task: " + t.firstBad
	}
	return s
}

func (t *tracker) finish(s State, reason string) {
	t.res.State, t.res.Reason = s, reason
	t.want = 0
}

// stop ends a watch that ran out of time or was cancelled, with how far the
// deployment got.
func (t *tracker) stop(s State, why string) {
	if t.terminal() {
		return
	}
	reason := fmt.Sprintf("%s: %d of %d tasks running, %d pending, %d failed; rolloutState %s",
		why, t.seen.running, t.seen.desired, t.seen.pending, t.failedCount(), orUnknown(t.seen.rollout))
	if t.firstBad != "" {
		reason += "; first failed task: " + t.firstBad
	}
	if len(t.res.RecentEvents) > 0 {
		reason += "; last trouble ECS reported: " + t.res.RecentEvents[0]
	}
	if t.lastEvent != "" && (len(t.res.RecentEvents) == 0 || t.lastEvent != t.res.RecentEvents[0]) {
		reason += "; last event: " + t.lastEvent
	}
	if t.lastErr != "" {
		reason += "; last error: " + t.lastErr
	}
	t.finish(s, reason)
}

// failedCount is ECS's count of consecutive failures, or the failed tasks the
// watch found, whichever is more: ECS resets its count when a task runs, and
// the watch may stop before it has described every failed task.
func (t *tracker) failedCount() int32 { return max(t.seen.failed, t.failures) }

// result is the service's line of the report as of now.
func (t *tracker) result(now time.Time) ServiceResult {
	r := t.res
	r.DesiredCount, r.RunningCount, r.PendingCount = t.seen.desired, t.seen.running, t.seen.pending
	r.FailedTasks = t.failedCount()
	r.RecentEvents = append([]string(nil), t.res.RecentEvents...)
	if !t.dep.StartedAt.IsZero() {
		r.Elapsed = now.Sub(t.dep.StartedAt)
	}
	return r
}

// changed reports whether the visible state moved since the last call that
// returned true.
func (t *tracker) changed() bool {
	v := visible{t.seen.desired, t.seen.running, t.seen.pending, t.failedCount(), t.seen.rollout, t.res.State}
	if t.informed && v == t.notified {
		return false
	}
	t.notified, t.informed = v, true
	return true
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
