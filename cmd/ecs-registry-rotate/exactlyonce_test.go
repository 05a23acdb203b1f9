package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// Issue #13: every change lands exactly once.

// mutatingOps are the calls of a run that change AWS.
var mutatingOps = []string{
	"PutSecretValue", "UpdateSecretVersionStage", "UpdateService",
	"PutParameter", "DeleteParameter", "SendCommand", "CancelCommand",
}

// loseEveryFirstAnswer makes every changing call take effect and lose its
// first answer, so that the SDK sends it again.
func loseEveryFirstAnswer(f *awsfake.Server) {
	for _, op := range mutatingOps {
		f.LoseAnswer(op)
	}
}

func TestLostAnswersSecretsManager(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newWorld(t)
	loseEveryFirstAnswer(w.fake)
	r := w.run(t, w.defaultInputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	if w.fake.LostAnswers("*") == 0 {
		t.Fatal("no answer was lost: the test tests nothing")
	}
	if n := len(w.fake.SecretVersions(w.secretARN)); n != 2 {
		t.Errorf("%d secret versions, want 2: the retried write makes no second version", n)
	}
	if !strings.Contains(w.fake.SecretString(w.secretARN), newPassword) {
		t.Error("the secret does not hold the new password")
	}
	for _, svc := range []string{"web", "worker"} {
		s, _ := w.fake.ServiceSnapshot("prod", svc)
		if s.RunningCount != s.DesiredCount {
			t.Errorf("service %s: %d/%d running", svc, s.RunningCount, s.DesiredCount)
		}
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("parameters left: %v (the locks must be released)", names)
	}
}

func TestLostAnswersECSConfig(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	before := w.configs(t)
	loseEveryFirstAnswer(w.fake)
	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	if w.fake.LostAnswers("SendCommand") == 0 || w.fake.LostAnswers("PutParameter") == 0 {
		t.Fatal("no SendCommand or PutParameter answer was lost: the test tests nothing")
	}
	for i, in := range decodeInstances(t, r.outputs["instances"]) {
		if in.Status != "updated" {
			t.Errorf("instance %d: %+v, want updated", i, in)
		}
		agent, _ := w.fake.Agent(w.refs[i].InstanceID)
		if agent.Auth[w.fake.RegistryHost()] != user+":"+newPassword || agent.Auth["ghcr.io"] != "other:keep" {
			t.Errorf("instance %d's agent loaded %v", i, agent.Auth)
		}
	}
	for i, cfg := range w.configs(t) {
		if cfg != ecsConfigText(w.fake.RegistryHost(), newPassword) {
			t.Errorf("instance %d's ecs.config:\n%s", i, cfg)
		}
		if b := w.backups(t, i); len(b) != 1 || b[0] != before[i] {
			t.Errorf("instance %d's backups %q, want one holding the original", i, b)
		}
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("parameters left: %v", names)
	}
	if !strings.Contains(r.stdout, "second delivery") {
		t.Errorf("the log does not show the second deliveries of the lost SendCommands:\n%s", r.stdout)
	}
}

// A rollback whose UpdateSecretVersionStage answer was lost: the retry is
// refused because the label moved already, the read-back shows it moved,
// and the services are rolled again.
func TestLostAnswerOfTheRollbackMove(t *testing.T) {
	w := newWorld(t)
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // the new one never worked
	original := w.fake.SecretVersions(w.secretARN)[0].VersionID
	w.fake.LoseAnswer("UpdateSecretVersionStage")
	in := wrongPassword(w)
	in["rollback-on-failure"] = "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "rolled-back" {
		t.Fatalf("exit %d, result %q; want 1 and rolled-back", r.code, r.outputs["result"])
	}
	if w.fake.LostAnswers("UpdateSecretVersionStage") != 1 {
		t.Fatal("the move's answer was not lost: the test tests nothing")
	}
	if !hasStage(w.fake.SecretVersions(w.secretARN), original, "AWSCURRENT") {
		t.Errorf("AWSCURRENT is not back on %s", original)
	}
	if n := strings.Count(strings.Join(w.mutations(), " "), "UpdateSecretVersionStage"); n != 1 {
		t.Errorf("AWSCURRENT moved %d times, want once", n)
	}
	// Rolled once by the rollout and once more by the rollback: the move's
	// lost answer makes no second rollback.
	if got := updatesByService(w.fake); !maps.Equal(got, map[string]int{"web": 2, "worker": 2}) {
		t.Errorf("deployments started by service %v, want web and worker rolled, then rolled back, once each", got)
	}
	// The rollback's deploy group says which deployment each service got.
	_, group, _ := strings.Cut(r.stdout, "::group::Roll back: deploy")
	group, _, _ = strings.Cut(group, "::endgroup::")
	for _, svc := range []string{"web", "worker"} {
		if !strings.Contains(group, svc) || !strings.Contains(group, "new deployment") {
			t.Errorf("the rollback's deploy group does not name %s's new deployment:%s", svc, group)
		}
	}
}

// Two runs of the same rotation 1.5 s apart (a double-clicked dispatch):
// the second stops before any change, naming the first; never do two
// commands run on one instance at once.
func TestSecondRunStopsNamingTheFirst(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	first := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "shop/deploy", "GITHUB_RUN_ID": "1001"}
	second := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "shop/deploy", "GITHUB_RUN_ID": "1002"}
	var wg sync.WaitGroup
	var r1 result
	wg.Go(func() { r1 = w.runEnv(t, w.inputs(), first) })
	// 1.5 s later, and once the first holds its lock: on a busy machine
	// its plan may take longer than that.
	time.Sleep(1500 * time.Millisecond)
	for deadline := time.Now().Add(testenv.Scale(20 * time.Second)); len(w.fake.ParameterNames()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first run took no lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r2 := w.runEnv(t, w.inputs(), second)
	wg.Wait()
	if r1.code != 0 || r1.outputs["result"] != "success" {
		t.Errorf("first run: exit %d, result %q; want 0 success", r1.code, r1.outputs["result"])
	}
	errLine := lineWith(r2.stdout, "::error")
	if r2.code != 1 || r2.outputs["result"] != "failed" {
		t.Errorf("second run: exit %d, result %q; want 1 failed", r2.code, r2.outputs["result"])
	}
	for _, want := range []string{"https://github.com/shop/deploy/actions/runs/1001", "cluster prod", "nothing was changed"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the second run's error does not say %q:\n%s", want, errLine)
		}
	}
	// Only the first run sent commands: no two ran on an instance at once.
	out, err := ssmClient(t, w.fake).ListCommands(context.Background(), &ssm.ListCommandsInput{})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]bool{}
	for _, c := range out.Commands {
		if f := strings.Fields(aws.ToString(c.Comment)); len(f) >= 3 {
			runs[f[2]] = true
		}
	}
	if len(out.Commands) == 0 || len(runs) != 1 {
		t.Errorf("commands of %d runs (%v) among %d commands, want the first run's only", len(runs), runs, len(out.Commands))
	}
	if r2.outputs["instances"] != "[]" && strings.Contains(r2.outputs["instances"], "updated") {
		t.Errorf("the second run reports instances it did not change: %s", r2.outputs["instances"])
	}
}

// A run killed before its end left its lock and its parameter: the next
// run, after the deadline, takes the lock over and deletes the parameter,
// naming both.
func TestStaleLockAndParameterOfAKilledRun(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	api := ssmClient(t, w.fake)
	ctx := context.Background()
	lockName := "/ecs-registry-rotate/lock/cluster/prod"
	stale := "/ecs-registry-rotate/20261101t000000-deadbeef"
	if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(lockName), Type: "String",
		Value: aws.String(`{"runId":"20261101t000000-deadbeef","started":"2026-11-01T00:00:00Z","deadline":"2026-11-01T01:10:00Z"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(stale), Type: "SecureString", Value: aws.String("b2xkLWNyZWRlbnRpYWxz"),
		Description: aws.String("ecs-registry-rotate: registry auth data for the container instances of cluster prod during one run; deleted when the run ends (deadline 2026-11-01T01:10:00Z)")}); err != nil {
		t.Fatal(err)
	}
	live := "/ecs-registry-rotate/29991231t000000-cafecafe"
	if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(live), Type: "SecureString", Value: aws.String("bGl2ZQ=="),
		Description: aws.String("ecs-registry-rotate: ... (deadline 2999-12-31T01:10:00Z)")}); err != nil {
		t.Fatal(err)
	}
	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	if !strings.Contains(lineWith(r.stdout, "took over the lock"), "20261101t000000-deadbeef") {
		t.Errorf("no warning names the stale lock's holder:\n%s", r.stdout)
	}
	if !strings.HasPrefix(lineWith(r.stdout, "deleted parameter "+stale), "::warning") {
		t.Errorf("no warning names the deleted parameter %s:\n%s", stale, r.stdout)
	}
	if names := w.fake.ParameterNames(); len(names) != 1 || names[0] != live {
		t.Errorf("parameters left %v, want only the live run's %s", names, live)
	}
}

func ssmClient(t *testing.T, f *awsfake.Server) *ssm.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), f.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return ssm.NewFromConfig(cfg)
}

// backups are the contents of instance i's ecs.config backups.
func (w *ecsWorld) backups(t *testing.T, i int) []string {
	t.Helper()
	paths, err := filepath.Glob(w.refs[i].ConfigPath + ".ecs-registry-rotate-*.bak")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// ssmRun is one invocation of a command on one instance, as SSM lists it.
type ssmRun struct {
	command, comment, instance string
	status                     ssmtypes.CommandInvocationStatus
	start, end                 time.Time // the plugin's, by SSM's clock
	result                     script.Result
}

// ssmRuns lists, over SSM's API, every invocation of every command sent so
// far, by instance.
func ssmRuns(t *testing.T, f *awsfake.Server) map[string][]ssmRun {
	t.Helper()
	ctx := context.Background()
	api := ssmClient(t, f)
	out := map[string][]ssmRun{}
	cmds := ssm.NewListCommandsPaginator(api, &ssm.ListCommandsInput{})
	for cmds.HasMorePages() {
		page, err := cmds.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Commands {
			invs := ssm.NewListCommandInvocationsPaginator(api, &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
			for invs.HasMorePages() {
				ip, err := invs.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, inv := range ip.CommandInvocations {
					r := ssmRun{command: aws.ToString(c.CommandId), comment: aws.ToString(c.Comment), instance: aws.ToString(inv.InstanceId), status: inv.Status}
					for _, p := range inv.CommandPlugins {
						r.start, r.end = aws.ToTime(p.ResponseStartDateTime), aws.ToTime(p.ResponseFinishDateTime)
						r.result = script.ParseOutput(aws.ToString(p.Output))
					}
					if r.end.IsZero() {
						r.end = time.Now() // still running when listed
					}
					out[r.instance] = append(out[r.instance], r)
				}
			}
		}
	}
	return out
}

var (
	sentRollbackRE = regexp.MustCompile(`rollback: sent command (\S+) to`)
	secondRE       = regexp.MustCompile(`rollback: command (\S+) is a second delivery of command (\S+) `)
)

// A rollback whose every SendCommand is delivered twice: each instance gets
// its original back byte for byte, from its one backup; the log names the
// second delivery of each rollback command; on each instance no command
// ran while another SendCommand's did, and the two deliveries of one took
// turns: the first restored the file and restarted the agent, the second
// found it restored, so the agent restarted once for the rollback.
func TestECSConfigRollbackDeliveredTwice(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // the new password never worked
	before := w.configs(t)
	w.fake.LoseAnswer("SendCommand")
	in := w.inputs()
	in["password"], in["verify-credentials"], in["rollback-on-failure"] = "typo-"+newPassword, "false", "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "rolled-back" {
		t.Fatalf("exit %d, result %q; want 1 and rolled-back", r.code, r.outputs["result"])
	}
	if w.fake.LostAnswers("SendCommand") == 0 {
		t.Fatal("no SendCommand answer was lost: the test tests nothing")
	}
	for i, cfg := range w.configs(t) {
		if cfg != before[i] {
			t.Errorf("instance %d's ecs.config is not the original byte for byte:\n%s", i, cfg)
		}
	}
	for _, in := range decodeInstances(t, r.outputs["instances"]) {
		if in.Status != "restored" {
			t.Errorf("instance %s: status %s, want restored", in.EC2InstanceID, in.Status)
		}
	}

	runs := ssmRuns(t, w.fake)
	commentOf := map[string]string{}
	for _, rs := range runs {
		for _, x := range rs {
			commentOf[x.command] = x.comment
		}
	}
	// Each rollback SendCommand ran twice, and the log says so.
	sent := sentRollbackRE.FindAllStringSubmatch(r.stdout, -1)
	if len(sent) != len(w.refs) {
		t.Fatalf("the log names %d rollback commands, want one per instance (a batch each):\n%s", len(sent), r.stdout)
	}
	seconds := map[string]string{} // command → its second delivery, as the log names them
	for _, m := range secondRE.FindAllStringSubmatch(r.stdout, -1) {
		seconds[m[2]] = m[1]
	}
	for _, m := range sent {
		id := m[1]
		dup, ok := seconds[id]
		switch {
		case !ok:
			t.Errorf("the log does not name the second delivery of rollback command %s", id)
		case dup == id || commentOf[dup] == "" || commentOf[dup] != commentOf[id]:
			t.Errorf("the log names %s as the second delivery of %s; SSM lists it with comment %q, the command with %q", dup, id, commentOf[dup], commentOf[id])
		}
	}

	for _, ref := range w.refs {
		rs := runs[ref.InstanceID]
		// The two deliveries of one SendCommand (one comment) both start
		// at once in SSM's view, the script's lock making them take turns
		// (below); a command of another call never runs beside them.
		for i, a := range rs {
			for _, b := range rs[i+1:] {
				if a.comment != b.comment && a.start.Before(b.end) && b.start.Before(a.end) {
					t.Errorf("%s: %s (%q, %s to %s) overlapped %s (%q, %s to %s)", ref.InstanceID,
						a.command, a.comment, a.start.Format("15:04:05.000"), a.end.Format("15:04:05.000"),
						b.command, b.comment, b.start.Format("15:04:05.000"), b.end.Format("15:04:05.000"))
				}
			}
		}
		var rollbacks []ssmRun
		for _, x := range rs {
			if strings.Contains(x.comment, " rollback ") {
				rollbacks = append(rollbacks, x)
			}
		}
		if len(rollbacks) != 2 || rollbacks[0].comment != rollbacks[1].comment {
			t.Errorf("%s: %d rollback invocations, want one command delivered twice: %+v", ref.InstanceID, len(rollbacks), rollbacks)
			continue
		}
		slices.SortFunc(rollbacks, func(a, b ssmRun) int { return a.end.Compare(b.end) })
		first, second := rollbacks[0], rollbacks[1]
		if first.status != ssmtypes.CommandInvocationStatusSuccess || first.result.File != script.FileRestored || first.result.Agent != script.AgentRestarted ||
			second.status != ssmtypes.CommandInvocationStatusSuccess || second.result.File != script.FileRestored || second.result.Agent != script.AgentRestartNotNeeded {
			t.Errorf("%s: the deliveries did not take turns: the first to end %s file=%s agent=%s, the second %s file=%s agent=%s; want restored and restarted, then restored and restart-not-needed",
				ref.InstanceID, first.status, first.result.File, first.result.Agent, second.status, second.result.File, second.result.Agent)
		}
		if a, _ := w.fake.Agent(ref.InstanceID); a.Restarts != 2 {
			t.Errorf("%s: the agent restarted %d times, want twice: once for the apply, once for the rollback", ref.InstanceID, a.Restarts)
		}
	}
}
