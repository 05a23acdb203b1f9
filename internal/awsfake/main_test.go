package awsfake

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testTick = 20 * time.Millisecond

type fixture struct {
	*Server
	cfg aws.Config
	ecs *ecs.Client
	sm  *secretsmanager.Client
}

func newFixture(t *testing.T, extra ...func(*config.LoadOptions) error) *fixture {
	t.Helper()
	return newFixtureWith(t, Options{}, extra...)
}

// newFixtureWith starts a fake with opts (Tick: testTick unless set).
func newFixtureWith(t *testing.T, opts Options, extra ...func(*config.LoadOptions) error) *fixture {
	t.Helper()
	if opts.Tick == 0 {
		opts.Tick = testTick
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), append(s.LoadOptions(), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Server: s, cfg: cfg, ecs: ecs.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
}

// privateApp sets up what a rotation works on: a private image in the fake
// registry, a secret holding its credentials, a task definition naming the
// secret, and a running service. secretValue lets a test put wrong
// credentials in the secret.
func (f *fixture) privateApp(t *testing.T, svc Service, secretValue string) (secretArn string) {
	t.Helper()
	image := f.PushImage("team/app:1.0")
	f.SetRegistryCredentials(f.RegistryHost(), "robot", "s3cret")
	secretArn = f.CreateSecret("registry/robot", secretValue)
	td := f.RegisterTaskDefinition(TaskDefinition{
		Family:           "app",
		ExecutionRoleArn: "arn:aws:iam::123456789012:role/appExecution",
		Containers:       []Container{{Name: "app", Image: image, CredentialsParameter: secretArn}},
	})
	svc.TaskDefinition = td
	if svc.Cluster == "" {
		svc.Cluster = "prod"
	}
	f.CreateService(svc)
	return secretArn
}

const goodCreds = `{"username":"robot","password":"s3cret"}`
const wrongCreds = `{"Username":"robot","Password":"old"}`

// waitFor polls cond (which calls the fake, advancing its world) until it
// holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	within = testenv.Scale(within)
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(testTick / 4)
	}
}

func (f *fixture) describe(t *testing.T, cluster, name string) ecstypes.Service {
	t.Helper()
	out, err := f.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(cluster), Services: []string{name},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s): %d services, failures %+v", name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

func (f *fixture) forceDeploy(t *testing.T, cluster, name string) string {
	t.Helper()
	out, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String(cluster), Service: aws.String(name), ForceNewDeployment: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Service.Deployments[0].Id)
}

// tasksOf describes the tasks a deployment started, in either state.
func (f *fixture) tasksOf(t *testing.T, cluster, deploymentID string, desired ecstypes.DesiredStatus) []ecstypes.Task {
	t.Helper()
	ctx := context.Background()
	list, err := f.ecs.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster: aws.String(cluster), StartedBy: aws.String(deploymentID), DesiredStatus: desired,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := f.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	return out.Tasks
}
