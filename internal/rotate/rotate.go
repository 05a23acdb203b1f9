package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
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
	ecsconfig.ECS
}

// Secrets is every Secrets Manager call of a run.
type Secrets interface {
	plan.Secrets
	secret.API
	secret.StageAPI
}

// SSM is every Systems Manager call of a run (ecs-config mode).
type SSM interface {
	plan.SSM
	ecsconfig.SSM
	lock.API
}

// Deps are what a run talks to.
type Deps struct {
	ECS     ECS
	Secrets Secrets
	SSM     SSM
	// Verify checks images with the new credentials; nil uses verify.Images.
	Verify func(ctx context.Context, images []string, creds verify.Credentials) []verify.ImageResult
	Now    func() time.Time
	// RunURL is the Actions run's address, which a lock names so that a
	// second run can say who holds it; "" outside Actions.
	RunURL string
}

// Run rotates the credentials as cfg says, reporting as it goes, and returns
// what it did. The caller turns run.Result into the exit status.
func Run(ctx context.Context, cfg inputs.Config, deps Deps, rep *report.Reporter) report.Run {
	deps = withDefaults(deps)
	r := newRunner(cfg, deps, rep)
	st, err := newStore(cfg, r.env())
	if err != nil {
		r.fail(report.StepPlan, "", err)
		return r.finish(ctx)
	}
	return r.runWith(ctx, st)
}

func newRunner(cfg inputs.Config, deps Deps, rep *report.Reporter) *runner {
	return &runner{cfg: cfg, deps: deps, rep: rep, run: report.Run{Mode: string(cfg.AuthMode), Cluster: cfg.Cluster},
		runID: newRunID(deps.Now()), calls: rolloutCalls{deploy: rollout.Deploy, watch: rollout.Watch, adopt: rollout.Adopt},
		pacer: rollout.NewPacer()}
}

// env is what the run shares with its store.
func (r *runner) env() env {
	return env{deps: r.deps, rep: r.rep, runID: r.runID, holder: &r.lockHolder, renewing: r.cfg.RoleToAssume != ""}
}

// runWith runs the pipeline around st.
func (r *runner) runWith(ctx context.Context, st store) report.Run {
	r.store = st
	r.run.Store = st.report()
	r.steps(ctx)
	return r.finish(ctx)
}

// finish releases the locks, says what a cancel or an expiry left, and
// writes the report.
func (r *runner) finish(ctx context.Context) report.Run {
	r.unlock(ctx)
	if r.run.Failure != nil && ctx.Err() != nil {
		r.cancelled()
	}
	r.explainExpired()
	if err := r.rep.Finish(r.run); err != nil {
		r.run.Result = report.ResultFailed
	}
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
	cfg   inputs.Config
	deps  Deps
	rep   *report.Reporter
	run   report.Run
	runID string // names the ecs-config parameter and the instances' backups
	store store
	calls rolloutCalls
	// pacer keeps the run's UpdateService calls (the rollout's and the
	// rollback's) under ECS's limit for the account and region.
	pacer *rollout.Pacer
	locks *lock.Set // held from before the first write to the end of the run
	// lockHolder is this run as its locks name it; its Deadline is also
	// when a parameter it leaves is stale.
	lockHolder lock.Holder
}

// rolloutCalls are the rollout's calls that the pipeline makes: the
// rollout package's, or a test's.
type rolloutCalls struct {
	deploy func(ctx context.Context, api rollout.ECS, targets []rollout.Target, opts rollout.DeployOptions, now func() time.Time) ([]rollout.Deployment, error)
	watch  func(ctx context.Context, api rollout.ECS, deps []rollout.Deployment, opts rollout.WatchOptions) (rollout.Result, error)
	adopt  func(ctx context.Context, api rollout.ECS, targets []rollout.Target) ([]rollout.Deployment, error)
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
	if !r.withinMaxServices(p) {
		return
	}
	if inPlace, stale := r.store.inPlace(p); inPlace {
		r.rerunInPlace(ctx, p, stale)
		return
	}
	if !r.verify(ctx, p) || !r.lock(ctx, p) {
		return
	}
	written, stale, err := r.store.apply(ctx, p)
	switch {
	case err != nil:
		r.failStore(r.store.step(), err)
	case !written:
		r.rerun(ctx, p, stale)
	default:
		r.run.Result = report.ResultSuccess
		if !r.cfg.ForceNewDeployment {
			return
		}
		deployments, ok := r.deploy(ctx, targets(p))
		if ok && r.cfg.Wait {
			r.watch(ctx, deployments, nil)
		}
	}
	r.rollbackIfFailed(ctx)
}

func (r *runner) fail(step, resource string, err error) {
	r.run.Result = report.ResultFailed
	r.run.Failure = &report.Failure{Step: step, Resource: resource, Err: err}
}

func (r *runner) plan(ctx context.Context) (plan.Plan, bool) {
	r.rep.Group("Plan")
	defer r.rep.EndGroup()
	p, err := r.store.plan(ctx)
	if err != nil {
		r.fail(report.StepPlan, "", err)
		// What the plan found wrong with an input (a service name two
		// clusters have) is bad input, as Load's problems are.
		r.run.BadInput = errors.As(err, new(inputs.Problems))
		return plan.Plan{}, false
	}
	r.run.Plan = &p
	r.rep.Plan(p, r.store.report())
	return p, true
}

// withinMaxServices stops, as bad input and before any change, a run whose
// plan found more services than max-services: "*" must never surprise. A
// dry run prints its plan whatever the count.
func (r *runner) withinMaxServices(p plan.Plan) bool {
	if len(p.Services) <= r.cfg.MaxServices {
		return true
	}
	r.fail(report.StepPlan, "", fmt.Errorf("the plan found %d services in %s, more than %s allows (%d); nothing was changed: raise %s, or narrow %s or %s (a dry run prints the plan whatever the count)",
		len(p.Services), clustersOf(p), r.cfg.Setting("max-services", fmt.Sprint(r.cfg.MaxServices)), r.cfg.MaxServices,
		r.cfg.Refer("max-services"), r.cfg.Refer("cluster"), r.cfg.Refer("services")))
	r.run.BadInput = true
	return false
}

// clustersOf names the plan's clusters and how many services each holds.
func clustersOf(p plan.Plan) string {
	count := map[string]int{}
	for _, s := range p.Services {
		count[awsname.Short(s.ClusterARN)]++
	}
	parts := make([]string, 0, len(p.Clusters))
	for _, c := range p.Clusters {
		parts = append(parts, fmt.Sprintf("%s (%d)", awsname.Short(c), count[awsname.Short(c)]))
	}
	if len(parts) == 1 {
		return "cluster " + parts[0]
	}
	return "clusters " + strings.Join(parts, ", ")
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

// rerun decides a run that found the credentials already in place: a
// re-run after success, or after a run that failed, was cancelled or did not
// wait. The stale services, still on tasks from before the credentials were
// written, are rolled (they were verified by the caller); the others'
// current deployments are watched, because an earlier run's deployment
// having started proves nothing. Only when nothing needed rolling and every
// deployment rolled out is the result unchanged: a re-run never turns a
// broken rotation green.
func (r *runner) rerun(ctx context.Context, p plan.Plan, stale []plan.Service) {
	if !r.cfg.ForceNewDeployment {
		stale = nil
	}
	adopted, ok := r.adopt(ctx, p.WithServices(without(p.Services, stale)))
	if !ok {
		return
	}
	var started []rollout.Deployment
	if len(stale) > 0 {
		r.rep.Infof("the credentials are in place, but %d services still run tasks from before they were written", len(stale))
		if started, ok = r.deploy(ctx, targets(p.WithServices(stale))); !ok {
			return
		}
	}
	r.watch(ctx, started, adopted)
	switch {
	case r.run.Failure != nil:
	case len(started) == 0 && r.run.Watch.Succeeded():
		r.run.Result = report.ResultUnchanged
		r.rep.Infof("unchanged: the credentials were already in place and every service's current deployment rolled out after they were written")
	default:
		r.run.Result = report.ResultSuccess
	}
}

// rerunInPlace is rerun for a store that the plan found already holding
// the credentials: only the stale services, which will be rolled, are
// verified.
func (r *runner) rerunInPlace(ctx context.Context, p plan.Plan, stale []plan.Service) {
	if r.cfg.ForceNewDeployment && len(stale) > 0 && !r.verify(ctx, p.WithServices(stale)) {
		return
	}
	if !r.lock(ctx, p) {
		return
	}
	r.rerun(ctx, p, stale)
	r.rollbackIfFailed(ctx)
}

// adopt finds the current deployments of services that already rolled after
// the secret's version, for the watch to check.
func (r *runner) adopt(ctx context.Context, p plan.Plan) ([]rollout.Deployment, bool) {
	if len(p.Services) == 0 {
		return nil, true
	}
	adopted, err := r.calls.adopt(ctx, r.deps.ECS, targets(p))
	if err != nil {
		r.fail(report.StepRollout, "", fmt.Errorf("check the services' current deployments: %w", err))
		return nil, false
	}
	return adopted, true
}

func without(all, drop []plan.Service) []plan.Service {
	var out []plan.Service
	for _, s := range all {
		if !slices.ContainsFunc(drop, func(d plan.Service) bool { return d.ARN == s.ARN }) {
			out = append(out, s)
		}
	}
	return out
}

func (r *runner) deploy(ctx context.Context, targets []rollout.Target) ([]rollout.Deployment, bool) {
	r.rep.Group(fmt.Sprintf("Deploy %d services", len(targets)))
	defer r.rep.EndGroup()
	deployments, err := r.calls.deploy(ctx, r.deps.ECS, targets, r.deployOptions(), r.deps.Now)
	r.run.Deployments = deployments
	r.logDeployments(deployments)
	if err != nil {
		if r.store.changed() {
			err = fmt.Errorf("%w; a re-run with the same inputs deploys the services still on older tasks", err)
		}
		r.fail(report.StepDeploy, "", err)
		return deployments, false
	}
	return deployments, true
}

// deployOptions are the UpdateService options of the run's deploys.
func (r *runner) deployOptions() rollout.DeployOptions {
	return rollout.DeployOptions{MinimumHealthyPercent: r.cfg.MinimumHealthyPercent, Pacer: r.pacer,
		Log: func(line string) { r.rep.Infof("%s", line) }}
}

// logDeployments says which deployment each service got.
func (r *runner) logDeployments(deployments []rollout.Deployment) {
	for _, d := range deployments {
		r.rep.Infof("%-20s new deployment %s (task definition %s, desired %d)", d.Service, d.DeploymentID, d.TaskDefinition, d.DesiredCount)
	}
}

// watch follows the deployments this run started and those it adopted from
// an earlier one, together. Without wait, only adopted deployments are
// looked at, once: a failure they already show fails the run.
func (r *runner) watch(ctx context.Context, started, adopted []rollout.Deployment) {
	once := !r.cfg.Wait
	all := append(slices.Clip(started), adopted...)
	if once {
		all = adopted
	}
	if len(all) == 0 {
		return
	}
	result, err := r.follow(ctx, "Wait for", all, once)
	r.run.Watch = &result
	if err != nil {
		r.fail(report.StepRollout, "", err)
	}
}

// follow watches deployments in a log group and returns an error when the
// watch broke or a service did not roll out.
func (r *runner) follow(ctx context.Context, title string, deps []rollout.Deployment, once bool) (rollout.Result, error) {
	r.rep.Group(fmt.Sprintf("%s %d deployments (timeout %s, poll every %s)", title, len(deps), r.cfg.Timeout, r.cfg.PollInterval))
	defer r.rep.EndGroup()
	result, err := r.calls.watch(ctx, r.deps.ECS, deps, rollout.WatchOptions{
		Timeout: r.cfg.Timeout, PollInterval: r.cfg.PollInterval, FailFast: r.cfg.FailFast, Once: once,
		OnChange: r.rep.Progress,
	})
	if err != nil {
		return result, err
	}
	if n := unfinished(result, once); n > 0 {
		return result, fmt.Errorf("%d of %d services %w", n, len(result.Services), report.ErrNotRolledOut)
	}
	return result, nil
}

// unfinished counts the services that did not roll out; with once, a
// deployment still rolling is not held against the run.
func unfinished(w rollout.Result, once bool) int {
	n := 0
	for _, s := range w.Services {
		if s.State != rollout.StateSucceeded && !(once && s.State == rollout.StateInProgress) {
			n++
		}
	}
	return n
}

// explainExpired says what to do when a call failed because the run's
// credentials expired: which depends on whether they renew themselves.
func (r *runner) explainExpired() {
	renewing := r.cfg.RoleToAssume != ""
	if f := r.run.Failure; f != nil {
		f.Err = awserr.ExplainExpired(f.Err, renewing)
	}
	if rb := r.run.Rollback; rb != nil {
		rb.Err = awserr.ExplainExpired(rb.Err, renewing)
	}
}

// cancelled restates the failure as a cancellation that says what had
// already changed, so the person who cancelled knows what to check.
func (r *runner) cancelled() {
	during := r.run.Failure.Step
	if r.run.Rollback != nil {
		during = "the rollback, after " + during + " failed"
	}
	err := fmt.Errorf("the run was cancelled during %s (%w)", during, r.run.Failure.Err)
	if how := r.undoByHand(); how != "" {
		err = fmt.Errorf("%w. A cancelled job has no time left to roll back; to do it by hand: %s", err, how)
	}
	r.run.Failure = &report.Failure{Step: report.StepCancelled, Err: err}
}

// targets are the plan's services as the rollout names them; the conversion
// lives here so that the plan and the rollout know nothing of each other.
func targets(p plan.Plan) []rollout.Target {
	out := make([]rollout.Target, 0, len(p.Services))
	for _, s := range p.Services {
		out = append(out, rollout.Target{
			Cluster: s.ClusterARN, Service: s.Name, ServiceArn: s.ARN,
			DeploymentConfiguration: s.DeploymentConfiguration,
			KnownDeployments:        s.DeploymentIDs,
		})
	}
	return out
}
