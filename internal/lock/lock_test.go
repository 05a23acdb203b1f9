package lock

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

func fakeSSM(t *testing.T) (*awsfake.Server, *ssm.Client) {
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
	return srv, ssm.NewFromConfig(cfg)
}

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func holder(id string, started time.Time) Holder {
	return Holder{RunID: id, Started: started, Deadline: started.Add(time.Hour), URL: "https://github.com/o/r/actions/runs/" + id}
}

func at(now time.Time) func() time.Time { return func() time.Time { return now } }

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:team+ci/registry@hub-AbCdEf"

func TestSecondRunStopsNamingTheHolder(t *testing.T) {
	srv, api := fakeSSM(t)
	ctx := context.Background()
	res := []Resource{Cluster("prod"), Secret(secretARN)}
	first, err := Acquire(ctx, api, res, Options{Holder: holder("run-1", t0), Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(ctx, api, res, Options{Holder: holder("run-2", t0.Add(2*time.Second)), Now: at(t0.Add(2 * time.Second))})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	for _, want := range []string{"run run-1", "2026-12-05T12:00:00Z", "https://github.com/o/r/actions/runs/run-1", "aws ssm delete-parameter --name " + Prefix} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The second run released what it took before it met the held lock.
	if names := srv.ParameterNames(); len(names) != 2 {
		t.Errorf("parameters after the refused Acquire: %v, want only the first run's two locks", names)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if names := srv.ParameterNames(); len(names) != 0 {
		t.Errorf("parameters after Release: %v, want none", names)
	}
	if _, err := Acquire(ctx, api, res, Options{Holder: holder("run-2", t0), Now: at(t0)}); err != nil {
		t.Errorf("Acquire after the first run released: %v", err)
	}
}

// lostCreate carries out PutParameter, then calls it again as the SDK does
// when the first answer was lost: the retry meets the lock it made.
type lostCreate struct{ *ssm.Client }

func (l lostCreate) PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	if _, err := l.Client.PutParameter(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return l.Client.PutParameter(ctx, in, optFns...)
}

func TestALostCreateAnswerIsOurLock(t *testing.T) {
	_, api := fakeSSM(t)
	ctx := context.Background()
	set, err := Acquire(ctx, lostCreate{api}, []Resource{Cluster("prod")}, Options{Holder: holder("run-1", t0), Now: at(t0)})
	if err != nil {
		t.Fatalf("Acquire whose create's retry met its own lock: %v", err)
	}
	if len(set.Held()) != 1 {
		t.Errorf("held %v, want the cluster's lock", set.Held())
	}
}

func TestStaleLockIsTakenOverWithAWarning(t *testing.T) {
	srv, api := fakeSSM(t)
	ctx := context.Background()
	if _, err := Acquire(ctx, api, []Resource{Cluster("prod")}, Options{Holder: holder("killed-run", t0), Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	later := t0.Add(2 * time.Hour)
	set, err := Acquire(ctx, api, []Resource{Cluster("prod")}, Options{Holder: holder("run-2", later), Now: at(later),
		Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatalf("Acquire of a stale lock: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "run killed-run") || !strings.Contains(warnings[0], "took over") {
		t.Errorf("warnings %q, want one naming the stale holder", warnings)
	}
	v, _ := srv.ParameterValue(Cluster("prod").Parameter())
	if !strings.Contains(v, `"runId":"run-2"`) {
		t.Errorf("lock value %s, want run-2 as holder", v)
	}
	_ = set.Release(ctx)
}

func TestReleaseLeavesALockAnotherRunTookOver(t *testing.T) {
	srv, api := fakeSSM(t)
	ctx := context.Background()
	mine, err := Acquire(ctx, api, []Resource{Cluster("prod")}, Options{Holder: holder("slow-run", t0), Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(2 * time.Hour)
	if _, err := Acquire(ctx, api, []Resource{Cluster("prod")}, Options{Holder: holder("run-2", later), Now: at(later)}); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	mine.o.Warn = func(s string) { warnings = append(warnings, s) }
	if err := mine.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.ParameterValue(Cluster("prod").Parameter()); !ok {
		t.Error("the slow run's release deleted the lock run-2 holds")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "run-2") {
		t.Errorf("warnings %q, want one naming run-2", warnings)
	}
}

func TestLockNamesAreValidParameterNames(t *testing.T) {
	_, api := fakeSSM(t)
	ctx := context.Background()
	other := strings.Replace(secretARN, "team+ci", "team=ci", 1)
	for _, r := range []Resource{Cluster("arn:aws:ecs:us-east-1:123456789012:cluster/prod-1"), Secret(secretARN), Secret(other)} {
		if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(r.Parameter()), Value: aws.String("x"), Type: "String"}); err != nil {
			t.Errorf("%s: %v", r.Parameter(), err)
		}
	}
	if Secret(secretARN).Parameter() == Secret(other).Parameter() {
		t.Error("two secrets that differ in a character a parameter name cannot hold share a lock")
	}
	if got := Cluster("arn:aws:ecs:us-east-1:123456789012:cluster/prod-1").Parameter(); got != Prefix+"cluster/prod-1" {
		t.Errorf("cluster lock %s", got)
	}
}

// meeting lets two runs' n-th reads of a lock happen together: each waits
// for the other's n-th read, or 2 s when the other never makes one.
type meeting struct {
	mu      sync.Mutex
	arrived map[int]int
	met     map[int]chan struct{}
}

func (m *meeting) arrive(n int) {
	m.mu.Lock()
	if m.met[n] == nil {
		m.met[n] = make(chan struct{})
	}
	ch := m.met[n]
	if m.arrived[n]++; m.arrived[n] == 2 {
		close(ch)
	}
	m.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
	}
}

// racer is one run's SSM: its reads of the lock meet the other run's, and
// when lateDelete is set its delete of the lock waits until the lock names
// the other run, the worst order for two runs taking over one stale lock.
type racer struct {
	*ssm.Client
	srv        *awsfake.Server
	lock       string
	m          *meeting
	reads      int
	lateDelete string
}

func (r *racer) GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if aws.ToString(in.Name) == r.lock {
		r.reads++
		r.m.arrive(r.reads)
	}
	return r.Client.GetParameter(ctx, in, optFns...)
}

func (r *racer) DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	for deadline := time.Now().Add(2 * time.Second); r.lateDelete != "" && aws.ToString(in.Name) == r.lock && time.Now().Before(deadline); {
		if v, _ := r.srv.ParameterValue(r.lock); strings.Contains(v, `"runId":"`+r.lateDelete+`"`) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return r.Client.DeleteParameter(ctx, in, optFns...)
}

// Two runs that find the same stale lock at once: exactly one takes it
// over, and the other stops before any change, naming it. (Were each to
// delete what it read as stale and create its own, the later delete would
// remove the earlier run's new lock, and both would hold it.)
func TestTwoRunsTakingOverOneStaleLock(t *testing.T) {
	srv, api := fakeSSM(t)
	ctx := context.Background()
	prod := Cluster("prod")
	if _, err := Acquire(ctx, api, []Resource{prod}, Options{Holder: holder("killed-run", t0), Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(2 * time.Hour)
	m := &meeting{arrived: map[int]int{}, met: map[int]chan struct{}{}}
	runs := []string{"run-a", "run-b"}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, id := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &racer{Client: api, srv: srv, lock: prod.Parameter(), m: m}
			if i == 1 {
				r.lateDelete = runs[0]
			}
			_, errs[i] = Acquire(ctx, r, []Resource{prod}, Options{Holder: holder(id, later), Now: at(later)})
		}()
	}
	wg.Wait()
	v, _ := srv.ParameterValue(prod.Parameter())
	var holders, stopped []string
	for i, err := range errs {
		var held *HeldError
		switch {
		case err == nil:
			holders = append(holders, runs[i])
			if !strings.Contains(v, `"runId":"`+runs[i]+`"`) {
				t.Errorf("%s was told it holds the lock, which names: %s", runs[i], v)
			}
		case errors.As(err, &held) && slices.Contains(runs, held.Holder.RunID) && held.Holder.RunID != runs[i]:
			stopped = append(stopped, runs[i])
		default:
			t.Errorf("%s: %v", runs[i], err)
		}
	}
	if len(holders) != 1 || len(stopped) != 1 {
		t.Fatalf("holders %v, stopped %v: want one of each", holders, stopped)
	}
	if names := srv.ParameterNames(); len(names) != 1 {
		t.Errorf("parameters left: %v, want only the lock (the claim is deleted)", names)
	}
}

// A claim whose run died between the claim and the lock is stale past its
// deadline: the next run deletes it and takes the lock over.
func TestStaleClaimIsDeleted(t *testing.T) {
	srv, api := fakeSSM(t)
	ctx := context.Background()
	prod := Cluster("prod")
	for _, name := range []string{prod.Parameter(), prod.Parameter() + claimSuffix} {
		s := &Set{api: api, o: Options{Holder: holder("killed-run", t0)}}
		if err := s.create(ctx, name, "left by a killed run"); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(2 * time.Hour)
	if _, err := Acquire(ctx, api, []Resource{prod}, Options{Holder: holder("run-2", later), Now: at(later)}); err != nil {
		t.Fatalf("Acquire past a stale claim: %v", err)
	}
	if names := srv.ParameterNames(); len(names) != 1 || names[0] != prod.Parameter() {
		t.Errorf("parameters %v, want the lock alone", names)
	}
	// A live claim stops the run, naming its run.
	s := &Set{api: api, o: Options{Holder: holder("claimant", later)}}
	if err := s.create(ctx, Cluster("dev").Parameter()+claimSuffix, "taking over"); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, api, []Resource{Cluster("dev")}, Options{Holder: holder("killed-run", t0), Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(ctx, api, []Resource{Cluster("dev")}, Options{Holder: holder("run-3", later), Now: at(later)})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.RunID != "claimant" {
		t.Errorf("Acquire while another run claims the stale lock: %v, want it named", err)
	}
}
