package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// The fleet of BenchmarkECSConfig200Instances and how fast its fake runs.
const (
	benchInstances = 200
	benchServices  = 50
	// benchTick is each step of a task's life and of an agent's restart (an
	// agent is away for 3 ticks after its command ended).
	benchTick = 2 * time.Second
	// benchPoll is the run's poll-interval, for SSM, the agents and the watch.
	benchPoll = 250 * time.Millisecond
	// benchBash bounds the bash processes the fake's SSM runs at once.
	benchBash = 8
)

// BenchmarkECSConfig200Instances runs a whole ecs-config rotation in-process,
// as the tests do: 200 container instances (AL1, AL2 and AL2023 in turn)
// whose ecs.config holds the old password, and 50 services that pull from
// the registry without repositoryCredentials. The fake's SSM runs the real
// instance script with bash for each instance, twice (preflight, apply).
//
//	go test -run '^$' -bench ECSConfig -benchtime 1x ./cmd/ecs-registry-rotate/
//
// It reports the wall time, split into the plan, the preflight, the apply
// (batches and agent waits), and the deploy and watch (-s metrics, from the
// fake's call log); the runner's AWS calls by operation (instances' own
// GetParameter calls as instance:GetParameter); and the most agents
// sampled away at one instant, which must not exceed a quarter of the fleet.
func BenchmarkECSConfig200Instances(b *testing.B) {
	calls := map[string]int{}
	phases := map[string]time.Duration{}
	var wall time.Duration
	peak := 0
	b.StopTimer()
	for range b.N {
		fake := newECSBenchFleet(b)
		getenv, outputs := benchEnv(b, fake)
		sampler := sampleDisconnected(fake, "prod", benchTick/10)
		var stdout, stderr bytes.Buffer
		start := time.Now()
		b.StartTimer()
		code := run(context.Background(), nil, getenv, streams{out: &stdout, err: &stderr},
			awsclient.Options{Extra: fake.LoadOptions(), MaxBackoff: 20 * time.Millisecond})
		b.StopTimer()
		end := time.Now()
		away, samples := sampler()
		out := parseOutputs(b, readFile(outputs))
		if code != 0 || out["result"] != "success" || stderr.Len() > 0 {
			b.Fatalf("exit %d, result %q; want 0 success\nstderr:\n%s\nstdout:\n%s", code, out["result"], stderr.String(), tail(stdout.String(), 6000))
		}
		checkBenchFleet(b, fake, out["instances"], stdout.String())
		if away > benchInstances/4 {
			b.Fatalf("%d agents were away at once, more than a quarter of %d instances", away, benchInstances)
		}
		if away == 0 {
			b.Fatalf("no agent was ever seen away in %d samples: the sampler missed the restarts", samples)
		}
		peak = max(peak, away)
		wall += end.Sub(start)
		log := fake.Calls()
		for _, c := range log {
			if c.At.Before(start) {
				continue
			}
			op := c.Operation
			if strings.HasPrefix(c.AccessKeyID, "ASIA") {
				op = "instance:" + op // signed with an instance role's credentials
			}
			calls[op]++
		}
		for name, d := range benchPhases(log, start, end) {
			phases[name] += d
		}
		fake.Close()
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "wall-s")
	for _, name := range []string{"plan", "preflight", "apply", "roll"} {
		b.ReportMetric(phases[name].Seconds()/n, name+"-s")
	}
	b.ReportMetric(float64(peak), "peak-agents-away")
	total := 0
	for op, k := range calls {
		b.ReportMetric(float64(k)/n, op)
		total += k
	}
	b.ReportMetric(float64(total)/n, "calls")
}

// newECSBenchFleet is cluster prod: benchInstances instances whose
// ecs.config holds oldPassword and benchServices services of 2 tasks, each
// with its own task definition and one of 5 images from the registry. The
// registry wants newPassword.
func newECSBenchFleet(b *testing.B) *awsfake.Server {
	b.Helper()
	fake, err := awsfake.Start(awsfake.Options{Tick: benchTick, CommandConcurrency: benchBash})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close) // Close twice is fine: the loop closes each fleet it ran
	fake.CreateCluster("prod")
	fake.SetRegistryCredentials(fake.RegistryHost(), user, oldPassword)
	oses := []awsfake.OS{awsfake.AL1, awsfake.AL2, awsfake.AL2023}
	for i := range benchInstances {
		fake.AddContainerInstance(awsfake.Instance{Cluster: "prod", OS: oses[i%len(oses)],
			ECSConfig: ecsConfigText(fake.RegistryHost(), oldPassword)})
	}
	var images []string
	for i := range 5 {
		images = append(images, fake.PushImage(fmt.Sprintf("shop/app-%d:1.0.%d", i, i)))
	}
	for i := range benchServices {
		name := fmt.Sprintf("svc-%02d", i)
		td := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: name, Containers: []awsfake.Container{
			{Name: "app", Image: images[i%len(images)]}, {Name: "sidecar", Image: "public.ecr.aws/nginx/nginx:1.27"}}})
		fake.CreateService(awsfake.Service{Cluster: "prod", Name: name, TaskDefinition: td, DesiredCount: 2})
	}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, newPassword)
	return fake
}

// benchEnv is the environment of an ecs-config rotation onto newPassword
// under Actions, and the GITHUB_OUTPUT file it writes.
func benchEnv(b *testing.B, fake *awsfake.Server) (getenv func(string) string, outputs string) {
	dir := b.TempDir()
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	for k, v := range map[string]string{
		"auth-mode": "ecs-config", "cluster": "prod", "username": user, "password": newPassword,
		"registry": fake.RegistryHost(), "poll-interval": benchPoll.String(), "timeout": "5m",
	} {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	return func(k string) string { return env[k] }, env["GITHUB_OUTPUT"]
}

// sampleDisconnected samples, every interval, how many of the cluster's
// agents are disconnected, until the returned func is called: that returns
// the most seen at one instant and the number of samples.
func sampleDisconnected(fake *awsfake.Server, cluster string, interval time.Duration) func() (peak, samples int) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var top, n int
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			top = max(top, len(fake.DisconnectedAgents(cluster)))
			n++
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (int, int) {
		close(done)
		wg.Wait()
		return top, n
	}
}

// checkBenchFleet: every instance is updated, its agent back and loaded
// with the new password, and the password is in no line but the mask.
func checkBenchFleet(b *testing.B, fake *awsfake.Server, instancesOutput, stdout string) {
	b.Helper()
	var insts []instanceOutput
	if err := json.Unmarshal([]byte(instancesOutput), &insts); err != nil || len(insts) != benchInstances {
		b.Fatalf("instances output: %d entries (%v), want %d", len(insts), err, benchInstances)
	}
	for _, in := range insts {
		agent, _ := fake.Agent(in.EC2InstanceID)
		if in.Status != "updated" || !in.AgentReconnected || agent.Restarts != 1 ||
			agent.Auth[fake.RegistryHost()] != user+":"+newPassword {
			b.Fatalf("instance %+v: agent restarted %d times, loaded the new password: %v", in, agent.Restarts,
				agent.Auth[fake.RegistryHost()] == user+":"+newPassword)
		}
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, newPassword) && line != "::add-mask::"+newPassword {
			b.Fatalf("password printed in: %q", line)
		}
	}
}

// benchPhases splits [start, end] at the run's calls: the plan and verify
// until the first preflight SendCommand, the preflight until the first apply
// SendCommand, the apply until the first UpdateService, then the deploy and
// watch.
func benchPhases(log []awsfake.Call, start, end time.Time) map[string]time.Duration {
	var preflight, apply, roll time.Time
	for _, c := range log {
		if c.At.Before(start) || c.ErrorCode != "" {
			continue
		}
		switch c.Operation {
		case "SendCommand":
			var in struct{ Comment string }
			_ = json.Unmarshal(c.Input, &in)
			switch {
			case strings.Contains(in.Comment, "preflight") && preflight.IsZero():
				preflight = c.At
			case strings.Contains(in.Comment, "apply") && apply.IsZero():
				apply = c.At
			}
		case "UpdateService":
			if roll.IsZero() {
				roll = c.At
			}
		}
	}
	if preflight.IsZero() || apply.IsZero() || roll.IsZero() {
		return nil
	}
	return map[string]time.Duration{
		"plan":      preflight.Sub(start),
		"preflight": apply.Sub(preflight),
		"apply":     roll.Sub(apply),
		"roll":      end.Sub(roll),
	}
}
