package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// Finish writes the error annotations, the outputs and the job summary. It
// returns an error, wrapping ErrOutputs, when the outputs or the summary could
// not be written; the caller fails the run and says what it had changed.
func (r *Reporter) Finish(run Run) error {
	r.annotate(run)
	r.Outputs(run)
	r.AddSummary(r.summary(run))
	if err := r.WriteErr(); err != nil {
		r.Errorf("report failed", "%s; %s", err, own(run.Changes()))
		return fmt.Errorf("%w: %w", ErrOutputs, err)
	}
	return nil
}

// annotate prints one ::error per failing service, image or step, each naming
// the step, the resource and the cause.
func (r *Reporter) annotate(run Run) {
	if run.Failure == nil {
		return
	}
	// Under Actions each image that failed the check gets an annotation of
	// its own, read on the run's page. In a terminal the log just above
	// gave each one ("FAIL image: why"): the step's one error counts them,
	// rather than print every check twice.
	if run.Failure.Step == StepVerify && len(verify.Failed(run.Verify)) > 0 && r.action != nil {
		for _, v := range verify.Failed(run.Verify) {
			r.Errorf("verify credentials: "+r.cell(v.Image), "registry %s, image %s: %s", v.Registry, v.Image, v.Detail)
		}
		return
	}
	// Annotations are read out of context, on the run's page: the step's
	// own says what the run had changed, by name.
	text := r.errText(failureText(*run.Failure))
	if run.Changed() || run.Failure.Step == StepCancelled {
		text += ". Changed before the failure: " + run.Changes()
	}
	// How each service stood matters when the rollout failed or was cut
	// short, and comes first; when the watch itself broke, the one error
	// below says why.
	if run.Watch != nil && (errors.Is(run.Failure.Err, ErrNotRolledOut) || run.Failure.Step == StepCancelled) {
		r.annotateRollout(*run.Watch)
	}
	switch run.Failure.Step {
	case StepCancelled:
		r.Errorf("run cancelled", "%s", own(text))
	default:
		r.Errorf(run.Failure.Step+" failed", "%s", own(text))
	}
	if run.Rollback != nil {
		r.annotateRollback(run)
	}
}

func failureText(f Failure) string {
	if f.Resource == "" {
		return f.Err.Error()
	}
	return f.Resource + ": " + f.Err.Error()
}

// annotateRollout gives each service that did not succeed the watch's
// verdict (its counts, rollout state and events) and, when a task failed, the
// task, container and image with what ECS's words mean.
func (r *Reporter) annotateRollout(w rollout.Result) {
	for _, s := range w.Services {
		if s.State == rollout.StateSucceeded {
			continue
		}
		title := fmt.Sprintf("rollout: %s: %s", r.cell(s.Service), s.State)
		msg := fmt.Sprintf("service %s of cluster %s, deployment %s, after %s: ", r.cell(s.Service), r.cell(awsname.Short(s.Cluster)), r.cell(s.DeploymentID), elapsed(s.Elapsed))
		if s.Reason != "" {
			msg += r.cell(s.Reason)
		} else {
			msg += fmt.Sprintf("%s (%d/%d running, %d pending, %d failed)", s.State, s.RunningCount, s.DesiredCount, s.PendingCount, s.FailedTasks)
		}
		if task, ok := firstFailure(w.FailedTasks, s.Service); ok {
			title = fmt.Sprintf("rollout: %s: %s", r.cell(s.Service), r.cell(firstWord(taskReason(task))))
			msg += fmt.Sprintf(". Task %s%s", r.cell(awsname.Short(task.TaskArn)), r.cell(containerPart(task)))
			if !strings.Contains(s.Reason, taskReason(task)) {
				msg += ": " + r.cell(taskReason(task))
			}
			msg += ". Hint: " + Hint(task)
		}
		r.Errorf(title, "%s", own(msg))
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

func firstWord(s string) string {
	if i := strings.IndexAny(s, ": "); i > 0 {
		return s[:i]
	}
	return s
}

// annotateRollback gives the rollback's own outcome, after the failure that
// caused it: done, or exactly where it left each resource.
func (r *Reporter) annotateRollback(run Run) {
	rb := run.Rollback
	if rb.Err == nil {
		r.Errorf("rolled back", "the previous credentials are back and the services rolled out on them: %s", own(run.rollbackState()))
		return
	}
	if rb.Watch != nil {
		r.annotateRollout(*rb.Watch)
	}
	r.Errorf("rollback failed", "%s. State now: %s", rb.Err, own(run.rollbackState()))
}
