package rollout

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ECS throttles UpdateService per account and Region with a token bucket
// that holds 50 calls and refills at 5 a second (ECS API reference,
// "Request throttling"). Deploy stays under it rather than lean on the SDK's
// retries of throttled calls: 300 services are 250 calls past the bucket.
const (
	updateServiceBurst    = 50
	updateServiceInterval = time.Second / 5 // the refill of one call
)

// paceNoticeAfter is how long pacing may make a Deploy take before it says
// so through DeployOptions.Log.
const paceNoticeAfter = 5 * time.Second

// Pacer keeps UpdateService calls under ECS's limit: burst calls at once,
// then one per interval. ECS keeps one bucket per account and Region, so
// every Deploy of a run must draw on the same Pacer: the rollback's
// redeploy finds the bucket as the rollout left it. A Pacer is safe for
// concurrent use.
//
// It is a token bucket kept as the time it is full again (the generic cell
// rate algorithm): full holds when no call is owed, and each call moves it
// on by interval; a call may go once full is at most burst intervals ahead.
type Pacer struct {
	burst    int
	interval time.Duration
	clock    clock

	mu   sync.Mutex
	full time.Time // when the bucket is full again; the zero time: full now
}

// clock is the Pacer's time, which the package's tests replace.
type clock struct {
	now func() time.Time
	// sleep returns after d, or with ctx's error once ctx is done.
	sleep func(ctx context.Context, d time.Duration) error
}

var realClock = clock{now: time.Now, sleep: sleepContext}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewPacer returns a Pacer for ECS's UpdateService limit, its bucket full.
// A run makes one and gives it to each of its Deploy calls.
func NewPacer() *Pacer {
	return newPacer(updateServiceBurst, updateServiceInterval, realClock)
}

func newPacer(burst int, interval time.Duration, c clock) *Pacer {
	return &Pacer{burst: burst, interval: interval, clock: c}
}

// processPacer paces the Deploy calls that name no Pacer: all of them in the
// process draw on it, so that a caller that forgets to pass its own still
// shares the bucket between its calls rather than start each with a full one.
var processPacer atomic.Pointer[Pacer]

func init() { processPacer.Store(NewPacer()) }

// wait returns when the next call may go, or with ctx's error when ctx is
// done first; the call it waited for then gives its turn back.
func (p *Pacer) wait(ctx context.Context) error {
	d := p.reserve()
	if d <= 0 {
		return nil
	}
	if err := p.clock.sleep(ctx, d); err != nil {
		p.giveBack()
		return err
	}
	return nil
}

// reserve takes the next call's turn and returns how long until it comes.
func (p *Pacer) reserve() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.now()
	p.full = later(p.full, now).Add(p.interval)
	return max(0, p.full.Add(-time.Duration(p.burst)*p.interval).Sub(now))
}

// giveBack returns the turn of a call that was not made.
func (p *Pacer) giveBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.full = p.full.Add(-p.interval)
}

// pacing is how long the pacing alone makes n calls take from now: the wait
// before the last of them. The calls' own time comes on top.
func (p *Pacer) pacing(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.now()
	last := later(p.full, now).Add(time.Duration(n-p.burst) * p.interval)
	return max(0, last.Sub(now))
}

// notice says how long pacing makes n calls take, when that is more than
// paceNoticeAfter; "" otherwise.
func (p *Pacer) notice(n int) string {
	d := p.pacing(n)
	if d <= paceNoticeAfter {
		return ""
	}
	perSecond := strconv.FormatFloat(float64(time.Second)/float64(p.interval), 'g', 3, 64)
	return fmt.Sprintf("UpdateService is paced to stay under ECS's request limit (%d at once, then %s per second): deploying %d services takes at least %s",
		p.burst, perSecond, n, d.Truncate(time.Second))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
