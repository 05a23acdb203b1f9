package report

import (
	"fmt"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// Finish writes the error annotations, the outputs and the job summary.
func (r *Reporter) Finish(run Run) {
	r.annotate(run)
	r.Outputs(run)
	r.AddSummary(Summary(run))
}

// annotate prints one ::error per failing service, image or step, each naming
// the step, the resource and the cause.
func (r *Reporter) annotate(run Run) {
	if run.Failure == nil {
		return
	}
	if run.Failure.Step == StepVerify && len(verify.Failed(run.Verify)) > 0 {
		for _, v := range verify.Failed(run.Verify) {
			r.Errorf("verify credentials: "+v.Image, "registry %s, image %s: %s", v.Registry, v.Image, v.Detail)
		}
		return
	}
	switch run.Failure.Step {
	case StepRollout: // the services' own annotations say it all
	case StepCancelled:
		r.Errorf("run cancelled", "%s", failureText(*run.Failure))
	default:
		r.Errorf(run.Failure.Step+" failed", "%s", failureText(*run.Failure))
	}
	if run.Watch != nil {
		r.annotateRollout(*run.Watch)
	}
}

func failureText(f Failure) string {
	if f.Resource == "" {
		return f.Err.Error()
	}
	return f.Resource + ": " + f.Err.Error()
}

// annotateRollout gives each service that did not succeed its state, its
// counts and, when a task failed, ECS's own words and what they mean.
func (r *Reporter) annotateRollout(w rollout.Result) {
	for _, s := range w.Services {
		if s.State == rollout.StateSucceeded {
			continue
		}
		msg := fmt.Sprintf("service %s, deployment %s: %s after %s (%d/%d running, %d pending, %d failed)",
			s.Service, s.DeploymentID, s.State, elapsed(s.Elapsed), s.RunningCount, s.DesiredCount, s.PendingCount, s.FailedTasks)
		title := fmt.Sprintf("rollout: %s: %s", s.Service, s.State)
		task, ok := firstFailure(w.FailedTasks, s.Service)
		if s.RolloutState == "FAILED" && s.RolloutStateReason != "" && !strings.Contains(s.Reason, s.RolloutStateReason) {
			msg += ": rolloutState FAILED: " + s.RolloutStateReason
		}
		if s.Reason != "" && (!ok || !strings.Contains(s.Reason, taskReason(task))) {
			msg += ": " + s.Reason
		}
		if ok {
			title = fmt.Sprintf("rollout: %s: %s", s.Service, firstWord(taskReason(task)))
			msg += fmt.Sprintf(". Task %s%s: %s. Hint: %s", taskID(task.TaskArn), containerPart(task), taskReason(task), Hint(task))
		}
		if len(s.RecentEvents) > 0 {
			msg += ". Last events: " + strings.Join(s.RecentEvents, " | ")
		}
		r.Errorf(title, "%s", msg)
	}
}

func firstFailure(tasks []rollout.FailedTask, service string) (rollout.FailedTask, bool) {
	for _, t := range tasks {
		if t.Service == service {
			return t, true
		}
	}
	return rollout.FailedTask{}, false
}

// taskReason is ECS's own words: the container's reason when there is one
// (it names the image), else the task's stoppedReason.
func taskReason(t rollout.FailedTask) string {
	for _, c := range t.Containers {
		if c.Reason != "" {
			return c.Reason
		}
	}
	return t.StoppedReason
}

func containerPart(t rollout.FailedTask) string {
	for _, c := range t.Containers {
		if c.Reason != "" || len(t.Containers) == 1 {
			return fmt.Sprintf(", container %s, image %s", c.Name, c.Image)
		}
	}
	return ""
}

func taskID(arn string) string { return lastPart(arn) }

func firstWord(s string) string {
	if i := strings.IndexAny(s, ": "); i > 0 {
		return s[:i]
	}
	return s
}
