package rollout

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// unpaced is a Pacer that never waits, for the tests about something else.
func unpaced() *Pacer { return newPacer(1_000_000, time.Nanosecond, realClock) }

// usePacer makes p the process's Pacer for the rest of the test. The test
// must not be parallel: the process's Pacer is the package's.
func usePacer(t *testing.T, p *Pacer) {
	old := processPacer.Swap(p)
	t.Cleanup(func() { processPacer.Store(old) })
}

// fakeClock is time that moves only when a Pacer sleeps or the test says.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1e9, 0)} }

func (c *fakeClock) clock() clock { return clock{now: c.now, sleep: c.sleep} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.slept = c.t.Add(d), c.slept+d
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) sleptSoFar() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// updates answers UpdateService with a PRIMARY deployment and records when
// (by now) each call came, and for which service.
type updates struct {
	ECS // only UpdateService is called
	now func() time.Time

	mu       sync.Mutex
	at       []time.Time
	services []string
}

func (u *updates) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	name := aws.ToString(in.Service)
	u.at, u.services = append(u.at, u.now()), append(u.services, name)
	return &ecs.UpdateServiceOutput{Service: &ecstypes.Service{Deployments: []ecstypes.Deployment{
		{Id: aws.String("ecs-svc/" + name), Status: aws.String("PRIMARY"), DesiredCount: 2},
	}}}, nil
}

func (u *updates) calls() ([]time.Time, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.at...), append([]string(nil), u.services...)
}

// someTargets are n services of the stub's cluster, svc-000 on.
func someTargets(n int) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{Cluster: stubCluster, Service: fmt.Sprintf("svc-%03d", i)}
	}
	return out
}

// TestDeployPacesUpdateService: 300 services make 50 calls at once, then one
// every 200 ms, in the targets' order: 50 s of pacing, on a fake clock.
func TestDeployPacesUpdateService(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	start := clk.now()
	api := &updates{now: clk.now}
	targets := someTargets(300)
	var logs []string
	opts := DeployOptions{Pacer: newPacer(updateServiceBurst, updateServiceInterval, clk.clock()), Log: func(s string) { logs = append(logs, s) }}
	wall := time.Now()
	deps, err := Deploy(context.Background(), api, targets, opts, clk.now)
	took := time.Since(wall)
	if err != nil {
		t.Fatal(err)
	}
	at, services := api.calls()
	if len(deps) != 300 || len(at) != 300 {
		t.Fatalf("%d deployments, %d calls for 300 targets", len(deps), len(at))
	}
	for i, when := range at {
		want := start
		if i >= 50 {
			want = start.Add(time.Duration(i-49) * 200 * time.Millisecond)
		}
		if !when.Equal(want) {
			t.Errorf("call %d at +%s, want +%s", i+1, when.Sub(start), want.Sub(start))
		}
		if services[i] != targets[i].Service || deps[i].Service != targets[i].Service || !deps[i].StartedAt.Equal(when) {
			t.Errorf("call %d: service %s, deployment %+v, want %s in order", i+1, services[i], deps[i], targets[i].Service)
		}
	}
	if slept := clk.sleptSoFar(); slept != 50*time.Second {
		t.Errorf("paced for %s, want (300-50)/5 s = 50s", slept)
	}
	if took > testenv.Scale(5*time.Second) {
		t.Errorf("took %s of wall time: the pacing did not run on the given clock", took)
	}
	want := []string{"UpdateService is paced to stay under ECS's request limit (50 at once, then 5 per second): deploying 300 services takes at least 50s"}
	if !reflect.DeepEqual(logs, want) {
		t.Errorf("logged %q, want %q", logs, want)
	}
}

// TestDeploySaysHowLongPacingTakesPastFiveSeconds: one line, before the first
// call, only when pacing makes the calls take more than 5 s.
func TestDeploySaysHowLongPacingTakesPastFiveSeconds(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{
		10:  "",
		50:  "",
		75:  "", // 25 past the bucket: 5 s exactly
		76:  "UpdateService is paced to stay under ECS's request limit (50 at once, then 5 per second): deploying 76 services takes at least 5s",
		81:  "UpdateService is paced to stay under ECS's request limit (50 at once, then 5 per second): deploying 81 services takes at least 6s",
		500: "UpdateService is paced to stay under ECS's request limit (50 at once, then 5 per second): deploying 500 services takes at least 1m30s",
	} {
		clk := newFakeClock()
		api := &updates{now: clk.now}
		var logs []string
		var callsAtLog []int
		opts := DeployOptions{Pacer: newPacer(updateServiceBurst, updateServiceInterval, clk.clock()), Log: func(s string) {
			at, _ := api.calls()
			logs, callsAtLog = append(logs, s), append(callsAtLog, len(at))
		}}
		if _, err := Deploy(context.Background(), api, someTargets(n), opts, clk.now); err != nil {
			t.Fatal(err)
		}
		switch {
		case want == "" && len(logs) != 0:
			t.Errorf("%d services: logged %q, want nothing", n, logs)
		case want != "" && (len(logs) != 1 || logs[0] != want || callsAtLog[0] != 0):
			t.Errorf("%d services: logged %q after %v calls, want %q before the first", n, logs, callsAtLog, want)
		}
	}
	// No Log, no line and no trouble.
	if _, err := Deploy(context.Background(), &updates{now: time.Now}, someTargets(80), DeployOptions{Pacer: newPacer(50, 200*time.Millisecond, newFakeClock().clock())}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDeployCallsShareTheBucket: the rollback's Deploy, soon after the
// rollout's, finds the bucket as the rollout left it, whether the run gives
// both the same Pacer or leaves both to the process's.
func TestDeployCallsShareTheBucket(t *testing.T) {
	for _, name := range []string{"the run's Pacer", "the process's Pacer"} {
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.now()
			p := newPacer(updateServiceBurst, updateServiceInterval, clk.clock())
			opts := DeployOptions{Pacer: p}
			if name == "the process's Pacer" {
				usePacer(t, p)
				opts.Pacer = nil
			}
			api := &updates{now: clk.now}
			if _, err := Deploy(context.Background(), api, someTargets(50), opts, clk.now); err != nil {
				t.Fatal(err)
			}
			clk.advance(2 * time.Second) // the refill of 10 calls
			var logs []string
			opts.Log = func(s string) { logs = append(logs, s) }
			if _, err := Deploy(context.Background(), api, someTargets(40), opts, clk.now); err != nil {
				t.Fatal(err)
			}
			at, _ := api.calls()
			if len(at) != 90 {
				t.Fatalf("%d calls, want 90", len(at))
			}
			for i, when := range at {
				var want time.Time
				switch k := i - 50; {
				case k < 0: // the first Deploy: a full bucket
					want = start
				case k < 10: // the second: the 10 calls refilled go at once
					want = start.Add(2 * time.Second)
				default: // then one per 200 ms
					want = start.Add(time.Duration(k+1) * 200 * time.Millisecond)
				}
				if !when.Equal(want) {
					t.Errorf("call %d at +%s, want +%s", i+1, when.Sub(start), want.Sub(start))
				}
			}
			want := []string{"UpdateService is paced to stay under ECS's request limit (50 at once, then 5 per second): deploying 40 services takes at least 6s"}
			if !reflect.DeepEqual(logs, want) {
				t.Errorf("the second Deploy logged %q, want %q", logs, want)
			}
		})
	}
}

// TestDeployCancelledWhilePacedReturnsWhatItStarted: a cancel during a wait
// for the next call's turn ends Deploy at once, with the deployments started
// and an error that names the service not deployed and wraps the cancel.
func TestDeployCancelledWhilePacedReturnsWhatItStarted(t *testing.T) {
	t.Parallel()
	api := &updates{now: time.Now}
	p := newPacer(1, time.Hour, realClock) // the second call waits an hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	var (
		deps []Deployment
		err  error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		deps, err = Deploy(ctx, api, someTargets(3), DeployOptions{Pacer: p}, nil)
	}()
	select {
	case <-done:
	case <-time.After(testenv.Scale(2 * time.Second)):
		t.Fatalf("Deploy had not returned %s after the start; the cancel came at 50ms", testenv.Scale(2*time.Second))
	}
	if len(deps) != 1 || deps[0].Service != "svc-000" || deps[0].DeploymentID != "ecs-svc/svc-000" {
		t.Errorf("deployments %+v, want svc-000's", deps)
	}
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "ecs:UpdateService on service svc-001 in cluster prod: not sent, ") {
		t.Errorf("err = %v", err)
	}
	if _, services := api.calls(); len(services) != 1 {
		t.Errorf("UpdateService called for %v, want svc-000 only", services)
	}
}

// TestPacerGivesBackACancelledTurn: a call that was not made leaves its turn
// to the next.
func TestPacerGivesBackACancelledTurn(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newPacer(1, time.Hour, clk.clock())
	if err := p.wait(context.Background()); err != nil || clk.sleptSoFar() != 0 {
		t.Fatalf("the first call waited %s (%v) with a full bucket", clk.sleptSoFar(), err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v, want the cancel", err)
	}
	clk.advance(time.Hour)
	if d := p.reserve(); d != 0 {
		t.Errorf("an hour after the first call, the next waits %s: the cancelled turn was kept", d)
	}
}
