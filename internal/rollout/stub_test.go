package rollout

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// stubECS answers from a script: the service as of the n-th DescribeServices
// call, and a fixed set of tasks. It checks the calls' limits as ECS does.
type stubECS struct {
	t       *testing.T
	mu      sync.Mutex
	service func(n int) ecstypes.Service // n counts from 1
	tasks   []ecstypes.Task
	fail    map[string]func(n int) error // by operation, n counts its calls
	calls   map[string]int
	missing bool
	hang    bool // DescribeServices answers only when its context ends
	// ignoreStartedBy lists every task of the wanted desired status, as a
	// ListTasks that dropped the startedBy filter would.
	ignoreStartedBy bool
}

func newStub(t *testing.T, service func(n int) ecstypes.Service) *stubECS {
	return &stubECS{t: t, service: service, fail: map[string]func(int) error{}, calls: map[string]int{}}
}

func (s *stubECS) count(op string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	n := s.calls[op]
	if f := s.fail[op]; f != nil {
		return n, f(n)
	}
	return n, nil
}

func (s *stubECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if _, err := s.count("UpdateService"); err != nil {
		return nil, err
	}
	svc := s.service(0)
	return &ecs.UpdateServiceOutput{Service: &svc}, nil
}

func (s *stubECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if len(in.Services) > 10 {
		s.t.Errorf("DescribeServices with %d services", len(in.Services))
	}
	if s.hang {
		<-ctx.Done() // as the SDK does: a cancelled context ends the call
		return nil, ctx.Err()
	}
	n, err := s.count("DescribeServices")
	if err != nil {
		return nil, err
	}
	if s.missing {
		return &ecs.DescribeServicesOutput{Failures: []ecstypes.Failure{{Arn: aws.String(in.Services[0]), Reason: aws.String("MISSING")}}}, nil
	}
	s.mu.Lock() // the script may change the tasks
	defer s.mu.Unlock()
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{s.service(n)}}, nil
}

func (s *stubECS) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	if in.ServiceName != nil || in.Family != nil || in.LaunchType != "" || in.ContainerInstance != nil {
		s.t.Errorf("ListTasks with startedBy and another filter: %+v", in)
	}
	if _, err := s.count("ListTasks"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.ListTasksOutput{}
	for _, tk := range s.tasks {
		ours := s.ignoreStartedBy || aws.ToString(tk.StartedBy) == aws.ToString(in.StartedBy)
		if ours && aws.ToString(tk.DesiredStatus) == string(in.DesiredStatus) {
			out.TaskArns = append(out.TaskArns, aws.ToString(tk.TaskArn))
		}
	}
	return out, nil
}

func (s *stubECS) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	if len(in.Tasks) > 100 {
		s.t.Errorf("DescribeTasks with %d tasks", len(in.Tasks))
	}
	if _, err := s.count("DescribeTasks"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.DescribeTasksOutput{}
	for _, tk := range s.tasks {
		for _, arn := range in.Tasks {
			if arn == aws.ToString(tk.TaskArn) {
				out.Tasks = append(out.Tasks, tk)
			}
		}
	}
	return out, nil
}

const stubCluster = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"

func stubDeployment() Deployment {
	return Deployment{
		Target:       Target{Cluster: stubCluster, Service: "web", ServiceArn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web"},
		DeploymentID: "ecs-svc/2", DesiredCount: 2, StartedAt: time.Now(),
	}
}

func svc(deps ...ecstypes.Deployment) ecstypes.Service {
	return ecstypes.Service{
		ServiceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/prod/web"), ServiceName: aws.String("web"),
		Status: aws.String("ACTIVE"), Deployments: deps,
	}
}

func dep(id, status string, rollout ecstypes.DeploymentRolloutState, running, pending, failed int32) ecstypes.Deployment {
	return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: rollout,
		DesiredCount: 2, RunningCount: running, PendingCount: pending, FailedTasks: failed}
}

func quickWatch(failFast bool) WatchOptions {
	return WatchOptions{Timeout: 5 * time.Second, PollInterval: 5 * time.Millisecond, FailFast: failFast}
}

func TestWatchCircuitBreakerThenRollback(t *testing.T) {
	const reason = "ECS deployment circuit breaker: tasks failed to start."
	stub := newStub(t, func(n int) ecstypes.Service {
		switch {
		case n <= 1:
			return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 0, 2, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 2, 0, 0))
		case n == 2:
			failed := dep("ecs-svc/2", "ACTIVE", "FAILED", 0, 0, 3)
			failed.RolloutStateReason = aws.String(reason)
			return svc(dep("ecs-svc/3", "PRIMARY", "IN_PROGRESS", 2, 0, 0), failed)
		default: // rolled back and stable: only the old task definition is left
			return svc(dep("ecs-svc/3", "PRIMARY", "COMPLETED", 2, 0, 0))
		}
	})
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(false))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Services[0]
	if got.State != StateFailed || !strings.Contains(got.Reason, "rolloutState FAILED: "+reason) || got.RolloutStateReason != reason {
		t.Errorf("result %+v", got)
	}
}

func TestWatchVanishedDeployment(t *testing.T) {
	stub := newStub(t, func(n int) ecstypes.Service {
		if n == 1 {
			return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 0, 2, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 2, 0, 0))
		}
		return svc(dep("ecs-svc/3", "PRIMARY", "COMPLETED", 2, 0, 0))
	})
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(true))
	if err != nil {
		t.Fatal(err)
	}
	want := "deployment ecs-svc/2 no longer exists; the service is on ecs-svc/3 (rolled back?)"
	if got := res.Services[0]; got.State != StateFailed || !strings.HasPrefix(got.Reason, want) {
		t.Errorf("result %+v", got)
	}
}

func TestWatchServiceDeleted(t *testing.T) {
	stub := newStub(t, nil)
	stub.missing = true
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(true))
	if err != nil || res.Services[0].State != StateFailed || !strings.Contains(res.Services[0].Reason, "MISSING") {
		t.Errorf("result %+v, %v", res.Services[0], err)
	}
}

// A call that still fails after the SDK's retries costs a poll, not the
// watch; the OnChange callback fires only when something visible moves.
func TestWatchSurvivesAFailedCallAndNotifiesOnChangesOnly(t *testing.T) {
	stub := newStub(t, func(n int) ecstypes.Service {
		if n < 6 {
			return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 0, 2, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 2, 0, 0))
		}
		return svc(dep("ecs-svc/2", "PRIMARY", "COMPLETED", 2, 0, 0))
	})
	for i := range 2 {
		stub.tasks = append(stub.tasks, ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/" + string(rune('a'+i))),
			StartedBy: aws.String("ecs-svc/2"), LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING")})
	}
	stub.fail["DescribeServices"] = func(n int) error {
		if n == 3 {
			return &smithy.GenericAPIError{Code: "ServerException", Message: "still failing after retries"}
		}
		return nil
	}
	opts := quickWatch(true)
	var changes []ServiceResult
	opts.OnChange = func(r ServiceResult) { changes = append(changes, r) }
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Services[0].State != StateSucceeded || res.Polls < 6 {
		t.Fatalf("result %+v after %d polls", res.Services[0], res.Polls)
	}
	if len(changes) != 2 || changes[0].PendingCount != 2 || changes[1].State != StateSucceeded {
		t.Errorf("OnChange calls: %+v", changes)
	}
	if n := stub.calls["DescribeTasks"]; n != 1 {
		t.Errorf("DescribeTasks called %d times, want once", n)
	}
}

func TestWatchAccessDeniedOnListTasks(t *testing.T) {
	stub := newStub(t, func(int) ecstypes.Service {
		return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 0, 2, 0))
	})
	stub.fail["ListTasks"] = func(int) error {
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecs:ListTasks"}
	}
	_, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(true))
	if err == nil || !strings.Contains(err.Error(), "ecs:ListTasks") || !strings.Contains(err.Error(), "lacks the IAM permission") {
		t.Errorf("err = %v", err)
	}
}

func TestDeployStopsAtTheFirstError(t *testing.T) {
	stub := newStub(t, func(int) ecstypes.Service {
		return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 0, 0, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 2, 0, 0))
	})
	stub.fail["UpdateService"] = func(n int) error {
		if n == 2 {
			return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: ecs:UpdateService"}
		}
		return nil
	}
	targets := []Target{{Cluster: stubCluster, Service: "web"}, {Cluster: stubCluster, Service: "worker"}, {Cluster: stubCluster, Service: "api"}}
	at := time.Unix(1e9, 0)
	deps, err := Deploy(context.Background(), stub, targets, DeployOptions{Pacer: unpaced()}, func() time.Time { return at })
	if len(deps) != 1 || deps[0].DeploymentID != "ecs-svc/2" || !deps[0].StartedAt.Equal(at) {
		t.Errorf("deployments %+v", deps)
	}
	if err == nil || !strings.Contains(err.Error(), "ecs:UpdateService on service worker in cluster prod") {
		t.Errorf("err = %v", err)
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Errorf("the SDK error is not kept: %v", err)
	}
}

func stubTask(id, last, desired, stoppedReason string) ecstypes.Task {
	tk := task(last, desired, "", stoppedReason, container{})
	tk.TaskArn, tk.StartedBy = aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/"+id), aws.String("ecs-svc/2")
	if stoppedReason != "" {
		tk.StopCode = ecstypes.TaskStopCodeTaskFailedToStart
	}
	return tk
}

// Once a task of a deployment runs, ECS stops counting failedTasks: a launch
// that fails and is replaced between two polls leaves the counts as they
// were, and only the "has started" event tells.
func TestWatchSeesAFailureTheCountsHide(t *testing.T) {
	var stub *stubECS
	t0 := time.Now()
	stub = newStub(t, func(n int) ecstypes.Service {
		s := svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 1, 1, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 1, 0, 0))
		s.Events = []ecstypes.ServiceEvent{event("e1", "(service web) has started 2 tasks: (task a) (task b).", t0)}
		stub.tasks = []ecstypes.Task{stubTask("a", "RUNNING", "RUNNING", ""), stubTask("b", "PENDING", "RUNNING", "")}
		if n >= 3 {
			s.Events = append([]ecstypes.ServiceEvent{event("e2", "(service web) has started 1 tasks: (task c).", t0.Add(time.Second))}, s.Events...)
			stub.tasks = []ecstypes.Task{stubTask("a", "RUNNING", "RUNNING", ""), stubTask("b", "STOPPED", "STOPPED", ec2PullDenied), stubTask("c", "PENDING", "RUNNING", "")}
		}
		return s
	})
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(true))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Services[0]; s.State != StateFailed || s.Reason != "task b stopped: "+ec2PullDenied || res.Polls != 3 {
		t.Errorf("after %d polls: %+v", res.Polls, s)
	}
}

// Before calling a deployment done, the watch reads both task lists once
// more: a failed launch may have left no trace in the counts.
func TestWatchChecksEveryTaskBeforeSuccess(t *testing.T) {
	var stub *stubECS
	stub = newStub(t, func(n int) ecstypes.Service {
		if n == 1 {
			stub.tasks = []ecstypes.Task{stubTask("a", "RUNNING", "RUNNING", ""), stubTask("b", "PENDING", "RUNNING", "")}
			return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 1, 1, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 1, 0, 0))
		}
		stub.tasks = []ecstypes.Task{stubTask("a", "RUNNING", "RUNNING", ""), stubTask("b", "STOPPED", "STOPPED", fargatePull401), stubTask("c", "RUNNING", "RUNNING", "")}
		return svc(dep("ecs-svc/2", "PRIMARY", "COMPLETED", 2, 0, 0))
	})
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(false))
	if err != nil {
		t.Fatal(err)
	}
	want := "rolloutState COMPLETED, but 1 task(s) of it could not pull with the credentials; first: task b stopped: " + fargatePull401
	if s := res.Services[0]; s.State != StateFailed || s.Reason != want {
		t.Errorf("%+v", s)
	}
}

// Cancelled while its DescribeServices hang, Watch returns at once and leaves
// no goroutine behind.
func TestWatchCancelLeavesNoGoroutine(t *testing.T) {
	stub := newStub(t, nil)
	stub.hang = true
	deps := make([]Deployment, 300)
	for i := range deps {
		deps[i] = stubDeployment()
		deps[i].Service = "svc-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err := Watch(ctx, stub, deps, quickWatch(true))
	if took := time.Since(start); took > time.Second || !errors.Is(err, context.Canceled) {
		t.Errorf("returned after %s with %v", took, err)
	}
	if res.Services[0].State != StateCancelled || len(res.Services) != 300 {
		t.Errorf("result %+v", res.Services[0])
	}
	// The AfterFunc's own goroutine may still be on its way out: allow it
	// a moment, but not a goroutine per service or per call.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// A ListTasks that ignored the startedBy filter (a proxy, an older fake)
// must not make another deployment's failed task this one's.
func TestWatchIgnoresTasksOfOtherDeployments(t *testing.T) {
	stub := newStub(t, func(n int) ecstypes.Service {
		if n < 3 {
			return svc(dep("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 1, 1, 0), dep("ecs-svc/1", "ACTIVE", "COMPLETED", 1, 0, 0))
		}
		return svc(dep("ecs-svc/2", "PRIMARY", "COMPLETED", 2, 0, 0))
	})
	stub.ignoreStartedBy = true
	task := func(id, startedBy, status, reason string) ecstypes.Task {
		return ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/" + id), StartedBy: aws.String(startedBy),
			LastStatus: aws.String(status), DesiredStatus: aws.String(status), StoppedReason: aws.String(reason)}
	}
	stub.tasks = []ecstypes.Task{
		task("ours1", "ecs-svc/2", "RUNNING", ""), task("ours2", "ecs-svc/2", "RUNNING", ""),
		task("old", "ecs-svc/1", "STOPPED", "CannotPullContainerError: pull access denied for web"),
		task("oldrunning", "ecs-svc/1", "PENDING", ""),
	}
	res, err := Watch(context.Background(), stub, []Deployment{stubDeployment()}, quickWatch(true))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Services[0]; got.State != StateSucceeded || len(res.FailedTasks) != 0 {
		t.Errorf("result %+v, failed tasks %+v: another deployment's tasks leaked into this one", got, res.FailedTasks)
	}
}
