package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

const tick = 20 * time.Millisecond

func watchOpts(failFast bool) WatchOptions {
	return WatchOptions{Timeout: 20 * time.Second, PollInterval: 50 * time.Millisecond, FailFast: failFast}
}

func TestSeveralServicesSucceed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := append(w.services(t, 3, awsfake.Service{Name: "web"}),
		w.services(t, 1, awsfake.Service{Name: "classic", NoRolloutState: true})...)
	targets = append(targets, w.services(t, 1, awsfake.Service{Name: "fargate", LaunchType: "FARGATE"})...)
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{MinimumHealthyPercent: aws.Int32(50), Pacer: unpaced()}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Watch(context.Background(), w.api, deps, watchOpts(true))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() || len(res.FailedTasks) != 0 {
		t.Fatalf("result %+v", res)
	}
	for i, s := range res.Services {
		if s.Service != targets[i].Service || s.DeploymentID != deps[i].DeploymentID || s.RunningCount != 2 || s.Elapsed <= 0 {
			t.Errorf("service %d: %+v", i, s)
		}
	}
	if res.Services[0].RolloutState != "COMPLETED" || res.Services[3].RolloutState != "" {
		t.Errorf("rollout states %q %q", res.Services[0].RolloutState, res.Services[3].RolloutState)
	}
	// minimumHealthyPercent replaced, the rest of the configuration sent as it was.
	for _, c := range w.s.Calls() {
		if c.Operation == "UpdateService" {
			var in struct {
				DeploymentConfiguration struct{ MinimumHealthyPercent, MaximumPercent int32 }
			}
			_ = json.Unmarshal(c.Input, &in)
			if dc := in.DeploymentConfiguration; dc.MinimumHealthyPercent != 50 || dc.MaximumPercent != 200 {
				t.Errorf("UpdateService sent %s", c.Input)
			}
		}
	}
}

func TestFailFastOnPullFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	w.breakCredentials()
	deps := w.deploy(t, w.services(t, 3, awsfake.Service{}))
	opts := watchOpts(true)
	opts.PollInterval = 300 * time.Millisecond
	res, err := Watch(context.Background(), w.api, deps, opts)
	returned := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	// Within one poll interval and one round of calls of the first failure.
	if late := returned.Sub(w.s.FirstTaskFailureAt()); late > opts.PollInterval+400*time.Millisecond {
		t.Errorf("returned %s after the first failed task", late)
	}
	failed := 0
	for _, s := range res.Services {
		if s.State == StateFailed {
			failed++
			if !strings.HasPrefix(s.Reason, "task ") || !strings.Contains(s.Reason, " stopped: CannotPullContainerError: ") {
				t.Errorf("reason %q", s.Reason)
			}
		}
	}
	if failed == 0 || len(res.FailedTasks) == 0 {
		t.Fatalf("no failure reported: %+v", res)
	}
	want := "CannotPullContainerError: Error response from daemon: pull access denied for " + w.s.RegistryHost() +
		"/app/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
	f := res.FailedTasks[0]
	if f.Kind != KindPullFailed || f.StoppedReason != want || f.StopCode != "TaskFailedToStart" || f.LastStatus != "STOPPED" ||
		len(f.Containers) != 1 || f.Containers[0].Name != "web" || f.Containers[0].Image != w.image {
		t.Errorf("failed task %+v", f)
	}
}

func TestWithoutFailFastWaitForTheVerdict(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	w.breakCredentials()
	deps := w.deploy(t, w.services(t, 2, awsfake.Service{DesiredCount: 4, CircuitBreaker: &awsfake.CircuitBreaker{Enable: true}}))
	res, err := Watch(context.Background(), w.api, deps, watchOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	perService := map[string]int{}
	seen := map[string]bool{}
	for _, f := range res.FailedTasks {
		if seen[f.TaskArn] || f.Kind != KindPullFailed {
			t.Errorf("duplicate or misclassified %+v", f)
		}
		seen[f.TaskArn] = true
		perService[f.Service]++
	}
	for _, s := range res.Services {
		const reason = "rolloutState FAILED: ECS deployment circuit breaker: tasks failed to start."
		if s.State != StateFailed || !strings.HasPrefix(s.Reason, reason) || s.RolloutState != "FAILED" {
			t.Errorf("service %+v", s)
		}
		// The breaker trips after 3 failed tasks (half of 4, at least 3).
		if perService[s.Service] < 3 || s.FailedTasks < 3 {
			t.Errorf("%s: %d failed tasks reported, %d counted", s.Service, perService[s.Service], s.FailedTasks)
		}
	}
}

func TestStaleCachedImageFails(t *testing.T) {
	t.Parallel()
	for _, failFast := range []bool{false, true} {
		w := newWorld(t, tick)
		w.breakCredentials()
		deps := w.deploy(t, w.services(t, 1, awsfake.Service{CachedImage: true}))
		res, err := Watch(context.Background(), w.api, deps, watchOpts(failFast))
		if err != nil {
			t.Fatal(err)
		}
		s := res.Services[0]
		if s.State != StateFailed || !strings.Contains(s.Reason, "RUNNING on a cached image") {
			t.Errorf("fail-fast %v: %+v", failFast, s)
		}
		if !failFast && (s.RolloutState != "COMPLETED" || !strings.HasPrefix(s.Reason, "rolloutState COMPLETED, but 2 task(s)")) {
			t.Errorf("without fail-fast the deployment should complete first: %+v", s)
		}
		if len(res.FailedTasks) == 0 || res.FailedTasks[0].Kind != KindStaleImage || res.FailedTasks[0].LastStatus != "RUNNING" ||
			!strings.HasPrefix(res.FailedTasks[0].Containers[0].Reason, "CannotPullContainerError:") {
			t.Errorf("fail-fast %v: failed tasks %+v", failFast, res.FailedTasks)
		}
	}
}

func TestCircuitBreakerRollbackIsAFailure(t *testing.T) {
	t.Parallel()
	breaker := awsfake.Service{CircuitBreaker: &awsfake.CircuitBreaker{Enable: true, Rollback: true}}
	t.Run("seen failing", func(t *testing.T) {
		t.Parallel()
		// 100 ms ticks leave the FAILED deployment listed for 100 ms.
		w := newWorld(t, 100*time.Millisecond)
		w.breakCredentials()
		deps := w.deploy(t, w.services(t, 1, breaker))
		opts := watchOpts(false)
		opts.PollInterval = 10 * time.Millisecond
		res, err := Watch(context.Background(), w.api, deps, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Services[0]
		if s.State != StateFailed || !strings.HasPrefix(s.Reason, "rolloutState FAILED: ECS deployment circuit breaker: tasks failed to start.") ||
			s.RolloutStateReason != "ECS deployment circuit breaker: tasks failed to start." {
			t.Errorf("result %+v", s)
		}
	})
	t.Run("seen after the rollback", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 10*time.Millisecond)
		w.breakCredentials()
		deps := w.deploy(t, w.services(t, 1, breaker))
		opts := watchOpts(false)
		opts.PollInterval = 400 * time.Millisecond // the rollback is over before the second poll
		res, err := Watch(context.Background(), w.api, deps, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Services[0]
		if s.State != StateFailed || !strings.Contains(s.Reason, "deployment "+deps[0].DeploymentID+" no longer exists; the service is on ecs-svc/") ||
			!strings.Contains(s.Reason, "(rolled back?); ECS reported: (service svc-000) (deployment "+deps[0].DeploymentID+") deployment failed: tasks failed to start.") {
			t.Errorf("result %+v", s)
		}
		if len(res.FailedTasks) < 3 {
			t.Errorf("failed tasks %+v", res.FailedTasks)
		}
	})
}

func TestSecretReadFailure(t *testing.T) {
	t.Parallel()
	for launchType, prefix := range map[string]string{
		"EC2":     "Asm fetching secret from the service for ",
		"FARGATE": "ResourceInitializationError: unable to pull secrets or registry auth: ",
	} {
		w := newWorld(t, tick)
		w.s.DenySecretRead(w.secret)
		deps := w.deploy(t, w.services(t, 1, awsfake.Service{LaunchType: launchType}))
		res, err := Watch(context.Background(), w.api, deps, watchOpts(true))
		if err != nil {
			t.Fatal(err)
		}
		if res.Services[0].State != StateFailed || len(res.FailedTasks) == 0 {
			t.Fatalf("%s: %+v", launchType, res)
		}
		if f := res.FailedTasks[0]; f.Kind != KindSecretFailed || !strings.HasPrefix(f.StoppedReason, prefix) {
			t.Errorf("%s: %+v", launchType, f)
		}
	}
}

func TestTimeoutReportsHowFarItGot(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	w.breakCredentials()
	deps := w.deploy(t, w.services(t, 1, awsfake.Service{Name: "web"}))
	opts := watchOpts(false)
	opts.Timeout = 500 * time.Millisecond
	res, err := Watch(context.Background(), w.api, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Services[0]
	if s.State != StateTimedOut || s.DesiredCount != 2 || s.FailedTasks == 0 {
		t.Fatalf("result %+v", s)
	}
	for _, part := range []string{"timed out after 500ms: ", " of 2 tasks running, ", " failed; rolloutState IN_PROGRESS",
		"; first failed task: task ", "CannotPullContainerError", "; last event: (service web-000) has started "} {
		if !strings.Contains(s.Reason, part) {
			t.Errorf("reason lacks %q: %s", part, s.Reason)
		}
	}
}

func TestCancelReturnsPromptly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	w.breakCredentials()
	deps := w.deploy(t, w.services(t, 2, awsfake.Service{}))
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled time.Time
	opts := watchOpts(false)
	opts.OnChange = func(ServiceResult) {
		if cancelled.IsZero() {
			w.s.Latency("*", 10*time.Second) // a call in flight when the signal comes
			cancelled = time.Now()
			time.AfterFunc(100*time.Millisecond, cancel)
		}
	}
	res, err := Watch(ctx, w.api, deps, opts)
	if took := time.Since(cancelled); took > 2*time.Second {
		t.Errorf("returned %s after the cancel", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	for _, s := range res.Services {
		if s.State != StateCancelled || !strings.HasPrefix(s.Reason, "cancelled: ") {
			t.Errorf("service %+v", s)
		}
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	deps := w.deploy(t, w.services(t, 12, awsfake.Service{}))
	w.s.Throttle("*", 0.3)
	res, err := Watch(context.Background(), w.api, deps, watchOpts(true))
	if err != nil || !res.Succeeded() {
		t.Fatalf("result %+v, %v", res, err)
	}
	throttled := 0
	for _, c := range w.s.Calls() {
		if c.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("nothing was throttled")
	}
}

func TestAccessDeniedNamesTheAction(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	deps := w.deploy(t, w.services(t, 1, awsfake.Service{}))
	w.s.DenyAccess("DescribeServices")
	_, err := Watch(context.Background(), w.api, deps, watchOpts(true))
	if err == nil || !strings.Contains(err.Error(), "ecs:DescribeServices on services svc-000 in cluster prod") ||
		!strings.Contains(err.Error(), "lacks the IAM permission ecs:DescribeServices") {
		t.Errorf("err = %v", err)
	}
}

// 60 services cost 6 DescribeServices a poll, and a poll in which nothing
// moved costs no task call.
func TestPollCost(t *testing.T) {
	t.Parallel()
	// Slow tasks, so that most polls see no change even though the 60
	// deployments start one after the other (slower still on a busy
	// machine, whose polls are slow too).
	w := newWorld(t, testenv.Scale(2*time.Second))
	targets := w.services(t, 60, awsfake.Service{})
	start := time.Now()
	deps := w.deploy(t, targets)
	t.Logf("60 deployments started in %s", time.Since(start))
	api := newCounting(w.api)
	finished, changed := 0, false
	opts := watchOpts(true)
	opts.PollInterval = 30 * time.Millisecond
	opts.OnChange = func(s ServiceResult) {
		changed = true
		if s.State != StateInProgress {
			finished++
		}
	}
	before := api.snapshot()
	quiet, full := 0, 0
	h := hooks{afterPoll: func(n int) {
		now := api.snapshot()
		ds, tasks := now["DescribeServices"]-before["DescribeServices"], now["ListTasks"]+now["DescribeTasks"]-before["ListTasks"]-before["DescribeTasks"]
		if finished == 0 {
			full++
			if ds != 6 {
				t.Errorf("poll %d: %d DescribeServices for 60 services", n, ds)
			}
		}
		if !changed {
			quiet++
			if tasks != 0 {
				t.Errorf("poll %d changed nothing but made %d task calls", n, tasks)
			}
		}
		before, changed = now, false
	}}
	res, err := newWatcher(api, deps, opts, h).run(context.Background())
	if err != nil || !res.Succeeded() {
		t.Fatalf("result %+v, %v", res, err)
	}
	t.Logf("%d polls, %d quiet, %d of all 60 services; calls %v", res.Polls, quiet, full, api.snapshot())
	if quiet < 5 || full < 5 {
		t.Errorf("only %d quiet polls and %d polls of all 60 services: the test proves little", quiet, full)
	}
}
