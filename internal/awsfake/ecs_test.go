package awsfake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func (f *fixture) publicServices(t *testing.T, cluster string, n int, desired int32) {
	t.Helper()
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "pub", Containers: []Container{{Name: "web", Image: "nginx:1.27"}}})
	for i := range n {
		f.CreateService(Service{Cluster: cluster, Name: fmt.Sprintf("svc-%02d", i), TaskDefinition: td, DesiredCount: desired})
	}
}

func TestDescribeServicesLimitAndMissing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.publicServices(t, "prod", 11, 1)

	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%02d", i)
	}
	_, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: names})
	var ip *ecstypes.InvalidParameterException
	if !errors.As(err, &ip) {
		t.Fatalf("11 services: %v, want InvalidParameterException", err)
	}

	arn0 := "arn:aws:ecs:us-east-1:123456789012:service/prod/svc-00"
	out, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
		Services: []string{arn0, "svc-01", "ghost", "arn:aws:ecs:us-east-1:123456789012:service/prod/phantom"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 2 || aws.ToString(out.Services[0].ServiceArn) != arn0 {
		t.Fatalf("services = %+v", out.Services)
	}
	if len(out.Failures) != 2 ||
		aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/prod/ghost" ||
		aws.ToString(out.Failures[1].Reason) != "MISSING" {
		t.Fatalf("failures = %+v", out.Failures)
	}
	svc := out.Services[1]
	d := svc.Deployments[0]
	if svc.RunningCount != 1 || len(svc.Deployments) != 1 || aws.ToString(d.Status) != "PRIMARY" ||
		d.RolloutState != ecstypes.DeploymentRolloutStateCompleted || !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(aws.ToString(d.Id)) {
		t.Fatalf("fresh service = %+v", svc)
	}
	if msg := aws.ToString(svc.Events[0].Message); msg != "(service svc-01) has reached a steady state." {
		t.Fatalf("newest event = %q", msg)
	}
}

func TestClusterNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"x"}})
	var cnf *ecstypes.ClusterNotFoundException
	if !errors.As(err, &cnf) || cnf.ErrorMessage() != "Cluster not found." {
		t.Fatalf("DescribeServices: %v", err)
	}
	_, err = f.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
	if !errors.As(err, &cnf) {
		t.Fatalf("ListServices: %v", err)
	}
	f.CreateCluster("prod")
	out, err := f.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", "nope"}})
	if err != nil || len(out.Clusters) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeClusters = %+v, %v", out, err)
	}
}

func TestPaginators(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.publicServices(t, "prod", 25, 1)
	pages, arns := 0, 0
	sp := ecs.NewListServicesPaginator(f.ecs, &ecs.ListServicesInput{Cluster: aws.String("prod")})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		arns += len(page.ServiceArns)
	}
	if pages != 3 || arns != 25 {
		t.Fatalf("ListServices: %d pages, %d arns; want 3 pages of 10 by default, 25 arns", pages, arns)
	}

	pages, arns = 0, 0
	tp := ecs.NewListTasksPaginator(f.ecs, &ecs.ListTasksInput{Cluster: aws.String("prod"), MaxResults: aws.Int32(7)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		arns += len(page.TaskArns)
		if len(page.TaskArns) > 7 {
			t.Fatalf("page of %d > maxResults", len(page.TaskArns))
		}
	}
	if pages != 4 || arns != 25 {
		t.Fatalf("ListTasks: %d pages, %d arns", pages, arns)
	}

	_, err := f.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("prod"), MaxResults: aws.Int32(101)})
	var ip *ecstypes.InvalidParameterException
	if !errors.As(err, &ip) {
		t.Fatalf("maxResults 101: %v", err)
	}
}

func TestListTasksStartedByRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.publicServices(t, "prod", 1, 2)
	svc := f.describe(t, "prod", "svc-00")
	dep := aws.ToString(svc.Deployments[0].Id)

	_, err := f.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(dep), ServiceName: aws.String("svc-00")})
	var ip *ecstypes.InvalidParameterException
	if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "startedBy") {
		t.Fatalf("startedBy+serviceName: %v, want InvalidParameterException", err)
	}
	out, err := f.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(dep), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil || len(out.TaskArns) != 2 {
		t.Fatalf("startedBy+desiredStatus = %+v, %v", out, err)
	}
	out, err = f.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("svc-00")})
	if err != nil || len(out.TaskArns) != 2 || !regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:task/prod/[0-9a-f]{32}$`).MatchString(out.TaskArns[0]) {
		t.Fatalf("serviceName = %+v, %v", out, err)
	}

	tasks, err := f.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: append(out.TaskArns, "0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks.Tasks) != 2 || len(tasks.Failures) != 1 || aws.ToString(tasks.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeTasks = %+v", tasks)
	}
	task := tasks.Tasks[0]
	if aws.ToString(task.Group) != "service:svc-00" || aws.ToString(task.StartedBy) != dep || aws.ToString(task.LastStatus) != "RUNNING" ||
		len(task.Containers) != 1 || aws.ToString(task.Containers[0].Image) != "nginx:1.27" {
		t.Fatalf("task = %+v", task)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%032x", i)
	}
	if _, err := f.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: many}); !errors.As(err, &ip) {
		t.Fatalf("101 tasks: %v", err)
	}
}

func TestDescribeTaskDefinition(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "a", Image: "nginx:1"}}})
	arn2 := f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "a", Image: "nginx:2", CredentialsParameter: "hub"}}})
	for ref, wantRev := range map[string]int32{"app": 2, "app:1": 1, arn2: 2} {
		out, err := f.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if out.TaskDefinition.Revision != wantRev {
			t.Fatalf("%s: revision %d, want %d", ref, out.TaskDefinition.Revision, wantRev)
		}
	}
	out, _ := f.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("app")})
	if rc := out.TaskDefinition.ContainerDefinitions[0].RepositoryCredentials; rc == nil || aws.ToString(rc.CredentialsParameter) != "hub" {
		t.Fatalf("repositoryCredentials = %+v", rc)
	}
	_, err := f.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("app:9")})
	var ce *ecstypes.ClientException
	if !errors.As(err, &ce) {
		t.Fatalf("unknown revision: %v", err)
	}
}

func TestUpdateServiceRejections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "pub", Containers: []Container{{Name: "web", Image: "nginx"}}})
	f.CreateService(Service{Cluster: "prod", Name: "bg", TaskDefinition: td, DesiredCount: 1, DeploymentController: "CODE_DEPLOY"})

	_, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("bg"), ForceNewDeployment: true})
	var ip *ecstypes.InvalidParameterException
	if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "CODE_DEPLOY") {
		t.Fatalf("CODE_DEPLOY: %v", err)
	}
	_, err = f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("ghost"), ForceNewDeployment: true})
	var snf *ecstypes.ServiceNotFoundException
	if !errors.As(err, &snf) {
		t.Fatalf("unknown service: %v", err)
	}
	if n := len(f.MutatingCalls()); n != 0 {
		t.Fatalf("rejected updates counted as mutations: %d", n)
	}
}

// The snapshot is what the wire carries: same value after the SDK's own
// decoding.
func TestServiceSnapshotMatchesDescribeServices(t *testing.T) {
	f := newFixture(t)
	f.publicServices(t, "prod", 1, 2)
	wire := f.describe(t, "prod", "svc-00")
	snap, ok := f.ServiceSnapshot("prod", "svc-00")
	if !ok {
		t.Fatal("no snapshot")
	}
	if got, want := fmt.Sprintf("%+v", marshalShape(&snap)), fmt.Sprintf("%+v", marshalShape(&wire)); got != want {
		t.Fatalf("snapshot and wire differ:\n%s\n%s", got, want)
	}
	if _, ok := f.ServiceSnapshot("prod", "nope"); ok {
		t.Fatal("snapshot of a missing service")
	}
}
