package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

type failedTaskOutput struct {
	Service       string `json:"service"`
	TaskArn       string `json:"taskArn"`
	LastStatus    string `json:"lastStatus"`
	StopCode      string `json:"stopCode"`
	StoppedReason string `json:"stoppedReason"`
	Containers    []struct {
		Name     string `json:"name"`
		Image    string `json:"image"`
		Reason   string `json:"reason"`
		ExitCode *int32 `json:"exitCode"`
	} `json:"containers"`
}

func decodeFailedTasks(t *testing.T, s string) []failedTaskOutput {
	t.Helper()
	var out []failedTaskOutput
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("failed-tasks output is not JSON: %v: %q", err, s)
	}
	return out
}

// wrongPassword rotates onto a password the registry does not take, with the
// registry check off, so only the watch can catch it.
func wrongPassword(w *world) map[string]string {
	in := w.defaultInputs()
	in["password"] = "typo-" + newPassword
	in["verify-credentials"] = "false"
	return in
}

func TestPullFailureFailsFast(t *testing.T) {
	w := newWorld(t)
	r := w.run(t, wrongPassword(w))
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
	}
	if r.took > testenv.Scale(10*time.Second) {
		t.Errorf("took %s to fail; fail-fast should end within a poll of the first failed task", r.took)
	}
	tasks := decodeFailedTasks(t, r.outputs["failed-tasks"])
	if len(tasks) == 0 {
		t.Fatalf("failed-tasks is empty")
	}
	task := tasks[0]
	if task.StopCode != "TaskFailedToStart" || !strings.HasPrefix(task.StoppedReason, "CannotPullContainerError") {
		t.Errorf("failed task %+v, want TaskFailedToStart with CannotPullContainerError", task)
	}
	annotation := lineWith(r.stdout, "::error title=rollout")
	for _, want := range []string{task.Service, awsname.Short(task.TaskArn), "CannotPullContainerError", "pull access denied", "check the new username and password"} {
		if !strings.Contains(annotation, want) {
			t.Errorf("annotation lacks %q: %s", want, annotation)
		}
	}
	if !strings.Contains(r.summary, "CannotPullContainerError") {
		t.Errorf("summary does not show the reason")
	}
}

func TestPullFailureWithoutFailFastWaitsForVerdict(t *testing.T) {
	w := newWorld(t,
		awsfake.Service{Name: "web", DesiredCount: 2, CircuitBreaker: &awsfake.CircuitBreaker{Enable: true}})
	in := wrongPassword(w)
	in["fail-fast"] = "false"
	r := w.run(t, in)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	tasks := decodeFailedTasks(t, r.outputs["failed-tasks"])
	if len(tasks) < 3 {
		t.Errorf("%d failed tasks reported, want every one until the circuit breaker's 3", len(tasks))
	}
	services := decodeServices(t, r.outputs["services"])
	if len(services) != 1 || services[0].RolloutState != "FAILED" {
		t.Errorf("services = %+v, want web FAILED", services)
	}
}

func TestStaleCachedImageIsAFailure(t *testing.T) {
	w := newWorld(t, awsfake.Service{Name: "web", DesiredCount: 2, CachedImage: true})
	r := w.run(t, wrongPassword(w))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: tasks running on a cached image prove the credentials broken", r.code)
	}
	tasks := decodeFailedTasks(t, r.outputs["failed-tasks"])
	if len(tasks) == 0 || tasks[0].LastStatus != "RUNNING" || !strings.Contains(tasks[0].Containers[0].Reason, "CannotPullContainerError") {
		t.Errorf("failed tasks = %+v, want a RUNNING task whose container reason is the pull error", tasks)
	}
	if !strings.Contains(lineWith(r.stdout, "::error title=rollout"), "cached") {
		t.Errorf("annotation does not explain the stale image")
	}
}

func TestCircuitBreakerRollbackIsAFailure(t *testing.T) {
	w := newWorld(t, awsfake.Service{Name: "web", DesiredCount: 2,
		CircuitBreaker: &awsfake.CircuitBreaker{Enable: true, Rollback: true}})
	in := wrongPassword(w)
	in["fail-fast"] = "false"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q after a rollback, want 1 failed", r.code, r.outputs["result"])
	}
	if !strings.Contains(r.stdout, "circuit breaker") {
		t.Errorf("the log does not give the rolloutStateReason")
	}
}

func TestSecretReadDenied(t *testing.T) {
	w := newWorld(t, awsfake.Service{Name: "web", DesiredCount: 1, LaunchType: "FARGATE"})
	w.fake.DenySecretRead(w.secretARN)
	r := w.run(t, w.defaultInputs())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	annotation := lineWith(r.stdout, "::error title=rollout")
	if !strings.Contains(annotation, "ResourceInitializationError") || !strings.Contains(annotation, "secretsmanager:GetSecretValue") {
		t.Errorf("annotation should give ECS's reason and name the missing permission: %s", annotation)
	}
}

func TestTimeoutReportsHowFarEachServiceGot(t *testing.T) {
	w := newWorld(t)
	in := wrongPassword(w)
	in["fail-fast"] = "false"
	in["timeout"] = "1500ms"
	r := w.run(t, in)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	annotation := lineWith(r.stdout, "::error title=rollout")
	for _, want := range []string{"timed out after 1.5s", "tasks running", "failed", "rolloutState IN_PROGRESS"} {
		if !strings.Contains(annotation, want) {
			t.Errorf("timeout annotation lacks %q: %s", want, annotation)
		}
	}
	if r.took > testenv.Scale(8*time.Second) {
		t.Errorf("a 1.5 s timeout took %s", r.took)
	}
}

func TestNoWaitEndsAfterDeploymentsStart(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["wait"] = "false"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d result %q, want 0 success", r.code, r.outputs["result"])
	}
	if n := w.fake.CallCount("ListTasks") + w.fake.CallCount("DescribeTasks"); n != 0 {
		t.Errorf("wait: false still watched tasks (%d calls)", n)
	}
	for _, s := range decodeServices(t, r.outputs["services"]) {
		if !strings.HasPrefix(s.DeploymentID, "ecs-svc/") {
			t.Errorf("service %s has no deployment id in the output", s.Service)
		}
	}
}
