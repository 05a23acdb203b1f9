package report

import (
	"bytes"
	"encoding/json"
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
	return New(Options{Actions: true, Log: &out, Getenv: func(k string) string { return env[k] }, Password: password}), &out, env
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
	summary := Summary(run)
	for _, want := range []string{"### Failed tasks (6)", md(denied) + "** (5 tasks)", "…and 2 more", md(missing) + "** (1 task)",
		"check the new username and password", "image or tag does not exist"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Count(summary, "web task ") != examplesPerReason {
		t.Errorf("want %d examples of the first reason:\n%s", examplesPerReason, summary)
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

func TestCLIPrintsOutputsAsJSONOnStdoutAndNoWorkflowCommand(t *testing.T) {
	var log, stdout bytes.Buffer
	rep := New(Options{Log: &log, Stdout: &stdout, Password: password})
	rep.Group("Plan")
	rep.Infof("line")
	rep.Warningf("careful")
	rep.Finish(Run{Result: ResultFailed, Failure: &Failure{Step: StepPlan, Err: errors.New("no cluster")}})
	if strings.Contains(log.String(), "::") || strings.Contains(log.String(), password) {
		t.Errorf("workflow command or password outside Actions:\n%s", log.String())
	}
	for _, want := range []string{"== Plan\n", "line\n", "warning: careful\n", "error: plan failed: no cluster\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	var outputs map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &outputs); err != nil || outputs["result"] != "failed" {
		t.Errorf("stdout is not the outputs object (%v):\n%s", err, stdout.String())
	}
	if _, ok := outputs["services"].([]any); !ok {
		t.Errorf("services is not a JSON array: %#v", outputs["services"])
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

func TestOutputFileIsWrittenUnderActionsToo(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out")}
	var log, stdout bytes.Buffer
	path := filepath.Join(dir, "outputs.json")
	rep := New(Options{Actions: true, Log: &log, Stdout: &stdout, Getenv: func(k string) string { return env[k] }, OutputFile: path})
	rep.Outputs(Run{Result: ResultDryRun})
	var outputs map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &outputs); err != nil || outputs["result"] != "dry-run" {
		t.Errorf("--output-file under Actions: %v, %v", outputs, err)
	}
	if !strings.Contains(readFile(t, env["GITHUB_OUTPUT"]), "result<<") || stdout.Len() != 0 {
		t.Errorf("GITHUB_OUTPUT not written, or stdout used: %q", stdout.String())
	}
}
