package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// gatedECS answers DescribeTaskDefinition through answer, counting the calls
// that started and those in flight. Only DescribeTaskDefinition is
// implemented: the embedded nil ECS panics on any other call.
type gatedECS struct {
	ECS
	answer func(ctx context.Context, arn string) error

	mu                         sync.Mutex
	started, inFlight, maxSeen int
	cancelled                  int // calls that returned because their ctx was done
}

func newGatedECS(answer func(ctx context.Context, arn string) error) *gatedECS {
	return &gatedECS{answer: answer}
}

func (f *gatedECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.mu.Lock()
	f.started++
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if err := f.answer(ctx, aws.ToString(in.TaskDefinition)); err != nil {
		if ctx.Err() != nil {
			f.mu.Lock()
			f.cancelled++
			f.mu.Unlock()
		}
		return nil, err
	}
	image := "registry.example.com/" + aws.ToString(in.TaskDefinition)
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}},
	}}, nil
}

func (f *gatedECS) counts() (started, inFlight, maxInFlight, cancelled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.inFlight, f.maxSeen, f.cancelled
}

// reachInFlight waits until n calls are in flight at once, and reports
// whether they were within the (scaled) time allowed.
func (f *gatedECS) reachInFlight(n int, within time.Duration) bool {
	deadline := time.Now().Add(testenv.Scale(within))
	for time.Now().Before(deadline) {
		if _, inFlight, _, _ := f.counts(); inFlight >= n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func (f *gatedECS) waitInFlight(t *testing.T, n int) {
	t.Helper()
	if !f.reachInFlight(n, 10*time.Second) {
		_, inFlight, _, _ := f.counts()
		t.Fatalf("%d calls in flight, waited for %d", inFlight, n)
	}
}

// servicesWithTaskDefinitions describes n services, each with its own task
// definition td-0, td-1, ….
func servicesWithTaskDefinitions(n int) []ecstypes.Service {
	out := make([]ecstypes.Service, n)
	for i := range out {
		out[i] = ecstypes.Service{ServiceName: aws.String(fmt.Sprintf("svc-%d", i)), TaskDefinition: aws.String(fmt.Sprintf("td-%d", i))}
	}
	return out
}

// taskDefinitionsAsync runs d.taskDefinitions in the background.
func taskDefinitionsAsync(ctx context.Context, d discovery, described []ecstypes.Service) <-chan error {
	done := make(chan error, 1)
	go func() {
		defs, err := d.taskDefinitions(ctx, described)
		if err == nil && len(defs) != len(described) {
			err = fmt.Errorf("test: %d task definitions read of %d", len(defs), len(described))
		}
		done <- err
	}()
	return done
}

func waitDone(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(testenv.Scale(within)):
		t.Fatalf("taskDefinitions did not return within %s", testenv.Scale(within))
		return nil
	}
}

func TestTaskDefinitionReadsAreBounded(t *testing.T) {
	release := make(chan struct{})
	api := newGatedECS(func(ctx context.Context, _ string) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	const n = 3*taskDefinitionReaders + 2
	done := taskDefinitionsAsync(context.Background(), discovery{api: api, consumers: secretConsumers{}}, servicesWithTaskDefinitions(n))
	api.waitInFlight(t, taskDefinitionReaders)
	time.Sleep(50 * time.Millisecond) // room for a read beyond the bound to start
	close(release)
	if err := waitDone(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	started, _, maxInFlight, _ := api.counts()
	if maxInFlight != taskDefinitionReaders {
		t.Errorf("at most %d reads in flight, want the bound, %d", maxInFlight, taskDefinitionReaders)
	}
	if started != n {
		t.Errorf("%d reads, want one for each of the %d task definitions", started, n)
	}
}

// TestTaskDefinitionReadFailureCancelsTheOthers: the plan stops on the first
// failed read, so the reads in flight are cancelled and no more start.
func TestTaskDefinitionReadFailureCancelsTheOthers(t *testing.T) {
	broken := errors.New("ClientException: unable to describe task definition td-3")
	var api *gatedECS
	api = newGatedECS(func(ctx context.Context, arn string) error {
		if arn == "td-3" {
			api.reachInFlight(taskDefinitionReaders, 10*time.Second) // fail with the others in flight
			return broken
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return nil
		}
	})
	done := taskDefinitionsAsync(context.Background(), discovery{api: api, consumers: secretConsumers{}}, servicesWithTaskDefinitions(3*taskDefinitionReaders))
	err := waitDone(t, done, 10*time.Second)
	if !errors.Is(err, broken) {
		t.Fatalf("error %v, want the failed read's", err)
	}
	if want := "ecs:DescribeTaskDefinition on task definition td-3: " + broken.Error(); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	started, _, _, cancelled := api.counts()
	if started != taskDefinitionReaders {
		t.Errorf("%d reads started, want the %d in flight when one failed and no more", started, taskDefinitionReaders)
	}
	if cancelled != taskDefinitionReaders-1 {
		t.Errorf("%d reads were cancelled, want the other %d in flight", cancelled, taskDefinitionReaders-1)
	}
}

// TestTaskDefinitionReadsStopOnCancel: reads waiting for a slot do not start
// once ctx is cancelled, and the error is ctx's.
func TestTaskDefinitionReadsStopOnCancel(t *testing.T) {
	api := newGatedECS(func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := taskDefinitionsAsync(ctx, discovery{api: api, consumers: secretConsumers{}}, servicesWithTaskDefinitions(3*taskDefinitionReaders))
	api.waitInFlight(t, taskDefinitionReaders)
	cancel()
	err := waitDone(t, done, 2*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if started, _, _, _ := api.counts(); started != taskDefinitionReaders {
		t.Errorf("%d reads started, want the %d in flight when ctx was cancelled and no more", started, taskDefinitionReaders)
	}
}

func TestTaskDefinitionReadsAfterCancelStartNone(t *testing.T) {
	api := newGatedECS(func(context.Context, string) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := waitDone(t, taskDefinitionsAsync(ctx, discovery{api: api, consumers: secretConsumers{}}, servicesWithTaskDefinitions(3)), 2*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if started, _, _, _ := api.counts(); started != 0 {
		t.Errorf("%d reads started with ctx already cancelled", started)
	}
}
