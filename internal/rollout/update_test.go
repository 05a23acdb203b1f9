package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// Every change lands exactly once: the UpdateService calls that took effect
// are the deployments ECS started, whatever answers the caller got.

// effects counts, by service, the UpdateService calls that took effect.
func effects(tb testing.TB, s *awsfake.Server) map[string]int {
	tb.Helper()
	n := map[string]int{}
	for _, c := range s.MutatingCalls() {
		if c.Operation != "UpdateService" {
			continue
		}
		var in struct{ Service string }
		if err := json.Unmarshal(c.Input, &in); err != nil {
			tb.Fatal(err)
		}
		n[in.Service]++
	}
	return n
}

// primaryOf is the id of the service's PRIMARY deployment in the fake.
func (w *world) primaryOf(tb testing.TB, service string) string {
	tb.Helper()
	snap, ok := w.s.ServiceSnapshot("prod", service)
	if !ok {
		tb.Fatalf("service %s not found", service)
	}
	if p := primaryDeployment(snap.Deployments); p != nil {
		return aws.ToString(p.Id)
	}
	return ""
}

// logLines collects DeployOptions.Log's lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logLines) with(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			out = append(out, s)
		}
	}
	return out
}

// checkOnce checks that each target got one new deployment, the one its
// Deployment names and the service has as PRIMARY, and that the Deployment
// knows it besides those known before.
func checkOnce(t *testing.T, w *world, targets []Target, deps []Deployment, want map[string]int) {
	t.Helper()
	if got := effects(t, w.s); !maps.Equal(got, want) {
		t.Errorf("UpdateService took effect %v times by service, want %v", got, want)
	}
	if len(deps) != len(targets) {
		t.Fatalf("%d deployments for %d targets", len(deps), len(targets))
	}
	for i, d := range deps {
		primary := w.primaryOf(t, targets[i].Service)
		if d.DeploymentID != primary || slices.Contains(targets[i].KnownDeployments, primary) {
			t.Errorf("%s: following %s, the service's PRIMARY is %s (known before: %v)", d.Service, d.DeploymentID, primary, targets[i].KnownDeployments)
		}
		if !slices.Equal(d.KnownDeployments, append(slices.Clone(targets[i].KnownDeployments), primary)) {
			t.Errorf("%s: the deployment knows %v, want %v and %s", d.Service, d.KnownDeployments, targets[i].KnownDeployments, primary)
		}
	}
}

func onceEach(targets []Target, times int) map[string]int {
	want := map[string]int{}
	for _, t := range targets {
		want[t.Service] = times
	}
	return want
}

// An UpdateService whose answer is lost was carried out: the service is read
// back and the deployment it started followed, not a second one started.
func TestDeployFollowsTheDeploymentALostAnswerStarted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 3, awsfake.Service{})
	w.s.LoseAnswer("UpdateService")
	var log logLines
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: unpaced(), Log: log.add}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.s.LostAnswers("UpdateService"); n != 3 {
		t.Fatalf("%d answers lost, want 3: the test tests nothing", n)
	}
	checkOnce(t, w, targets, deps, onceEach(targets, 1))
	if n := w.s.CallCount("UpdateService"); n != 3 {
		t.Errorf("%d UpdateService calls, want 3: none sent again", n)
	}
	for _, d := range deps {
		want := "service " + d.Service + " in cluster prod: UpdateService's answer was lost; following deployment " + d.DeploymentID + " that it started"
		if len(log.with(want)) != 1 {
			t.Errorf("no log line %q in %q", want, log.lines)
		}
	}
}

// failFirst fails the first UpdateService with fault on the wire, before it
// takes effect; the calls after it reach the fake as they are.
type failFirst struct {
	ECS
	s     *awsfake.Server
	fault awsfake.FaultKind
	calls int
}

func (f *failFirst) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, o ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.calls++
	if f.calls == 1 {
		f.s.Fail("UpdateService", f.fault)
	} else {
		f.s.Lift("UpdateService")
	}
	return f.ECS.UpdateService(ctx, in, o...)
}

// A redeploy from the Deployments of an earlier Deploy (the rollback's)
// knows the deployment that Deploy started: a server error that changed
// nothing is sent again, not answered with the earlier deployment, and a
// lost answer is followed to the new one.
func TestRedeployKnowsTheDeploymentsItStarted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 1, awsfake.Service{})
	first := w.deploy(t, targets)
	again := []Target{first[0].Target}

	var log logLines
	api := &failFirst{ECS: w.api, s: w.s, fault: awsfake.InternalFailure}
	second, err := Deploy(context.Background(), api, again, DeployOptions{Pacer: unpaced(), Log: log.add}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	checkOnce(t, w, again, second, onceEach(targets, 2))
	if len(log.with("read back, the service shows no deployment that it started: sending it again")) != 1 {
		t.Errorf("the log does not say the call was sent again: %q", log.lines)
	}

	w.s.LoseAnswer("UpdateService")
	third, err := Deploy(context.Background(), w.api, []Target{second[0].Target}, DeployOptions{Pacer: unpaced()}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if w.s.LostAnswers("UpdateService") != 1 {
		t.Fatal("no answer was lost: the test tests nothing")
	}
	checkOnce(t, w, []Target{second[0].Target}, third, onceEach(targets, 3))
}

// Throttling is AWS refusing the call before acting on it: it is sent
// again, and each send waits its turn under the Pacer.
func TestDeployRetriesThrottlingEachSendPaced(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 4, awsfake.Service{})
	w.s.Throttle("UpdateService", 0.6)
	clk := newFakeClock()
	pacer := newPacer(1, time.Second, clk.clock())
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: pacer}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if w.s.Throttled("UpdateService") == 0 {
		t.Fatal("no call was throttled: the test tests nothing")
	}
	checkOnce(t, w, targets, deps, onceEach(targets, 1))
	sends := w.s.CallCount("UpdateService")
	if want := time.Duration(sends-1) * time.Second; clk.sleptSoFar() != want {
		t.Errorf("paced %s for %d sends, want %s: one turn a send", clk.sleptSoFar(), sends, want)
	}
	if n := w.s.CallCount("DescribeServices"); n != 0 {
		t.Errorf("%d read-backs after throttling, which AWS refused before acting", n)
	}
}

// An access denial is final: not sent again, nothing read back.
func TestDeployDoesNotRetryAccessDenied(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 2, awsfake.Service{})
	w.s.DenyAccess("UpdateService")
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: unpaced()}, time.Now)
	if err == nil || len(deps) != 0 {
		t.Fatalf("deployments %v, error %v; want none and the denial", deps, err)
	}
	if !strings.Contains(err.Error(), "ecs:UpdateService on service svc-000 in cluster prod: ") || !strings.Contains(err.Error(), "lacks the IAM permission ecs:UpdateService") {
		t.Errorf("error %q", err)
	}
	if n, r := w.s.CallCount("UpdateService"), w.s.CallCount("DescribeServices"); n != 1 || r != 0 {
		t.Errorf("%d UpdateService calls and %d read-backs, want 1 and 0", n, r)
	}
}

// When the read-back fails too, nobody knows whether the call started a
// deployment: the error says it may have, and the call is not sent again.
func TestDeployLostAnswerWithAFailedReadBackSaysItMayHaveStarted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 2, awsfake.Service{})
	w.s.LoseAnswer("UpdateService")
	w.s.DenyAccess("DescribeServices")
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: unpaced()}, time.Now)
	if err == nil || len(deps) != 0 {
		t.Fatalf("deployments %v, error %v; want none and an error", deps, err)
	}
	for _, want := range []string{
		"ecs:UpdateService on service svc-000 in cluster prod: ",
		"it may have started a deployment all the same: reading the service back failed: ecs:DescribeServices on service svc-000 in cluster prod",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to say %q", err, want)
		}
	}
	if got := effects(t, w.s); !maps.Equal(got, map[string]int{"svc-000": 1}) {
		t.Errorf("UpdateService took effect %v times, want once on svc-000 and then stop", got)
	}
}

// A call that fails on the server every time is sent as often as the SDK
// would have sent it, each failure read back, and the error says so.
func TestDeployServerErrorsAreBoundedAndReadBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 1, awsfake.Service{})
	w.s.Fail("UpdateService", awsfake.InternalFailure)
	_, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: unpaced()}, time.Now)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"ecs:UpdateService on service svc-000 in cluster prod: ", "InternalFailure", "sent 10 times", "read back, the service shows no deployment that it started"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "maximum number of attempts, 1") {
		t.Errorf("the error counts the SDK's single attempt: %q", err)
	}
	if n, r := w.s.CallCount("UpdateService"), w.s.CallCount("DescribeServices"); n != 10 || r != 10 {
		t.Errorf("%d UpdateService calls and %d read-backs, want 10 of each", n, r)
	}
}

// A run cancelled while its call is on the way has changed the service
// without learning it: the read-back, made all the same, finds the
// deployment, and Deploy returns it to be reported.
func TestDeployCancelledOnTheWayReadsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t, tick)
	targets := w.services(t, 1, awsfake.Service{})
	before := w.primaryOf(t, "svc-000")
	w.s.SlowReply("UpdateService", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The fake logs a slow call only once it answers: the service
		// shows when it took effect.
		for {
			snap, _ := w.s.ServiceSnapshot("prod", "svc-000")
			if p := primaryDeployment(snap.Deployments); p != nil && aws.ToString(p.Id) != before {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	deps, err := Deploy(ctx, w.api, targets, DeployOptions{Pacer: unpaced()}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].DeploymentID != w.primaryOf(t, "svc-000") || deps[0].DeploymentID == before {
		t.Errorf("deployments %+v; want the service's new PRIMARY", deps)
	}
	if n := w.s.CallCount("UpdateService"); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// What a failed UpdateService says about its effect decides whether it is
// read back: only AWS's own refusal proves it was not carried out.
func TestOutcomeOf(t *testing.T) {
	answered := func(status int, code string) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code},
		}}
	}
	for _, c := range []struct {
		name string
		err  error
		want outcome
	}{
		{"throttled", answered(400, "ThrottlingException"), throttled},
		{"denied", answered(400, "AccessDeniedException"), refused},
		{"invalid", answered(400, "InvalidParameterException"), refused},
		{"server error", answered(500, "ServerException"), unknown},
		{"unavailable", answered(503, "ServiceUnavailable"), unknown},
		{"unreadable answer", answered(200, ""), unknown},
		{"connection ended", &smithyhttp.RequestSendError{Err: io.EOF}, unknown},
		{"cancelled on the way", &smithy.CanceledError{Err: context.Canceled}, unknown},
		{"never sent", errors.New("failed to retrieve credentials"), refused},
	} {
		if got := outcomeOf(c.err); got != c.want {
			t.Errorf("%s: outcome %d, want %d", c.name, got, c.want)
		}
	}
}
