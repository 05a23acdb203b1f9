// Package rotate runs the pipeline, inputs → plan → verify → apply → rollout
// → report, and owns the decisions between the steps.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/secret"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// ECS is every ECS call of a run.
type ECS interface {
	plan.ECS
	rollout.ECS
}

// Secrets is every Secrets Manager call of a run.
type Secrets interface {
	plan.Secrets
	secret.API
}

// Deps are what a run talks to.
type Deps struct {
	ECS     ECS
	Secrets Secrets
	// Verify checks images with the new credentials; nil uses verify.Images.
	Verify func(ctx context.Context, images []string, creds verify.Credentials) []verify.ImageResult
	Now    func() time.Time
}

// Run rotates the credentials as cfg says, reporting as it goes, and returns
// what it did. The caller turns run.Result into the exit status.
func Run(ctx context.Context, cfg inputs.Config, deps Deps, rep *report.Reporter) report.Run {
	deps = withDefaults(deps)
	r := &runner{cfg: cfg, deps: deps, rep: rep, run: report.Run{Mode: string(cfg.AuthMode), Cluster: cfg.Cluster}}
	r.steps(ctx)
	if r.run.Failure != nil && ctx.Err() != nil {
		r.cancelled()
	}
	rep.Finish(r.run)
	return r.run
}

func withDefaults(d Deps) Deps {
	if d.Verify == nil {
		d.Verify = func(ctx context.Context, images []string, creds verify.Credentials) []verify.ImageResult {
			return verify.Images(ctx, images, creds, verify.Options{})
		}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

type runner struct {
	cfg  inputs.Config
	deps Deps
	rep  *report.Reporter
	run  report.Run
}

// steps runs the pipeline until a step fails or there is nothing left to do.
func (r *runner) steps(ctx context.Context) {
	p, ok := r.plan(ctx)
	if !ok {
		return
	}
	if r.cfg.DryRun {
		r.run.Result = report.ResultDryRun
		r.rep.Infof("dry-run: nothing was changed")
		return
	}
	if r.upToDate(p) {
		return
	}
	if !r.verify(ctx, p) || !r.applySecret(ctx, p) {
		return
	}
	targets := r.toDeploy(p)
	if len(targets) == 0 {
		return
	}
	deployments, ok := r.deploy(ctx, targets)
	if !ok || !r.cfg.Wait {
		return
	}
	r.watch(ctx, deployments)
}

func (r *runner) fail(step, resource string, err error) {
	r.run.Result = report.ResultFailed
	r.run.Failure = &report.Failure{Step: step, Resource: resource, Err: err}
}

func (r *runner) plan(ctx context.Context) (plan.Plan, bool) {
	r.rep.Group("Plan")
	defer r.rep.EndGroup()
	if r.cfg.RollbackOnFailure {
		r.rep.Warningf("rollback-on-failure is not supported by this version yet: a failed rollout is reported, and the previous credentials are not restored")
	}
	p, err := plan.Build(ctx, r.cfg, r.deps.ECS, r.deps.Secrets)
	if err != nil {
		r.fail(report.StepPlan, "", err)
		return plan.Plan{}, false
	}
	r.run.Plan = &p
	r.rep.Plan(p, r.cfg.Registry)
	return p, true
}

func (r *runner) verify(ctx context.Context, p plan.Plan) bool {
	if !r.cfg.VerifyCredentials {
		return true
	}
	images := p.Images()
	if len(images) == 0 {
		return true
	}
	r.rep.Group(fmt.Sprintf("Verify credentials (%d images)", len(images)))
	defer r.rep.EndGroup()
	r.run.Verify = r.deps.Verify(ctx, images, verify.Credentials{Username: r.cfg.Username, Password: r.cfg.Password})
	r.rep.VerifyResults(r.run.Verify)
	if failed := verify.Failed(r.run.Verify); len(failed) > 0 {
		r.fail(report.StepVerify, "", fmt.Errorf("the new credentials could not pull %d of %d images; nothing was changed", len(failed), len(images)))
		return false
	}
	return true
}

func (r *runner) applySecret(ctx context.Context, p plan.Plan) bool {
	r.rep.Group("Update secret " + p.Secret.Name)
	defer r.rep.EndGroup()
	out, err := secret.Apply(ctx, r.deps.Secrets, p.Secret, r.cfg.Username, r.cfg.Password)
	if err != nil {
		r.fail(report.StepSecret, "secret "+p.Secret.ARN, err)
		return false
	}
	r.run.Secret = &out
	if out.Changed {
		r.rep.Infof("wrote version %s (AWSCURRENT; version %s is now AWSPREVIOUS)", out.VersionID, out.PreviousVersionID)
	} else {
		r.rep.Infof("the secret already holds these credentials (version %s): nothing written", out.VersionID)
	}
	r.run.Result = report.ResultSuccess
	return true
}

// upToDate ends a run that has nothing to do: the secret already holds the
// credentials and no service still runs tasks from before its version. A
// scheduled run then costs a few reads, not a registry login or a deployment.
func (r *runner) upToDate(p plan.Plan) bool {
	if !secret.Current(p.Secret, r.cfg.Username, r.cfg.Password) {
		return false
	}
	stale := p.Stale()
	if r.cfg.ForceNewDeployment && len(stale) > 0 {
		r.rep.Infof("the secret already holds these credentials, but %d services still run tasks from before its version %s", len(stale), p.Secret.VersionID)
		return false
	}
	r.run.Result = report.ResultUnchanged
	r.run.Secret = &secret.Outcome{VersionID: p.Secret.VersionID, PreviousVersionID: p.Secret.VersionID}
	r.rep.Infof("unchanged: the secret already holds these credentials (version %s) and every service rolled after it; nothing to do", p.Secret.VersionID)
	return true
}

// toDeploy picks the services to roll: all of them after a new secret
// version, else only those still running tasks from before the current one.
func (r *runner) toDeploy(p plan.Plan) []rollout.Target {
	switch {
	case !r.cfg.ForceNewDeployment:
		return nil
	case r.run.Secret.Changed:
		return p.Targets()
	default:
		return p.WithServices(p.Stale()).Targets()
	}
}

func (r *runner) deploy(ctx context.Context, targets []rollout.Target) ([]rollout.Deployment, bool) {
	r.rep.Group(fmt.Sprintf("Deploy %d services", len(targets)))
	defer r.rep.EndGroup()
	deployments, err := rollout.Deploy(ctx, r.deps.ECS, targets, rollout.DeployOptions{MinimumHealthyPercent: r.cfg.MinimumHealthyPercent}, r.deps.Now)
	r.run.Deployments = deployments
	for _, d := range deployments {
		r.rep.Infof("%-20s new deployment %s (task definition %s, desired %d)", d.Service, d.DeploymentID, d.TaskDefinition, d.DesiredCount)
	}
	if err != nil {
		if r.run.Secret.Changed {
			err = fmt.Errorf("%w; the secret already holds the new credentials (version %s): a re-run deploys the services still on older tasks", err, r.run.Secret.VersionID)
		}
		r.fail(report.StepDeploy, "", err)
		return deployments, false
	}
	return deployments, true
}

func (r *runner) watch(ctx context.Context, deployments []rollout.Deployment) {
	r.rep.Group(fmt.Sprintf("Wait for %d deployments (timeout %s, poll every %s)", len(deployments), r.cfg.Timeout, r.cfg.PollInterval))
	defer r.rep.EndGroup()
	result, err := rollout.Watch(ctx, r.deps.ECS, deployments, rollout.WatchOptions{
		Timeout: r.cfg.Timeout, PollInterval: r.cfg.PollInterval, FailFast: r.cfg.FailFast,
		OnChange: r.rep.Progress,
	})
	r.run.Watch = &result
	if err != nil {
		r.fail(report.StepRollout, "", err)
		return
	}
	if !result.Succeeded() {
		r.fail(report.StepRollout, "", fmt.Errorf("%d of %d services %w", unfinished(result), len(result.Services), report.ErrNotRolledOut))
	}
}

func unfinished(w rollout.Result) int {
	n := 0
	for _, s := range w.Services {
		if s.State != rollout.StateSucceeded {
			n++
		}
	}
	return n
}

// cancelled restates the failure as a cancellation that says what had
// already changed, so the person who cancelled knows what to check.
func (r *runner) cancelled() {
	changed := "nothing had been changed"
	if r.run.Secret != nil && r.run.Secret.Changed {
		changed = fmt.Sprintf("secret version %s had been written", r.run.Secret.VersionID)
	}
	if n := len(r.run.Deployments); n > 0 {
		changed += fmt.Sprintf(" and %d deployments had been started", n)
	}
	r.run.Failure = &report.Failure{Step: report.StepCancelled, Err: errors.Join(
		fmt.Errorf("the run was cancelled during %s: %s", r.run.Failure.Step, changed), r.run.Failure.Err)}
}
