package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

const password = "hunter2-Secret"

func newTestReporter(t *testing.T) (*Reporter, *bytes.Buffer, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	var out bytes.Buffer
	return New(&out, func(k string) string { return env[k] }, password), &out, env
}

func failedTask(service, id, reason string) rollout.FailedTask {
	return rollout.FailedTask{
		Service: service, TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/prod/" + id, LastStatus: "STOPPED",
		StopCode: "TaskFailedToStart", StoppedReason: reason, Kind: rollout.KindPullFailed,
		Containers: []rollout.FailedContainer{{Name: "web", Image: "registry.example.com/web:1", Reason: reason}},
	}
}

func TestSummaryGroupsFailedTasksByReason(t *testing.T) {
	denied := "CannotPullContainerError: pull access denied for registry.example.com/web"
	missing := "CannotPullContainerError: manifest for registry.example.com/web:2 not found: manifest unknown"
	var tasks []rollout.FailedTask
	for i := range 5 {
		tasks = append(tasks, failedTask("web", "t"+string(rune('a'+i)), denied))
	}
	tasks = append(tasks, failedTask("api", "tz", missing))
	run := Run{Result: ResultFailed, Mode: "secrets-manager", Cluster: "prod", Watch: &rollout.Result{FailedTasks: tasks},
		Failure: &Failure{Step: StepRollout, Err: errors.New("1 of 1 services did not roll out")}}
	md := Summary(run)
	for _, want := range []string{"### Failed tasks (6)", denied + "** (5 tasks)", "…and 2 more", missing + "** (1 task)",
		"check the new username and password", "image or tag does not exist"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "web task `") != examplesPerReason {
		t.Errorf("want %d examples of the first reason:\n%s", examplesPerReason, md)
	}
}

func TestPasswordIsScrubbedFromEverythingWritten(t *testing.T) {
	rep, out, env := newTestReporter(t)
	rep.Infof("a line with %s in it", password)
	rep.Finish(Run{Result: ResultFailed, Mode: "secrets-manager", Cluster: "prod",
		Failure: &Failure{Step: StepSecret, Resource: "secret x", Err: errors.New("echoed " + password)}})
	lines := strings.Split(out.String(), "\n")
	if lines[0] != "::add-mask::"+password {
		t.Fatalf("the first line must mask the password, got %q", lines[0])
	}
	written := strings.Join(lines[1:], "\n")
	for name, text := range map[string]string{"log": written, "outputs": readFile(t, env["GITHUB_OUTPUT"]), "summary": readFile(t, env["GITHUB_STEP_SUMMARY"])} {
		if strings.Contains(text, password) {
			t.Errorf("the password is in the %s:\n%s", name, text)
		}
	}
	if !strings.Contains(written, "::error title=update secret failed::secret x: echoed ***") {
		t.Errorf("the error annotation is missing or unscrubbed:\n%s", written)
	}
}

func TestOutputsWithoutGitHubOutputArePrinted(t *testing.T) {
	var out bytes.Buffer
	rep := New(&out, func(string) string { return "" }, "")
	rep.Outputs(Run{Result: ResultDryRun})
	for _, want := range []string{"result=dry-run\n", "services=[]\n", "failed-tasks=[]\n", "instances=[]\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
