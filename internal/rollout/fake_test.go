package rollout

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// world is an awsfake with a cluster, a registry secret and an image, and an
// SDK client with the retries a long job uses.
type world struct {
	s      *awsfake.Server
	api    *ecs.Client
	secret string // ARN
	image  string
	close  func()
}

const registryPassword = "new-password"

func newWorld(tb testing.TB, tick time.Duration) *world {
	tb.Helper()
	s, err := awsfake.Start(awsfake.Options{Tick: tick})
	if err != nil {
		tb.Fatal(err)
	}
	// Closed at the end of the test, or by close: a benchmark that makes a
	// world each round must not keep the old ones alive until it ends.
	open := &s
	tb.Cleanup(func() {
		if *open != nil {
			(*open).Close()
		}
	})
	opts := append(s.LoadOptions(), config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 50 * time.Millisecond
			o.RateLimiter = ratelimit.None // throttling must never empty the retry bucket
		})
	}))
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	w := &world{s: s, api: ecs.NewFromConfig(cfg), close: func() { (*open).Close(); *open = nil }}
	s.CreateCluster("prod")
	s.SetRegistryCredentials(s.RegistryHost(), "u", registryPassword)
	w.secret = s.CreateSecret("registry", `{"username":"u","password":"`+registryPassword+`"}`)
	w.image = s.PushImage("app/web:1")
	return w
}

// breakCredentials leaves the old password in the secret while the registry
// wants the new one: every new task fails to pull.
func (w *world) breakCredentials() {
	w.s.CreateSecret("registry", `{"username":"u","password":"old"}`)
}

// services creates n services from spec (Name is a prefix) and returns the
// targets the plan would give.
func (w *world) services(tb testing.TB, n int, spec awsfake.Service) []Target {
	tb.Helper()
	td := w.s.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "web", Containers: []awsfake.Container{
		{Name: "web", Image: w.image, CredentialsParameter: w.secret},
	}})
	prefix := spec.Name
	if prefix == "" {
		prefix = "svc"
	}
	var targets []Target
	for i := range n {
		spec.Cluster, spec.Name, spec.TaskDefinition = "prod", fmt.Sprintf("%s-%03d", prefix, i), td
		if spec.DesiredCount == 0 {
			spec.DesiredCount = 2
		}
		arn := w.s.CreateService(spec)
		snap, ok := w.s.ServiceSnapshot("prod", spec.Name)
		if !ok {
			tb.Fatalf("service %s not created", spec.Name)
		}
		targets = append(targets, Target{
			Cluster: aws.ToString(snap.ClusterArn), Service: spec.Name, ServiceArn: arn,
			DeploymentConfiguration: snap.DeploymentConfiguration,
			KnownDeployments:        deploymentIDs(snap),
		})
	}
	return targets
}

func deploymentIDs(s ecstypes.Service) []string {
	var ids []string
	for _, d := range s.Deployments {
		ids = append(ids, aws.ToString(d.Id))
	}
	return ids
}

// deploy starts the deployments, or fails the test.
func (w *world) deploy(tb testing.TB, targets []Target) []Deployment {
	tb.Helper()
	deps, err := Deploy(context.Background(), w.api, targets, DeployOptions{Pacer: unpaced()}, time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	return deps
}

// counting counts the calls of each operation, for the cost tests.
type counting struct {
	ECS
	mu    sync.Mutex
	calls map[string]int
}

func newCounting(api ECS) *counting { return &counting{ECS: api, calls: map[string]int{}} }

func (c *counting) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *counting) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *counting) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, o ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	c.add("DescribeServices")
	return c.ECS.DescribeServices(ctx, in, o...)
}

func (c *counting) ListTasks(ctx context.Context, in *ecs.ListTasksInput, o ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	c.add("ListTasks")
	return c.ECS.ListTasks(ctx, in, o...)
}

func (c *counting) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, o ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	c.add("DescribeTasks")
	return c.ECS.DescribeTasks(ctx, in, o...)
}
