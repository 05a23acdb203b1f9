package rollout

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// BenchmarkDetectFailure measures how long after the first task failed to
// pull Watch returns, with the poll-interval a user would set (1 s): the
// bound is one interval plus one round of calls.
func BenchmarkDetectFailure(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, tick)
		w.breakCredentials()
		deps := w.deploy(b, w.services(b, 5, awsfake.Service{}))
		b.StartTimer()
		res, err := Watch(context.Background(), w.api, deps, WatchOptions{Timeout: time.Minute, PollInterval: time.Second, FailFast: true})
		returned := time.Now()
		if err != nil || res.Succeeded() {
			b.Fatalf("result %+v, %v", res, err)
		}
		total += returned.Sub(w.s.FirstTaskFailureAt())
		w.close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "detect-ms")
}

// BenchmarkCost60Services counts the ECS calls of watching 60 services
// through a deployment that completes, polled at each step of their tasks
// (100 ms ticks and polls).
func BenchmarkCost60Services(b *testing.B) {
	var calls, ds, polls int
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, 100*time.Millisecond)
		deps := w.deploy(b, w.services(b, 60, awsfake.Service{}))
		api := newCounting(w.api)
		b.StartTimer()
		res, err := Watch(context.Background(), api, deps, WatchOptions{Timeout: time.Minute, PollInterval: 100 * time.Millisecond, FailFast: true})
		if err != nil || !res.Succeeded() {
			b.Fatalf("result %+v, %v", res, err)
		}
		for op, n := range api.snapshot() {
			calls += n
			if op == "DescribeServices" {
				ds += n
			}
		}
		polls += res.Polls
		w.close()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(ds)/float64(polls), "describeServices/poll")
	b.ReportMetric(float64(polls)/float64(b.N), "polls/op")
}

// BenchmarkHeap500Services samples the heap while 500 services roll out.
// The fake runs in the same process, so its world is in the figure too;
// heap-delta-MiB is the growth over the heap just before the watch.
func BenchmarkHeap500Services(b *testing.B) {
	var peak, delta float64
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, 50*time.Millisecond)
		deps := w.deploy(b, w.services(b, 500, awsfake.Service{}))
		runtime.GC()
		base := heapInuse()
		stop := sampleHeap()
		b.StartTimer()
		res, err := Watch(context.Background(), w.api, deps, WatchOptions{Timeout: time.Minute, PollInterval: 200 * time.Millisecond, FailFast: true})
		top := stop()
		if err != nil || !res.Succeeded() {
			b.Fatalf("result %+v, %v", res.Services[0], err)
		}
		peak, delta = max(peak, mib(top)), max(delta, mib(top)-mib(base))
		w.close()
	}
	b.ReportMetric(peak, "heap-MiB")
	b.ReportMetric(delta, "heap-delta-MiB")
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// sampleHeap samples HeapInuse every 10 ms until the returned func is
// called; that returns the peak.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var top uint64
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			top = max(top, heapInuse())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return top
	}
}
