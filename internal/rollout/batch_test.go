package rollout

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// calls counts the fn calls of a forEach: started, in flight, and the most
// in flight at once, and which indexes ran.
type calls struct {
	mu                         sync.Mutex
	started, inFlight, maxSeen int
	ran                        map[int]int
}

func (c *calls) enter(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ran == nil {
		c.ran = map[int]int{}
	}
	c.started++
	c.inFlight++
	c.maxSeen = max(c.maxSeen, c.inFlight)
	c.ran[i]++
}

func (c *calls) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
}

func (c *calls) snapshot() (started, inFlight, maxSeen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started, c.inFlight, c.maxSeen
}

func (c *calls) waitInFlight(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(testenv.Scale(10 * time.Second))
	for {
		_, inFlight, _ := c.snapshot()
		if inFlight >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls in flight, waited for %d", inFlight, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func forEachAsync(ctx context.Context, n int, fn func(i int)) <-chan error {
	done := make(chan error, 1)
	go func() { done <- forEach(ctx, n, fn) }()
	return done
}

func waitForEach(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(testenv.Scale(within)):
		t.Fatalf("forEach did not return within %s", testenv.Scale(within))
		return nil
	}
}

func TestForEachBoundsCallsInFlight(t *testing.T) {
	var c calls
	release := make(chan struct{})
	const n = 5*callsInFlight + 1
	done := forEachAsync(context.Background(), n, func(i int) {
		c.enter(i)
		defer c.leave()
		<-release
	})
	c.waitInFlight(t, callsInFlight)
	time.Sleep(50 * time.Millisecond) // room for a call beyond the bound to start
	close(release)
	if err := waitForEach(t, done, 10*time.Second); err != nil {
		t.Fatalf("forEach: %v", err)
	}
	started, _, maxSeen := c.snapshot()
	if maxSeen != callsInFlight {
		t.Errorf("at most %d calls in flight, want the bound, %d", maxSeen, callsInFlight)
	}
	if started != n || len(c.ran) != n {
		t.Errorf("%d calls for %d indexes, want each of the %d once", started, len(c.ran), n)
	}
}

// TestForEachStopsOnCancel: calls waiting for a slot do not start once ctx
// is cancelled, forEach returns when those in flight have, with ctx's error.
func TestForEachStopsOnCancel(t *testing.T) {
	var c calls
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := forEachAsync(ctx, 5*callsInFlight, func(i int) {
		c.enter(i)
		defer c.leave()
		<-ctx.Done()
	})
	c.waitInFlight(t, callsInFlight)
	cancel()
	if err := waitForEach(t, done, 2*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("forEach returned %v, want context.Canceled", err)
	}
	if started, inFlight, _ := c.snapshot(); started != callsInFlight || inFlight != 0 {
		t.Errorf("%d calls started, %d still in flight; want the %d in flight at the cancel, all returned", started, inFlight, callsInFlight)
	}
}

func TestForEachAfterCancelStartsNothing(t *testing.T) {
	var c calls
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := waitForEach(t, forEachAsync(ctx, 3, func(i int) { c.enter(i); c.leave() }), 2*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("forEach returned %v, want context.Canceled", err)
	}
	if started, _, _ := c.snapshot(); started != 0 {
		t.Errorf("%d calls started with ctx already cancelled", started)
	}
}

// TestForEachErrorMeansSomeDidNotRun: a cancel after every call started is
// no error of forEach's; the calls record their own outcome.
func TestForEachErrorMeansSomeDidNotRun(t *testing.T) {
	var c calls
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := forEachAsync(ctx, callsInFlight, func(i int) {
		c.enter(i)
		defer c.leave()
		<-ctx.Done()
	})
	c.waitInFlight(t, callsInFlight)
	cancel()
	if err := waitForEach(t, done, 2*time.Second); err != nil {
		t.Fatalf("forEach returned %v with every call started, want nil", err)
	}
}
