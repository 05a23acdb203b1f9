package awsfake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestForcedDeploymentCompletes(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 2}, goodCreds)
	old := f.describe(t, "prod", "web").Deployments[0]
	oldTasks := f.tasksOf(t, "prod", aws.ToString(old.Id), ecstypes.DesiredStatusRunning)

	out, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true,
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50)},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := out.Service
	newID := aws.ToString(svc.Deployments[0].Id)
	if len(svc.Deployments) != 2 || aws.ToString(svc.Deployments[0].Status) != "PRIMARY" ||
		svc.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress ||
		aws.ToString(svc.Deployments[0].RolloutStateReason) != "ECS deployment "+newID+" in progress." ||
		aws.ToString(svc.Deployments[1].Status) != "ACTIVE" || aws.ToInt32(svc.DeploymentConfiguration.MinimumHealthyPercent) != 50 {
		t.Fatalf("UpdateService returned %+v", svc.Deployments)
	}

	var final ecstypes.Service
	waitFor(t, 3*time.Second, "deployment COMPLETED", func() bool {
		final = f.describe(t, "prod", "web")
		return len(final.Deployments) == 1 && final.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	if aws.ToString(final.Deployments[0].Id) != newID || final.RunningCount != 2 || final.PendingCount != 0 ||
		final.Deployments[0].RunningCount != 2 || final.Deployments[0].FailedTasks != 0 {
		t.Fatalf("final = %+v", final)
	}
	events := []string{aws.ToString(final.Events[0].Message), aws.ToString(final.Events[1].Message)}
	if events[0] != "(service web) has reached a steady state." || events[1] != "(service web) (deployment "+newID+") deployment completed." {
		t.Fatalf("newest events = %q", events)
	}

	running := f.tasksOf(t, "prod", newID, ecstypes.DesiredStatusRunning)
	if len(running) != 2 || aws.ToString(running[0].LastStatus) != "RUNNING" || running[0].StartedAt == nil {
		t.Fatalf("new tasks = %+v", running)
	}
	// Phases are stamped with simulated times one tick apart.
	if d := running[0].StartedAt.Sub(*running[0].CreatedAt); d != 2*testTick {
		t.Fatalf("created→started = %v, want %v", d, 2*testTick)
	}
	stopped := f.tasksOf(t, "prod", aws.ToString(old.Id), ecstypes.DesiredStatusStopped)
	if len(stopped) != len(oldTasks) || stopped[0].StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated ||
		aws.ToString(stopped[0].StoppedReason) != "Scaling activity initiated by (deployment "+newID+")" {
		t.Fatalf("old tasks = %+v", stopped)
	}
	if !f.FirstTaskFailureAt().IsZero() {
		t.Fatal("a task failure was recorded on a clean rollout")
	}
}

// pullFailureCase runs a forced deployment that cannot start and returns
// the first failed task and the service at that point.
func pullFailureCase(t *testing.T, svc Service, secret string, deny bool) (ecstypes.Task, ecstypes.Service, *fixture) {
	t.Helper()
	f := newFixture(t)
	arn := f.privateApp(t, svc, secret)
	if deny {
		f.DenySecretRead(arn)
	}
	id := f.forceDeploy(t, "prod", svc.Name)
	var failed []ecstypes.Task
	waitFor(t, 3*time.Second, "a failed task", func() bool {
		failed = f.tasksOf(t, "prod", id, ecstypes.DesiredStatusStopped)
		return len(failed) > 0
	})
	return failed[0], f.describe(t, "prod", svc.Name), f
}

func TestPullFailureWithWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		launchType, want string
	}{
		{"EC2", "CannotPullContainerError: Error response from daemon: pull access denied for HOST/team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"},
		{"FARGATE", "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref HOST/team/app:1.0: pulling from host HOST failed with status code [manifests 1.0]: 401 Unauthorized"},
	} {
		t.Run(tc.launchType, func(t *testing.T) {
			task, svc, f := pullFailureCase(t, Service{Name: "web", DesiredCount: 1, LaunchType: tc.launchType}, wrongCreds, false)
			want := strings.ReplaceAll(tc.want, "HOST", f.RegistryHost())
			if aws.ToString(task.StoppedReason) != want || task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart ||
				aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.Containers[0].Reason) != want {
				t.Fatalf("task = stoppedReason %q stopCode %s container %+v", aws.ToString(task.StoppedReason), task.StopCode, task.Containers[0])
			}
			if svc.Deployments[0].FailedTasks < 1 || f.FirstTaskFailureAt().IsZero() {
				t.Fatalf("failedTasks %d, first failure %v", svc.Deployments[0].FailedTasks, f.FirstTaskFailureAt())
			}
			if !f.FirstTaskFailureAt().Equal(*task.StoppedAt) && f.FirstTaskFailureAt().After(*task.StoppedAt) {
				t.Fatalf("first failure %v after the task's stop %v", f.FirstTaskFailureAt(), *task.StoppedAt)
			}
		})
	}
}

func TestUnknownTagFailsNotFound(t *testing.T) {
	f := newFixture(t)
	img := f.RegistryHost() + "/team/app:never-pushed"
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "x", Containers: []Container{{Name: "x", Image: img}}})
	f.CreateService(Service{Cluster: "prod", Name: "x", TaskDefinition: td, DesiredCount: 1})
	id := f.forceDeploy(t, "prod", "x")
	var failed []ecstypes.Task
	waitFor(t, 3*time.Second, "a failed task", func() bool {
		failed = f.tasksOf(t, "prod", id, ecstypes.DesiredStatusStopped)
		return len(failed) > 0
	})
	want := "CannotPullContainerError: Error response from daemon: manifest for " + img + " not found: manifest unknown: manifest unknown"
	if got := aws.ToString(failed[0].StoppedReason); got != want {
		t.Fatalf("stoppedReason = %q, want %q", got, want)
	}
}

func TestSecretReadDenied(t *testing.T) {
	for _, tc := range []struct{ launchType, prefix string }{
		{"EC2", "Asm fetching secret from the service for arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/robot-"},
		{"FARGATE", "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to get registry auth from asm: service call has been retried 1 time(s): asm fetching secret from the service for arn:"},
	} {
		t.Run(tc.launchType, func(t *testing.T) {
			task, _, _ := pullFailureCase(t, Service{Name: "web", DesiredCount: 1, LaunchType: tc.launchType}, goodCreds, true)
			reason := aws.ToString(task.StoppedReason)
			wantIAM := "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/appExecution/"
			if !strings.HasPrefix(reason, tc.prefix) || !strings.Contains(reason, wantIAM) ||
				!strings.Contains(reason, "secretsmanager:GetSecretValue") || task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart {
				t.Fatalf("stoppedReason = %q", reason)
			}
		})
	}
}

func TestCachedImageRunsWithPullError(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 1, CachedImage: true}, wrongCreds)
	id := f.forceDeploy(t, "prod", "web")
	waitFor(t, 3*time.Second, "deployment COMPLETED", func() bool {
		svc := f.describe(t, "prod", "web")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	tasks := f.tasksOf(t, "prod", id, ecstypes.DesiredStatusRunning)
	if len(tasks) != 1 || aws.ToString(tasks[0].LastStatus) != "RUNNING" ||
		!strings.HasPrefix(aws.ToString(tasks[0].Containers[0].Reason), "CannotPullContainerError: ") {
		t.Fatalf("tasks = %+v", tasks)
	}
}

func TestCircuitBreakerRollback(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 2, CircuitBreaker: &CircuitBreaker{Enable: true, Rollback: true}}, wrongCreds)
	oldID := aws.ToString(f.describe(t, "prod", "web").Deployments[0].Id)
	newID := f.forceDeploy(t, "prod", "web")

	var svc ecstypes.Service
	waitFor(t, 3*time.Second, "rollback to the old deployment", func() bool {
		svc = f.describe(t, "prod", "web")
		return len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].Id) == oldID
	})
	d := svc.Deployments[0]
	if aws.ToString(d.Status) != "PRIMARY" || d.RolloutState != ecstypes.DeploymentRolloutStateCompleted || svc.RunningCount != 2 {
		t.Fatalf("after rollback = %+v", svc)
	}
	if !hasEvent(svc, "(service web) (deployment "+newID+") deployment failed: tasks failed to start.") {
		t.Fatalf("no deployment failed event in %+v", svc.Events)
	}
	if aws.ToString(svc.Events[0].Message) != "(service web) has reached a steady state." {
		t.Fatalf("newest event = %q", aws.ToString(svc.Events[0].Message))
	}
	if n := len(f.tasksOf(t, "prod", newID, ecstypes.DesiredStatusStopped)); n < 3 {
		t.Fatalf("%d failed tasks before the breaker tripped, want ≥3", n)
	}
}

func TestCircuitBreakerWithoutRollbackStaysFailed(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 1, CircuitBreaker: &CircuitBreaker{Enable: true}}, wrongCreds)
	newID := f.forceDeploy(t, "prod", "web")
	var svc ecstypes.Service
	waitFor(t, 3*time.Second, "FAILED", func() bool {
		svc = f.describe(t, "prod", "web")
		return svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
	})
	d := svc.Deployments[0]
	if aws.ToString(d.Id) != newID || aws.ToString(d.RolloutStateReason) != "ECS deployment circuit breaker: tasks failed to start." ||
		d.FailedTasks != 3 || len(svc.Deployments) != 2 {
		t.Fatalf("failed deployment = %+v", svc.Deployments)
	}
	// It stops launching: no more tasks appear.
	before := len(f.tasksOf(t, "prod", newID, ecstypes.DesiredStatusStopped))
	time.Sleep(5 * testTick)
	if after := len(f.tasksOf(t, "prod", newID, ecstypes.DesiredStatusStopped)); after != before {
		t.Fatalf("tasks kept launching after FAILED: %d → %d", before, after)
	}
}

func TestFailedTasksResetWhenATaskRuns(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 1}, wrongCreds)
	id := f.forceDeploy(t, "prod", "web")
	waitFor(t, 3*time.Second, "two failures", func() bool {
		return f.describe(t, "prod", "web").Deployments[0].FailedTasks >= 2
	})
	f.CreateSecret("registry/robot", goodCreds) // the fix lands: a new AWSCURRENT
	var svc ecstypes.Service
	waitFor(t, 3*time.Second, "completion", func() bool {
		svc = f.describe(t, "prod", "web")
		return len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].Id) == id
	})
	if svc.Deployments[0].FailedTasks != 0 || svc.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted {
		t.Fatalf("deployment = %+v", svc.Deployments[0])
	}
}

func TestNoRolloutStateService(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 1, NoRolloutState: true}, goodCreds)
	id := f.forceDeploy(t, "prod", "web")
	if d := f.describe(t, "prod", "web").Deployments[0]; d.RolloutState != "" || d.RolloutStateReason != nil {
		t.Fatalf("rollout state on a Classic LB service: %+v", d)
	}
	waitFor(t, 3*time.Second, "single deployment", func() bool {
		svc := f.describe(t, "prod", "web")
		return len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].Id) == id && svc.RunningCount == 1
	})
}

func TestScaleWithoutNewDeployment(t *testing.T) {
	f := newFixture(t)
	f.privateApp(t, Service{Name: "web", DesiredCount: 1}, goodCreds)
	before := f.describe(t, "prod", "web").Deployments[0].Id
	_, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "3 running", func() bool {
		svc := f.describe(t, "prod", "web")
		return svc.RunningCount == 3 && len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].Id) == aws.ToString(before)
	})
}

func hasEvent(svc ecstypes.Service, msg string) bool {
	for _, e := range svc.Events {
		if aws.ToString(e.Message) == msg {
			return true
		}
	}
	return false
}
