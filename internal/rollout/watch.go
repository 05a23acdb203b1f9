package rollout

import (
	"context"
	"fmt"
	"time"
)

// DefaultPollInterval is used when WatchOptions.PollInterval is not set; it is
// the poll-interval input's default.
const DefaultPollInterval = 5 * time.Second

// Watch follows every deployment together until each is done, one fails
// (fail-fast), the timeout passes or ctx is cancelled. A zero Timeout waits
// as long as ctx allows; a zero PollInterval is DefaultPollInterval.
//
// A failed, timed-out or abandoned rollout is a verdict, not an error: it is
// in the Result's states and reasons, and the error is nil. The error is set
// when the watch could not go on: an access denial (naming the IAM action),
// credentials that expired (no retry renews them), or ctx cancelled (it
// wraps ctx.Err(), and the Result holds each service as last seen, the
// unfinished ones StateCancelled).
func Watch(ctx context.Context, api ECS, deps []Deployment, opts WatchOptions) (Result, error) {
	return newWatcher(api, deps, opts, hooks{}).run(ctx)
}

// hooks let the package's tests see each poll.
type hooks struct {
	afterPoll func(poll int)
}

type watcher struct {
	api      ECS
	opts     WatchOptions
	hooks    hooks
	interval time.Duration
	trackers []*tracker // in the order of the deployments
	failed   []FailedTask
	failedAt map[string]int // index in failed, by task ARN
	polls    int
}

func newWatcher(api ECS, deps []Deployment, opts WatchOptions, h hooks) *watcher {
	w := &watcher{api: api, opts: opts, hooks: h, interval: opts.PollInterval, failedAt: map[string]int{}}
	if w.interval <= 0 {
		w.interval = DefaultPollInterval
	}
	for _, d := range deps {
		w.trackers = append(w.trackers, newTracker(d))
	}
	return w
}

func (w *watcher) run(ctx context.Context) (Result, error) {
	if len(w.trackers) == 0 {
		return w.result(), nil
	}
	wctx, cancel := withTimeout(ctx, w.opts.Timeout)
	defer cancel()
	timer := time.NewTimer(0) // the first poll right away
	defer timer.Stop()
	for {
		select {
		case <-wctx.Done():
			return w.halt(ctx)
		case <-timer.C:
		}
		start := time.Now()
		before := w.lastErrs()
		err := w.poll(wctx)
		if wctx.Err() != nil {
			// A poll cut short by the deadline or a cancel failed because
			// of it: the last error worth reporting is the one before.
			w.restoreLastErrs(before)
			return w.halt(ctx)
		}
		if err != nil {
			w.abandon("the watch stopped on an error: " + err.Error())
			return w.result(), fmt.Errorf("watch deployments: %w", err)
		}
		if w.over() {
			w.abandon("not waited for: the watch stopped at the first failure (fail-fast)")
			return w.result(), nil
		}
		if w.opts.Once {
			w.abandon("not waited for (wait: false)")
			return w.result(), nil
		}
		w.notify()
		if w.hooks.afterPoll != nil {
			w.hooks.afterPoll(w.polls)
		}
		timer.Reset(time.Until(nextPoll(start, time.Now(), w.interval)))
	}
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// nextPoll is when to start the poll after one that started at start: on the
// grid start + k·interval, so that polls do not drift, and at least a quarter
// interval from now, so that a slow poll is followed by a pause rather than by
// another poll at once.
func nextPoll(start, now time.Time, interval time.Duration) time.Time {
	next := start.Add(interval)
	for next.Sub(now) < interval/4 {
		next = next.Add(interval)
	}
	return next
}

func (w *watcher) active() []*tracker {
	var out []*tracker
	for _, t := range w.trackers {
		if !t.terminal() {
			out = append(out, t)
		}
	}
	return out
}

// over reports whether the watch is done: every deployment has a verdict, or
// one failed and fail-fast is on.
func (w *watcher) over() bool {
	all := true
	for _, t := range w.trackers {
		if w.opts.FailFast && t.res.State == StateFailed {
			return true
		}
		all = all && t.terminal()
	}
	return all
}

// halt ends a watch whose time ran out or whose ctx was cancelled.
func (w *watcher) halt(ctx context.Context) (Result, error) {
	if ctx.Err() != nil {
		for _, t := range w.trackers {
			t.stop(StateCancelled, "cancelled")
		}
		w.notify()
		return w.result(), fmt.Errorf("watch deployments: %w", ctx.Err())
	}
	for _, t := range w.trackers {
		t.stop(StateTimedOut, fmt.Sprintf("timed out after %s", w.opts.Timeout))
	}
	w.notify()
	return w.result(), nil
}

func (w *watcher) lastErrs() []string {
	out := make([]string, len(w.trackers))
	for i, t := range w.trackers {
		out[i] = t.lastErr
	}
	return out
}

// restoreLastErrs puts back the errors seen before an interrupted poll; a
// tracker that had none keeps what the interrupted poll saw, which still
// names the call that was failing.
func (w *watcher) restoreLastErrs(errs []string) {
	for i, t := range w.trackers {
		if errs[i] != "" {
			t.lastErr = errs[i]
		}
	}
}

// abandon explains the deployments left unfinished when the watch ends early.
func (w *watcher) abandon(why string) {
	for _, t := range w.trackers {
		if !t.terminal() {
			t.res.Reason = why
		}
	}
	w.notify()
}

// maxReportedPerService bounds the failed tasks listed for one service: a
// deployment left failing for the whole timeout starts hundreds of tasks,
// and the first ones say all there is to say. ServiceResult.FailedTasks
// still counts them all.
const maxReportedPerService = 50

// record takes in a described task: its tracker's count, and the failed-task
// list, one entry per task ARN in the order found, updated as the task moves on.
func (w *watcher) record(t *tracker, n taskNote) {
	t.record(n)
	if n.failed == nil {
		return
	}
	n.failed.Service = t.res.Service
	if i, ok := w.failedAt[n.arn]; ok {
		w.failed[i] = *n.failed
		return
	}
	if t.reported >= maxReportedPerService {
		return
	}
	t.reported++
	w.failedAt[n.arn] = len(w.failed)
	w.failed = append(w.failed, *n.failed)
}

// notify calls OnChange for each service whose visible state moved.
func (w *watcher) notify() {
	now := time.Now()
	for _, t := range w.trackers {
		if t.changed() && w.opts.OnChange != nil {
			w.opts.OnChange(t.result(now))
		}
	}
}

func (w *watcher) result() Result {
	now := time.Now()
	r := Result{Services: make([]ServiceResult, len(w.trackers)), Polls: w.polls}
	for i, t := range w.trackers {
		r.Services[i] = t.result(now)
	}
	r.FailedTasks = append([]FailedTask(nil), w.failed...)
	return r
}

// Succeeded reports whether every service rolled out on the new credentials.
func (r Result) Succeeded() bool {
	for _, s := range r.Services {
		if s.State != StateSucceeded {
			return false
		}
	}
	return true
}
