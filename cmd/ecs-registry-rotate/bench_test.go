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
		// The binary's floor for poll-interval is 1s; the CLI prints its
		// outputs as JSON on stdout.
		cmd, out := w.command(b, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
			"--registry", w.fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "5m")
		cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword)
		b.StartTimer()
		err := cmd.Run()
		b.StopTimer()
		if err != nil || !strings.Contains(out.String(), `"result": "success"`) {
			b.Fatalf("run: %v\n%s", err, tail(out.String(), 3000))
		}
		rusage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		b.ReportMetric(float64(rusage.Maxrss)/1024, "maxrss-MiB") // Linux reports KiB
		b.ReportMetric(float64(len(w.fake.Calls())), "calls")
		b.ReportMetric(float64(w.fake.CallCount("DescribeServices")), "describeServices")
	}
}

func tail(s string, n int) string {
	return s[max(0, len(s)-n):]
}
