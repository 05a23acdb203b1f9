package rotate

import (
	"context"
	"fmt"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// rollbackIfFailed puts the previous credentials back when the rollout
// failed after they were replaced, and rolls the services again onto them.
// It does not run when nothing was written, nor on cancel: a cancelled job
// has no time left, and its annotation says how to do it by hand.
func (r *runner) rollbackIfFailed(ctx context.Context) {
	f := r.run.Failure
	if f == nil || !r.cfg.RollbackOnFailure || ctx.Err() != nil || !r.store.changed() {
		return
	}
	if f.Step != report.StepDeploy && f.Step != report.StepRollout && f.Step != r.store.step() {
		return
	}
	rb := &report.Rollback{}
	r.run.Rollback = rb
	if err := r.store.restore(ctx); err != nil {
		rb.Err = err
		return
	}
	r.rollServicesBack(ctx, rb)
	if rb.Err == nil {
		r.run.Result = report.ResultRolledBack
	}
}

// rollServicesBack forces a new deployment of every service this run rolled,
// and watches it with a timeout budget of its own.
func (r *runner) rollServicesBack(ctx context.Context, rb *report.Rollback) {
	if len(r.run.Deployments) == 0 || !r.cfg.ForceNewDeployment {
		return
	}
	targets := make([]rollout.Target, len(r.run.Deployments))
	for i, d := range r.run.Deployments {
		targets[i] = d.Target
	}
	r.rep.Group(fmt.Sprintf("Roll back: deploy %d services on the previous credentials", len(targets)))
	deps, err := r.calls.deploy(ctx, r.deps.ECS, targets, r.deployOptions(), r.deps.Now)
	r.logDeployments(deps)
	r.rep.EndGroup()
	rb.Deployments = deps
	if err != nil {
		rb.Err = fmt.Errorf("redeploy the services: %w", err)
		return
	}
	if !r.cfg.Wait {
		return
	}
	result, err := r.follow(ctx, "Roll back: wait for", deps, false)
	rb.Watch = &result
	if err != nil {
		rb.Err = fmt.Errorf("roll the services back: %w", err)
	}
}

// undoByHand is the commands that undo what the run changed, for the
// annotation of a cancelled run; "" when nothing needs undoing.
func (r *runner) undoByHand() string {
	if r.store == nil {
		return ""
	}
	return r.store.undoByHand(r.run.Deployments, r.run.Rollback)
}

// redeployCommand is the command that forces a new deployment of t.
func redeployCommand(t rollout.Target) string {
	return fmt.Sprintf("aws ecs update-service --cluster %s --service %s --force-new-deployment", awsname.Short(t.Cluster), serviceOrARN(t))
}

func serviceOrARN(t rollout.Target) string {
	if t.Service != "" {
		return t.Service
	}
	return awsname.Short(t.ServiceArn)
}
