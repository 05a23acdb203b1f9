package rollout

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// API limits of the calls the watch batches.
const (
	describeServicesBatch = 10  // DescribeServices: services a call
	describeTasksBatch    = 100 // DescribeTasks: tasks a call
	listTasksPage         = 100 // ListTasks: maxResults
)

// callsInFlight bounds the calls of one poll that run at once: 500 services
// are 50 DescribeServices a poll, too slow one after the other for a 5 s poll
// interval, while a handful at a time stays well inside ECS's request rates.
const callsInFlight = 4

// forEach runs fn(0..n-1) with at most callsInFlight at once and returns when
// all have returned, so that a poll never leaves a goroutine behind. Each fn
// records its own outcome: one failing does not stop the others. Once ctx is
// done no more fn start, and forEach returns ctx's error when some did not
// run (their results are not set).
func forEach(ctx context.Context, n int, fn func(i int)) error {
	var (
		g       errgroup.Group
		skipped atomic.Bool
	)
	g.SetLimit(callsInFlight)
	for i := range n {
		if ctx.Err() != nil {
			skipped.Store(true)
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				skipped.Store(true) // cancelled while it waited for a slot
				return nil
			}
			fn(i)
			return nil
		})
	}
	_ = g.Wait() // no fn returns an error
	if skipped.Load() {
		return ctx.Err()
	}
	return nil
}

// batches groups items by cluster, then cuts each group to size.
func batches[T any](items []T, size int, cluster func(T) string) [][]T {
	var out [][]T
	for _, g := range batch.GroupBy(items, cluster) {
		out = append(out, batch.Chunks(g, size)...)
	}
	return out
}
