package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

func TestBound(t *testing.T) {
	if s := strings.Repeat("é", MaxOutside); Bound(s) != s {
		t.Errorf("a string of MaxOutside characters was cut")
	}
	long := strings.Repeat("é", MaxOutside) + strings.Repeat("ü", 5000)
	got := Bound(long)
	if want := strings.Repeat("é", MaxOutside) + "…(5000 more characters)"; got != want {
		t.Errorf("Bound = …%q", got[len(got)-40:])
	}
	if Bound(got) != got {
		t.Errorf("Bound cut its own result again: …%q", Bound(got)[len(Bound(got))-40:])
	}
	if !utf8.ValidString(Bound(strings.Repeat("ab", MaxOutside))) {
		t.Error("Bound left invalid UTF-8")
	}
	if n := utf8.RuneCountInString(Neutral(strings.Repeat("a", 1<<20))); n > MaxOutside+30 {
		t.Errorf("Neutral of 1 MiB is %d characters", n)
	}
}

// huge is what a hostile endpoint could send as a reason: 1 MB, with line
// breaks, markup and workflow commands.
var huge = strings.Repeat("CannotPullContainerError: denied\n::error::x <b>|</b> ", 1<<20/50)

// TestHugeOutsideTextIsBounded: a 1 MB stoppedReason (and as large a
// container reason, service reason, error, registry detail, instance detail,
// image and warning) leaves a log, outputs and a summary each far below
// 1 MB, every line of the log below maxLine, and says what it cut.
func TestHugeOutsideTextIsBounded(t *testing.T) {
	rep, out, env := newTestReporter(t)
	task := failedTask("web", "t1", huge)
	task.Containers[0].Image = "registry.example.com/" + huge
	run := Run{Result: ResultFailed, Mode: "ecs-config", Cluster: "prod",
		Plan: &plan.Plan{Clusters: []string{"prod"}, Warnings: []string{huge},
			Services: []plan.Service{{Name: "web", Containers: []plan.Container{{Name: "web", Image: huge, UsesECSConfig: true}}}}},
		Verify: []verify.ImageResult{{Image: huge, Registry: "ghcr.io", Status: "denied", Detail: huge}},
		Store: &FleetStored{Planned: plan.Fleet{RegistryKey: "ghcr.io"},
			Instances: []Instance{{EC2InstanceID: "i-1", Status: "failed", Detail: huge, CommandID: huge}}},
		Watch: &rollout.Result{FailedTasks: []rollout.FailedTask{task},
			Services: []rollout.ServiceResult{{Service: "web", State: rollout.StateFailed, Reason: huge, DeploymentID: "ecs-svc/1"}}},
		Failure: &Failure{Step: StepRollout, Resource: "service web", Err: fmt.Errorf("%w: %s", ErrNotRolledOut, huge)}}
	rep.Plan(*run.Plan, run.Store)
	rep.Infof("instance i-1: %s", huge)
	rep.Warningf("%v", errors.New(huge))
	if err := rep.Finish(run); err != nil {
		t.Fatal(err)
	}
	log, outputs, summary := out.String(), readFile(t, env["GITHUB_OUTPUT"]), readFile(t, env["GITHUB_STEP_SUMMARY"])
	for name, text := range map[string]string{"log": log, "outputs": outputs, "summary": summary} {
		if len(text) > 100<<10 {
			t.Errorf("the %s is %d bytes", name, len(text))
		}
		if !regexp.MustCompile(`…\\?\(\d+ more characters\\?\)`).MatchString(text) {
			t.Errorf("the %s does not say what it cut", name)
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if utf8.RuneCountInString(l) > maxLine+200 {
			t.Errorf("a log line of %d characters: %.80q…", utf8.RuneCountInString(l), l)
		}
	}
	// The annotation keeps its hint after the cut reason.
	if !strings.Contains(log, "Hint: the registry refused the pull") {
		t.Errorf("the rollout annotation lost its hint:\n%.2000s", log)
	}
	var tasks []rollout.FailedTask
	if err := json.Unmarshal([]byte(parseOutputValue(t, outputs, "failed-tasks")), &tasks); err != nil || len(tasks) != 1 {
		t.Fatalf("failed-tasks: %v, %d tasks", err, len(tasks))
	}
	if n := utf8.RuneCountInString(tasks[0].StoppedReason); n > MaxOutside+30 || !strings.HasPrefix(huge, tasks[0].StoppedReason[:100]) {
		t.Errorf("stoppedReason in the outputs: %d characters", n)
	}
	if run.Watch.FailedTasks[0].StoppedReason != huge {
		t.Error("the run's own data was cut")
	}
}

// parseOutputValue reads one name<<delimiter block of GITHUB_OUTPUT.
func parseOutputValue(t *testing.T, text, name string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if n, delim, ok := strings.Cut(l, "<<"); ok && n == name {
			var v []string
			for _, m := range lines[i+1:] {
				if m == delim {
					return strings.Join(v, "\n")
				}
				v = append(v, m)
			}
		}
	}
	t.Fatalf("no output %s", name)
	return ""
}

// TestSummaryStaysWithinBudget: rows past the budget are left out and
// counted, in a last line; the <details> of the plan still closes.
func TestSummaryStaysWithinBudget(t *testing.T) {
	var services []rollout.ServiceResult
	for i := range 1000 {
		services = append(services, rollout.ServiceResult{Service: fmt.Sprintf("svc-%04d", i), State: rollout.StateSucceeded, DeploymentID: "ecs-svc/1"})
	}
	run := Run{Result: ResultSuccess, Mode: "secrets-manager", Cluster: "prod", Watch: &rollout.Result{Services: services}}
	summary := renderSummary(run, nil, 20<<10)
	if len(summary) > 20<<10 {
		t.Errorf("summary of %d bytes for a budget of %d", len(summary), 20<<10)
	}
	m := regexp.MustCompile(`This summary stops here to stay under GitHub's 1 MiB limit for a job summary: (\d+) more rows were left out`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no line says rows were left out:\n…%s", summary[len(summary)-300:])
	}
	if shown := strings.Count(summary, `| svc\-`); fmt.Sprint(1000-shown) != m[1] {
		t.Errorf("%d rows shown, the summary says %s left out, of 1000", shown, m[1])
	}

	// Many distinct huge reasons: the real budget holds.
	var tasks []rollout.FailedTask
	for i := range 3000 {
		tasks = append(tasks, failedTask("web", fmt.Sprint("t", i), fmt.Sprint(i, huge[:5000])))
	}
	run = Run{Result: ResultFailed, Mode: "secrets-manager", Cluster: "prod", Watch: &rollout.Result{FailedTasks: tasks},
		Plan:    &plan.Plan{Services: []plan.Service{{Name: "web", Containers: []plan.Container{{Name: "web", Image: "x"}}}}},
		Failure: &Failure{Step: StepRollout, Err: ErrNotRolledOut}}
	summary = Summary(run)
	if len(summary) > summaryBudget || len(summary) < summaryBudget/2 {
		t.Errorf("summary of %d bytes; budget %d", len(summary), summaryBudget)
	}
	if !strings.Contains(summary, "more rows were left out") {
		t.Errorf("the cut summary does not say so")
	}
	if strings.Contains(summary, "<details") {
		t.Errorf("the plan's <details> opened after the budget was spent")
	}
}

// TestOutputsStayWithinBudget: thousands of failed tasks keep each array
// output within outputBudget, valid JSON, with a warning naming the output.
func TestOutputsStayWithinBudget(t *testing.T) {
	rep, out, env := newTestReporter(t)
	var tasks []rollout.FailedTask
	for i := range 5000 {
		tasks = append(tasks, failedTask("web", fmt.Sprint("t", i), huge[:3000]))
	}
	rep.Outputs(Run{Result: ResultFailed, Watch: &rollout.Result{FailedTasks: tasks}})
	v := parseOutputValue(t, readFile(t, env["GITHUB_OUTPUT"]), "failed-tasks")
	var got []rollout.FailedTask
	if err := json.Unmarshal([]byte(v), &got); err != nil || len(v) > outputBudget || len(got) == 0 {
		t.Fatalf("failed-tasks: %d bytes, %d tasks, %v", len(v), len(got), err)
	}
	if want := fmt.Sprintf("::warning::output failed-tasks lists the first %d of 5000 entries", len(got)); !strings.Contains(out.String(), want) {
		t.Errorf("no warning %q:\n%s", want, out.String())
	}
}

// TestCutNeverLeavesPartOfThePassword: the password is scrubbed before
// outside text is cut, so no prefix of it survives a cut that falls inside it.
func TestCutNeverLeavesPartOfThePassword(t *testing.T) {
	rep, out, env := newTestReporter(t)
	reason := strings.Repeat("x", MaxOutside-4) + password + strings.Repeat("y", 3000)
	rep.Infof("reason: %s", reason)
	rep.Finish(Run{Result: ResultFailed, Mode: "secrets-manager", Cluster: "prod",
		Watch:   &rollout.Result{FailedTasks: []rollout.FailedTask{failedTask("web", "t1", reason)}},
		Failure: &Failure{Step: StepRollout, Err: ErrNotRolledOut}})
	for name, text := range map[string]string{"log": strings.SplitN(out.String(), "\n", 2)[1], "summary": readFile(t, env["GITHUB_STEP_SUMMARY"])} {
		if strings.Contains(text, "xhunt") || strings.Contains(text, `x\-hunt`) || strings.Contains(text, "xhunter") {
			t.Errorf("the %s keeps part of the password where the cut fell", name)
		}
	}
}
