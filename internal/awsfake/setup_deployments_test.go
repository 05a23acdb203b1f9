package awsfake

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// twoRevisions registers web:1 and web:2, public images.
func (f *fixture) twoRevisions() (v1, v2 string) {
	v1 = f.RegisterTaskDefinition(TaskDefinition{Family: "web", Containers: []Container{{Name: "web", Image: "nginx:1"}}})
	v2 = f.RegisterTaskDefinition(TaskDefinition{Family: "web", Containers: []Container{{Name: "web", Image: "nginx:2"}}})
	return v1, v2
}

func checkMidRollout(t *testing.T, svc ecstypes.Service, v1, v2 string) {
	t.Helper()
	if len(svc.Deployments) != 2 || aws.ToString(svc.TaskDefinition) != v2 || svc.RunningCount != 2 || svc.PendingCount != 2 || len(svc.TaskSets) != 0 {
		t.Fatalf("service = %+v", svc)
	}
	p, a := svc.Deployments[0], svc.Deployments[1]
	if aws.ToString(p.Status) != "PRIMARY" || aws.ToString(p.TaskDefinition) != v2 || p.RolloutState != ecstypes.DeploymentRolloutStateInProgress ||
		aws.ToString(p.RolloutStateReason) != "ECS deployment "+aws.ToString(p.Id)+" in progress." ||
		p.DesiredCount != 2 || p.RunningCount != 0 || p.PendingCount != 2 {
		t.Fatalf("PRIMARY = %+v", p)
	}
	if aws.ToString(a.Status) != "ACTIVE" || aws.ToString(a.TaskDefinition) != v1 || a.RolloutState != ecstypes.DeploymentRolloutStateCompleted ||
		a.DesiredCount != 2 || a.RunningCount != 2 || a.PendingCount != 0 {
		t.Fatalf("ACTIVE = %+v", a)
	}
}

// A service created mid-rollout stays so until the next deployment, which
// then replaces both.
func TestServiceMidRollout(t *testing.T) {
	f := newFixture(t)
	v1, v2 := f.twoRevisions()
	f.CreateService(Service{Cluster: "prod", Name: "web", TaskDefinition: v2, ActiveTaskDefinition: v1, DesiredCount: 2})
	svc := f.describe(t, "prod", "web")
	checkMidRollout(t, svc, v1, v2)
	held := aws.ToString(svc.Deployments[0].Id)
	time.Sleep(5 * testTick)
	checkMidRollout(t, f.describe(t, "prod", "web"), v1, v2)
	if ts := f.tasksOf(t, "prod", held, ecstypes.DesiredStatusRunning); len(ts) != 2 || aws.ToString(ts[0].LastStatus) != "PENDING" || aws.ToString(ts[0].TaskDefinitionArn) != v2 {
		t.Fatalf("held tasks = %+v", ts)
	}

	newID := f.forceDeploy(t, "prod", "web")
	var final ecstypes.Service
	waitFor(t, 3*time.Second, "the forced deployment to complete", func() bool {
		final = f.describe(t, "prod", "web")
		return len(final.Deployments) == 1 && final.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	if aws.ToString(final.Deployments[0].Id) != newID || aws.ToString(final.TaskDefinition) != v2 || final.RunningCount != 2 || final.PendingCount != 0 {
		t.Fatalf("final = %+v", final)
	}
	if ts := f.tasksOf(t, "prod", held, ecstypes.DesiredStatusStopped); len(ts) != 2 {
		t.Fatalf("held tasks after the forced deployment: %+v", ts)
	}
}

// With ActiveFor, the rollout ends by itself, as any rollout does.
func TestServiceMidRolloutEnds(t *testing.T) {
	f := newFixture(t)
	v1, v2 := f.twoRevisions()
	f.CreateService(Service{Cluster: "prod", Name: "web", TaskDefinition: v2, ActiveTaskDefinition: v1, ActiveFor: 10 * testTick, DesiredCount: 2})
	svc := f.describe(t, "prod", "web")
	checkMidRollout(t, svc, v1, v2)
	old := aws.ToString(svc.Deployments[1].Id)
	var final ecstypes.Service
	waitFor(t, 3*time.Second, "the rollout to complete", func() bool {
		final = f.describe(t, "prod", "web")
		return len(final.Deployments) == 1 && final.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	if aws.ToString(final.Deployments[0].Id) != aws.ToString(svc.Deployments[0].Id) || final.RunningCount != 2 {
		t.Fatalf("final = %+v", final)
	}
	if ts := f.tasksOf(t, "prod", old, ecstypes.DesiredStatusStopped); len(ts) != 2 || aws.ToString(ts[0].TaskDefinitionArn) != v1 {
		t.Fatalf("the old deployment's tasks: %+v", ts)
	}
}

var taskSetID = regexp.MustCompile(`^ecs-svc/\d{19}$`)

func TestCodeDeployTaskSets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v1, v2 := f.twoRevisions()
	f.CreateService(Service{Cluster: "prod", Name: "bg", TaskDefinition: v1, TaskSets: []string{v1, "web:2"},
		DesiredCount: 2, LaunchType: "FARGATE", DeploymentController: "CODE_DEPLOY"})
	svc := f.describe(t, "prod", "bg")
	if len(svc.Deployments) != 0 || len(svc.TaskSets) != 2 || aws.ToString(svc.TaskDefinition) != v1 || svc.RunningCount != 4 {
		t.Fatalf("service = %+v", svc)
	}
	p, a := svc.TaskSets[0], svc.TaskSets[1]
	id := aws.ToString(p.Id)
	if !taskSetID.MatchString(id) || aws.ToString(p.TaskSetArn) != "arn:aws:ecs:us-east-1:123456789012:task-set/prod/bg/"+id ||
		aws.ToString(p.ServiceArn) != aws.ToString(svc.ServiceArn) || aws.ToString(p.ClusterArn) != aws.ToString(svc.ClusterArn) ||
		aws.ToString(p.Status) != "PRIMARY" || aws.ToString(p.TaskDefinition) != v1 || p.ComputedDesiredCount != 2 || p.RunningCount != 2 ||
		p.PendingCount != 0 || p.StabilityStatus != ecstypes.StabilityStatusSteadyState || p.Scale == nil || p.Scale.Value != 100 ||
		p.Scale.Unit != ecstypes.ScaleUnitPercent || aws.ToString(p.StartedBy) != "CODE_DEPLOY" ||
		!regexp.MustCompile(`^d-[A-Z0-9]{9}$`).MatchString(aws.ToString(p.ExternalId)) || p.LaunchType != ecstypes.LaunchTypeFargate {
		t.Fatalf("PRIMARY task set = %+v", p)
	}
	if aws.ToString(a.Status) != "ACTIVE" || aws.ToString(a.TaskDefinition) != v2 || a.RunningCount != 2 || aws.ToString(a.Id) == id {
		t.Fatalf("ACTIVE task set = %+v", a)
	}
	if ts := f.tasksOf(t, "prod", aws.ToString(a.Id), ecstypes.DesiredStatusRunning); len(ts) != 2 || aws.ToString(ts[0].TaskDefinitionArn) != v2 {
		t.Fatalf("the ACTIVE task set's tasks: %+v", ts)
	}
	if snap, _ := f.ServiceSnapshot("prod", "bg"); string(marshalShape(&snap)) != string(marshalShape(&svc)) {
		t.Fatalf("snapshot and wire differ:\n%s\n%s", marshalShape(&snap), marshalShape(&svc))
	}

	var ip *ecstypes.InvalidParameterException
	for _, in := range []*ecs.UpdateServiceInput{
		{Cluster: aws.String("prod"), Service: aws.String("bg"), ForceNewDeployment: true},
		{Cluster: aws.String("prod"), Service: aws.String("bg"), TaskDefinition: aws.String(v2)},
	} {
		if _, err := f.ecs.UpdateService(ctx, in); !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "CODE_DEPLOY") {
			t.Fatalf("UpdateService(%+v): %v", in, err)
		}
	}
	out, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("bg"), DesiredCount: aws.Int32(3)})
	if err != nil || out.Service.TaskSets[0].ComputedDesiredCount != 3 || len(out.Service.Deployments) != 0 {
		t.Fatalf("scaling: %+v, %v", out, err)
	}
}

func TestExternalTaskSets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, v2 := f.twoRevisions()
	f.CreateService(Service{Cluster: "prod", Name: "ext", TaskSets: []string{v2}, DesiredCount: 1, DeploymentController: "EXTERNAL"})
	f.CreateService(Service{Cluster: "prod", Name: "bare", DeploymentController: "EXTERNAL"})
	svc := f.describe(t, "prod", "ext")
	if aws.ToString(svc.TaskDefinition) != v2 || len(svc.Deployments) != 0 || len(svc.TaskSets) != 1 {
		t.Fatalf("service = %+v", svc)
	}
	if ts := svc.TaskSets[0]; aws.ToString(ts.Status) != "PRIMARY" || ts.StartedBy != nil || ts.ExternalId != nil || ts.RunningCount != 1 {
		t.Fatalf("task set = %+v", ts)
	}
	if bare := f.describe(t, "prod", "bare"); bare.TaskDefinition != nil || len(bare.Deployments) != 0 || len(bare.TaskSets) != 0 {
		t.Fatalf("EXTERNAL service without task definition = %+v", bare)
	}
	var ip *ecstypes.InvalidParameterException
	_, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("ext"), ForceNewDeployment: true})
	if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "EXTERNAL") {
		t.Fatalf("forcing an EXTERNAL service: %v", err)
	}
}

func TestCreateServiceRefusesWhatECSRefuses(t *testing.T) {
	f := newFixture(t)
	v1, _ := f.twoRevisions()
	f.CreateService(Service{Cluster: "prod", Name: "taken", TaskDefinition: v1})
	for name, spec := range map[string]Service{
		"task sets on ECS":            {Name: "a", TaskDefinition: v1, TaskSets: []string{v1}},
		"CODE_DEPLOY without a TD":    {Name: "b", DeploymentController: "CODE_DEPLOY", TaskSets: []string{v1}},
		"mid-rollout on CODE_DEPLOY":  {Name: "c", TaskDefinition: v1, ActiveTaskDefinition: v1, DeploymentController: "CODE_DEPLOY"},
		"unknown active definition":   {Name: "d", TaskDefinition: v1, ActiveTaskDefinition: "nope"},
		"unknown task set definition": {Name: "e", DeploymentController: "EXTERNAL", TaskSets: []string{"nope"}},
		"a name taken":                {Name: "taken", TaskDefinition: v1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			spec.Cluster = "prod"
			f.CreateService(spec)
		}()
	}
	// Refused before anything changed.
	list, err := f.ecs.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
	if err != nil || len(list.ServiceArns) != 1 {
		t.Fatalf("services after refusals: %+v, %v", list, err)
	}
}
