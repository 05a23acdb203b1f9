package rotate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// fakeStore is a store whose every answer the test sets, and which records
// what the pipeline asked of it.
type fakeStore struct {
	calls *[]string

	planErr    error
	found      bool           // the plan found the credentials in place
	stale      []plan.Service // with inPlace, or with written false
	asPlanErr  error
	applyErr   error
	written    bool // apply wrote (otherwise every part already held them)
	partial    bool // apply changed something before applyErr
	restoreErr error

	didChange bool
}

func (f *fakeStore) called(what string) { *f.calls = append(*f.calls, what) }

func (f *fakeStore) plan(context.Context) (plan.Plan, error) {
	f.called("plan")
	return testPlan, f.planErr
}

func (f *fakeStore) report() report.Stored { return &report.FleetStored{} }

func (f *fakeStore) inPlace(plan.Plan) (bool, []plan.Service) { return f.found, f.stale }

func (f *fakeStore) locks() []lock.Resource {
	return []lock.Resource{lock.Secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf")}
}

func (f *fakeStore) asPlanned(context.Context) error { return f.asPlanErr }

func (f *fakeStore) apply(context.Context, plan.Plan) (bool, []plan.Service, error) {
	f.called("apply")
	f.didChange = (f.applyErr == nil && f.written) || (f.applyErr != nil && f.partial)
	if f.applyErr != nil {
		return false, nil, at("store s1", f.applyErr)
	}
	if !f.written {
		return false, f.stale, nil
	}
	return true, nil, nil
}

func (f *fakeStore) step() string { return "apply" }

func (f *fakeStore) changed() bool { return f.didChange }

func (f *fakeStore) restore(context.Context) error {
	f.called("restore")
	return f.restoreErr
}

func (f *fakeStore) undoByHand([]rollout.Deployment, *report.Rollback) string {
	if !f.didChange {
		return ""
	}
	return "put store s1 back by hand"
}

const cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"

var (
	web   = plan.Service{Name: "web", ARN: "arn:aws:ecs:us-east-1:123456789012:service/prod/web", ClusterARN: cluster, Containers: []plan.Container{{Name: "web", Image: "registry.example.com/web:1", UsesSecret: true}}}
	batch = plan.Service{Name: "batch", ARN: "arn:aws:ecs:us-east-1:123456789012:service/prod/batch", ClusterARN: cluster, Containers: []plan.Container{{Name: "batch", Image: "registry.example.com/batch:1", UsesSecret: true}}}

	testPlan = plan.Plan{Clusters: []string{"prod"}, Services: []plan.Service{web, batch}}
)

// fakeRollout answers the rollout's calls: each deploy starts one
// deployment per target; a watch sees every service succeed unless failed
// names it.
type fakeRollout struct {
	calls     *[]string
	deployErr error // the first deploy (the rollout's) stops after one service
	// failWatch makes the first watch (the rollout's, not the rollback's)
	// fail web; failRollbackWatch the second one.
	failWatch, failRollbackWatch bool
	adoptedFail                  bool // the adopted deployments failed
	cancel                       context.CancelFunc
	cancelOnWatch                bool
	deploys, watches             int
}

func (f *fakeRollout) deploy(_ context.Context, _ rollout.ECS, targets []rollout.Target, _ rollout.DeployOptions, _ func() time.Time) ([]rollout.Deployment, error) {
	*f.calls = append(*f.calls, "deploy "+names(targets))
	var out []rollout.Deployment
	for _, t := range targets {
		out = append(out, rollout.Deployment{Target: t, DeploymentID: "ecs-svc/" + t.Service})
	}
	if f.deploys++; f.deploys == 1 && f.deployErr != nil {
		return out[:1], f.deployErr
	}
	return out, nil
}

func (f *fakeRollout) watch(ctx context.Context, _ rollout.ECS, deps []rollout.Deployment, o rollout.WatchOptions) (rollout.Result, error) {
	what := "watch"
	if o.Once {
		what = "look once"
	}
	*f.calls = append(*f.calls, fmt.Sprintf("%s %d", what, len(deps)))
	f.watches++
	if f.cancelOnWatch {
		f.cancel()
		return rollout.Result{}, fmt.Errorf("watch: %w", ctx.Err())
	}
	fail := (f.watches == 1 && (f.failWatch || f.adoptedFail)) || (f.watches == 2 && f.failRollbackWatch)
	var res rollout.Result
	for _, d := range deps {
		state := rollout.StateSucceeded
		if fail && d.Service == "web" {
			state = rollout.StateFailed
		}
		res.Services = append(res.Services, rollout.ServiceResult{Service: d.Service, Cluster: d.Cluster, DeploymentID: d.DeploymentID, State: state})
	}
	return res, nil
}

func (f *fakeRollout) adopt(_ context.Context, _ rollout.ECS, targets []rollout.Target) ([]rollout.Deployment, error) {
	*f.calls = append(*f.calls, "adopt "+names(targets))
	var out []rollout.Deployment
	for _, t := range targets {
		out = append(out, rollout.Deployment{Target: t, DeploymentID: "ecs-svc/earlier-" + t.Service})
	}
	return out, nil
}

func names(targets []rollout.Target) string {
	var n []string
	for _, t := range targets {
		n = append(n, t.Service)
	}
	return strings.Join(n, ",")
}

// decision is one row of the pipeline's decisions: how the store and the
// rollout answer, the inputs that decide, and what the run must do.
type decision struct {
	name string
	// inputs
	dryRun, noRollback, noWait, noForce bool
	maxServices                         int // 0 is 100
	// answers
	store   fakeStore
	rollout fakeRollout
	verify  bool // the new credentials fail verification
	held    bool // another run holds the lock
	// what must happen
	calls    string // the store's and the rollout's calls, in order
	result   string
	step     string // the failure's step; "" when none
	undo     bool   // a cancelled run says how to undo by hand
	badInput bool   // the exit status is bad input's
}

var decisions = []decision{
	{name: "written, rolled out", store: fakeStore{written: true},
		calls: "plan apply | deploy web,batch | watch 2", result: report.ResultSuccess},
	{name: "written, no wait", noWait: true, store: fakeStore{written: true},
		calls: "plan apply | deploy web,batch", result: report.ResultSuccess},
	{name: "written, no force", noForce: true, store: fakeStore{written: true},
		calls: "plan apply", result: report.ResultSuccess},
	{name: "dry run", dryRun: true, store: fakeStore{written: true},
		calls: "plan", result: report.ResultDryRun},
	{name: "more services than max-services", maxServices: 1, store: fakeStore{written: true},
		calls: "plan", result: report.ResultFailed, step: report.StepPlan, badInput: true},
	{name: "more services than max-services, dry run: the plan is printed", maxServices: 1, dryRun: true, store: fakeStore{written: true},
		calls: "plan", result: report.ResultDryRun},
	{name: "plan finds an input wrong", store: fakeStore{planErr: inputs.Problems{{Input: "services", Message: "web is a service of clusters a and b"}}},
		calls: "plan", result: report.ResultFailed, step: report.StepPlan, badInput: true},
	{name: "plan fails", store: fakeStore{planErr: errors.New("no consumer")},
		calls: "plan", result: report.ResultFailed, step: report.StepPlan},
	{name: "verify fails", verify: true, store: fakeStore{written: true},
		calls: "plan", result: report.ResultFailed, step: report.StepVerify},
	{name: "lock held", held: true, store: fakeStore{written: true},
		calls: "plan", result: report.ResultFailed, step: report.StepLock},
	{name: "store changed since the plan", store: fakeStore{written: true, asPlanErr: errors.New("changed meanwhile")},
		calls: "plan", result: report.ResultFailed, step: report.StepLock},
	{name: "apply fails, nothing changed", store: fakeStore{applyErr: errors.New("denied")},
		calls: "plan apply", result: report.ResultFailed, step: "apply"},
	{name: "apply fails half-way, rolled back", store: fakeStore{applyErr: errors.New("batch 2 failed"), partial: true},
		calls: "plan apply restore", result: report.ResultRolledBack, step: "apply"},
	{name: "apply fails half-way, no rollback", noRollback: true, store: fakeStore{applyErr: errors.New("batch 2 failed"), partial: true},
		calls: "plan apply", result: report.ResultFailed, step: "apply"},
	{name: "apply fails half-way, restore fails", store: fakeStore{applyErr: errors.New("batch 2 failed"), partial: true, restoreErr: errors.New("restore refused")},
		calls: "plan apply restore", result: report.ResultFailed, step: "apply"},
	{name: "deploy fails, rolled back", store: fakeStore{written: true}, rollout: fakeRollout{deployErr: errors.New("throttled")},
		calls: "plan apply | deploy web,batch restore | deploy web | watch 1", result: report.ResultRolledBack, step: report.StepDeploy},
	{name: "rollout fails, rolled back", store: fakeStore{written: true}, rollout: fakeRollout{failWatch: true},
		calls: "plan apply | deploy web,batch | watch 2 restore | deploy web,batch | watch 2", result: report.ResultRolledBack, step: report.StepRollout},
	{name: "rollout fails, no rollback", noRollback: true, store: fakeStore{written: true}, rollout: fakeRollout{failWatch: true},
		calls: "plan apply | deploy web,batch | watch 2", result: report.ResultFailed, step: report.StepRollout},
	{name: "rollout fails, restore fails", store: fakeStore{written: true, restoreErr: errors.New("restore refused")}, rollout: fakeRollout{failWatch: true},
		calls: "plan apply | deploy web,batch | watch 2 restore", result: report.ResultFailed, step: report.StepRollout},
	{name: "rollout fails, rollback's rollout fails", store: fakeStore{written: true}, rollout: fakeRollout{failWatch: true, failRollbackWatch: true},
		calls: "plan apply | deploy web,batch | watch 2 restore | deploy web,batch | watch 2", result: report.ResultFailed, step: report.StepRollout},
	{name: "apply fails half-way, no wait: restored, nothing to redeploy", noWait: true, store: fakeStore{applyErr: errors.New("x"), partial: true},
		calls: "plan apply restore", result: report.ResultRolledBack, step: "apply"},
	{name: "deploy fails, no wait: rolled back without a watch", noWait: true, store: fakeStore{written: true}, rollout: fakeRollout{deployErr: errors.New("throttled")},
		calls: "plan apply | deploy web,batch restore | deploy web", result: report.ResultRolledBack, step: report.StepDeploy},
	{name: "in place, nothing stale, all rolled out", store: fakeStore{found: true},
		calls: "plan | adopt web,batch | watch 2", result: report.ResultUnchanged},
	{name: "in place, one stale", store: fakeStore{found: true, stale: []plan.Service{batch}},
		calls: "plan | adopt web | deploy batch | watch 2", result: report.ResultSuccess},
	{name: "in place, stale, no force", noForce: true, store: fakeStore{found: true, stale: []plan.Service{batch}},
		calls: "plan | adopt web,batch | watch 2", result: report.ResultUnchanged},
	{name: "in place, stale fails verification", verify: true, store: fakeStore{found: true, stale: []plan.Service{batch}},
		calls: "plan", result: report.ResultFailed, step: report.StepVerify},
	{name: "in place, nothing stale, verification not needed", verify: true, store: fakeStore{found: true},
		calls: "plan | adopt web,batch | watch 2", result: report.ResultUnchanged},
	{name: "in place, the earlier deployment failed", store: fakeStore{found: true}, rollout: fakeRollout{adoptedFail: true},
		calls: "plan | adopt web,batch | watch 2", result: report.ResultFailed, step: report.StepRollout},
	{name: "in place, no wait: one look", noWait: true, store: fakeStore{found: true},
		calls: "plan | adopt web,batch | look once 2", result: report.ResultUnchanged},
	{name: "in place, no wait, the look sees a failure", noWait: true, store: fakeStore{found: true}, rollout: fakeRollout{adoptedFail: true},
		calls: "plan | adopt web,batch | look once 2", result: report.ResultFailed, step: report.StepRollout},
	{name: "apply finds it in place, nothing stale", store: fakeStore{},
		calls: "plan apply | adopt web,batch | watch 2", result: report.ResultUnchanged},
	{name: "apply finds it in place, one stale", store: fakeStore{stale: []plan.Service{web}},
		calls: "plan apply | adopt batch | deploy web | watch 2", result: report.ResultSuccess},
	{name: "apply finds it in place, the stale one fails: nothing to roll back", store: fakeStore{stale: []plan.Service{web}}, rollout: fakeRollout{failWatch: true},
		calls: "plan apply | adopt batch | deploy web | watch 2", result: report.ResultFailed, step: report.StepRollout},
	{name: "cancelled during the watch", store: fakeStore{written: true}, rollout: fakeRollout{cancelOnWatch: true},
		calls: "plan apply | deploy web,batch | watch 2", result: report.ResultFailed, step: report.StepCancelled, undo: true},
	{name: "cancelled during a re-run's watch: nothing to undo", store: fakeStore{found: true}, rollout: fakeRollout{cancelOnWatch: true},
		calls: "plan | adopt web,batch | watch 2", result: report.ResultFailed, step: report.StepCancelled},
}

// TestDecisions runs the pipeline through a fake store and a fake rollout:
// for each failing step, rollback-on-failure, wait, force-new-deployment,
// credentials already in place and a cancel, which calls it makes and the
// result it reports.
func TestDecisions(t *testing.T) {
	for _, d := range decisions {
		t.Run(d.name, func(t *testing.T) {
			var calls []string
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, ro := d.store, d.rollout
			st.calls, ro.calls, ro.cancel = &calls, &calls, cancel

			if d.maxServices == 0 {
				d.maxServices = 100
			}
			cfg := inputs.Config{
				Common:  inputs.Common{AuthMode: inputs.ModeSecretsManager, Cluster: "prod", VerifyCredentials: true, DryRun: d.dryRun, MaxServices: d.maxServices},
				Rollout: inputs.Rollout{ForceNewDeployment: !d.noForce, Wait: !d.noWait, RollbackOnFailure: !d.noRollback, Timeout: time.Minute, PollInterval: time.Second},
			}
			api := lockAPI(t)
			if d.held {
				if _, err := lock.Acquire(ctx, api, []lock.Resource{lock.Cluster("prod")}, lock.Options{Holder: lock.Holder{RunID: "other", Started: time.Now(), Deadline: time.Now().Add(time.Hour)}}); err != nil {
					t.Fatal(err)
				}
			}
			var log bytes.Buffer
			rep := report.New(report.Options{Log: &log})
			deps := withDefaults(Deps{SSM: api, Verify: func(_ context.Context, images []string, _ verify.Credentials) []verify.ImageResult {
				calls = append(calls, "|")
				var out []verify.ImageResult
				for _, image := range images {
					status := verify.StatusOK
					if d.verify {
						status = "denied"
					}
					out = append(out, verify.ImageResult{Image: image, Status: status})
				}
				return out
			}})
			r := newRunner(cfg, deps, rep)
			r.calls = rolloutCalls{deploy: ro.deploy, watch: ro.watch, adopt: ro.adopt}
			run := r.runWith(ctx, &st)

			got := strings.Join(slices.DeleteFunc(calls, func(c string) bool { return c == "|" }), " ")
			got = strings.ReplaceAll(got, " deploy", " | deploy")
			got = strings.ReplaceAll(got, " adopt", " | adopt")
			got = strings.ReplaceAll(got, " watch", " | watch")
			got = strings.ReplaceAll(got, " look", " | look")
			if got != d.calls {
				t.Errorf("calls:\n got %s\nwant %s", got, d.calls)
			}
			if run.Result != d.result {
				t.Errorf("result %q, want %q\n%s", run.Result, d.result, log.String())
			}
			step := ""
			if run.Failure != nil {
				step = run.Failure.Step
			}
			if step != d.step {
				t.Errorf("failed step %q, want %q", step, d.step)
			}
			if undo := run.Failure != nil && strings.Contains(run.Failure.Err.Error(), "put store s1 back by hand"); undo != d.undo {
				t.Errorf("the failure says how to undo by hand: %v, want %v (%v)", undo, d.undo, run.Failure)
			}
			if run.BadInput != d.badInput {
				t.Errorf("bad input %v, want %v", run.BadInput, d.badInput)
			}
			if names := lockNames(t, api); d.held && len(names) != 1 || !d.held && len(names) != 0 {
				t.Errorf("locks left: %v", names)
			}
		})
	}
}

// TestApplyFailureNamesTheStoresResource: the failure names the resource
// the store's error carries, and its text is the store's own.
func TestApplyFailureNamesTheStoresResource(t *testing.T) {
	var calls []string
	st := fakeStore{calls: &calls, applyErr: errors.New("denied")}
	ro := fakeRollout{calls: &calls}
	cfg := inputs.Config{Common: inputs.Common{AuthMode: inputs.ModeSecretsManager, Cluster: "prod", MaxServices: 100}, Rollout: inputs.Rollout{ForceNewDeployment: true, Wait: true, Timeout: time.Minute}}
	r := newRunner(cfg, withDefaults(Deps{SSM: lockAPI(t)}), report.New(report.Options{Log: &bytes.Buffer{}}))
	r.calls = rolloutCalls{deploy: ro.deploy, watch: ro.watch, adopt: ro.adopt}
	run := r.runWith(context.Background(), &st)
	if f := run.Failure; f == nil || f.Resource != "store s1" || f.Err.Error() != "denied" {
		t.Errorf("failure %+v, want resource store s1 and the store's error", f)
	}
}

func lockAPI(t *testing.T) *ssm.Client {
	t.Helper()
	_, cfg := fakeAWS(t)
	return ssm.NewFromConfig(cfg)
}

// fakeAWS starts an awsfake for the test and the SDK config that reaches it.
func fakeAWS(t *testing.T) (*awsfake.Server, aws.Config) {
	t.Helper()
	srv, err := awsfake.Start(awsfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), srv.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, cfg
}

func lockNames(t *testing.T, api *ssm.Client) []string {
	t.Helper()
	out, err := api.DescribeParameters(context.Background(), &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range out.Parameters {
		names = append(names, *p.Name)
	}
	return names
}
