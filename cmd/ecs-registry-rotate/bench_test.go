package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// BenchmarkBinary500Services runs the real binary over 500 services that all
// pull with the secret and reports its peak resident memory: the watch must
// stay under 50 MiB however large the cluster.
//
//	go test -run '^$' -bench Binary500 -benchtime 1x ./cmd/ecs-registry-rotate/
func BenchmarkBinary500Services(b *testing.B) {
	services := make([]awsfake.Service, 500)
	for i := range services {
		services[i] = awsfake.Service{Name: fmt.Sprintf("svc-%03d", i), DesiredCount: 1}
	}
	b.StopTimer()
	for range b.N {
		w := newWorldTick(b, 500*time.Millisecond, services...)
		runBinary(b, w, "--cluster", "prod", "--max-services", "1000", "--timeout", "5m")
		b.ReportMetric(float64(len(w.fake.Calls())), "calls")
		b.ReportMetric(float64(w.fake.CallCount("DescribeServices")), "describeServices")
	}
}

// runBinary runs the real binary, timed, on the world's secret with the
// given flags, requires result success and reports its peak resident memory.
// The binary's floor for poll-interval is 1s; the CLI prints its outputs as
// JSON on stdout.
func runBinary(b *testing.B, w *world, flags ...string) {
	b.Helper()
	args := append([]string{"--secret-id", "prod/registry", "--username", user, "--registry", w.fake.RegistryHost(), "--poll-interval", "1s"}, flags...)
	cmd, out := w.command(b, args...)
	cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword)
	b.StartTimer()
	err := cmd.Run()
	b.StopTimer()
	if err != nil || !strings.Contains(out.String(), `"result": "success"`) {
		b.Fatalf("run: %v\n%s", err, tail(out.String(), 3000))
	}
	rusage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	b.ReportMetric(float64(rusage.Maxrss)/1024, "maxrss-MiB") // Linux reports KiB
}

func tail(s string, n int) string {
	return s[max(0, len(s)-n):]
}

// BenchmarkBinary20Clusters runs the real binary with cluster "*" over 20
// clusters of 50 services each, half of which pull with the secret (and the
// world's own cluster prod, with two), under
// ECS's UpdateService limit (burst 50, 5 a second). It reports the calls by
// operation, the peak resident memory, the pacing's throttled calls and
// the DescribeServices calls of each poll, which must be the sum over the
// clusters of ceil(consumers/10): 20 × 3 + 1 = 61.
//
//	go test -run '^$' -bench Binary20Clusters -benchtime 1x ./cmd/ecs-registry-rotate/
func BenchmarkBinary20Clusters(b *testing.B) {
	const clusters, perCluster = 20, 50
	b.StopTimer()
	for range b.N {
		w := newWorldOpts(b, awsfake.Options{Tick: 500 * time.Millisecond, ThrottleUpdateService: true})
		public := w.fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "public", Containers: []awsfake.Container{{Name: "nginx", Image: "nginx:1.27"}}})
		consumers := 0
		for c := range clusters {
			cluster := fmt.Sprintf("team-%02d", c)
			w.fake.CreateCluster(cluster)
			for s := range perCluster {
				svc := awsfake.Service{Cluster: cluster, Name: fmt.Sprintf("svc-%02d", s), TaskDefinition: w.webTD, DesiredCount: 1}
				if s%2 == 1 {
					svc.TaskDefinition = public
				} else {
					consumers++
				}
				w.fake.CreateService(svc)
			}
		}
		consumers += 2 // the world's own cluster prod: web and worker pull with the secret, proxy does not
		w.fake.ResetCalls()
		runBinary(b, w, "--cluster", "*", "--max-services", "1000", "--timeout", "10m")
		if n := w.fake.CallCount("UpdateService") - w.fake.Throttled("UpdateService"); n != consumers {
			b.Errorf("%d services rolled, want the %d consumers", n, consumers)
		}
		polls := describePolls(w.fake.Calls())
		want := clusters*((perCluster/2+9)/10) + 1 // and prod's two consumers: one call
		for i, n := range polls {
			if n > want || i == 0 && n != want {
				b.Errorf("poll %d made %d DescribeServices calls, want %d (the sum over clusters of ceil(consumers/10))", i+1, n, want)
			}
		}
		b.ReportMetric(float64(len(polls)), "polls")
		b.ReportMetric(float64(w.fake.Throttled("UpdateService")), "throttled")
		for op, n := range w.fake.CallCounts() {
			b.ReportMetric(float64(n), op)
		}
		if len(polls) > 0 {
			b.ReportMetric(float64(polls[0]), "describeServices/poll")
		}
	}
}

// describePolls counts the DescribeServices calls of each poll of the
// watch: those after the last UpdateService, in bursts that gaps of more
// than half the 1 s poll interval separate.
func describePolls(calls []awsfake.Call) []int {
	last := 0
	for i, c := range calls {
		if c.Operation == "UpdateService" {
			last = i
		}
	}
	var polls []int
	var prev time.Time
	for _, c := range calls[last+1:] {
		if c.Operation != "DescribeServices" {
			continue
		}
		if len(polls) == 0 || c.At.Sub(prev) > 500*time.Millisecond {
			polls = append(polls, 0)
		}
		polls[len(polls)-1]++
		prev = c.At
	}
	return polls
}
