package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/iam"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// Issue #9, point 7: every AWS call the program makes, in each mode, fails
// in each way AWS fails, and the run still tells the truth: exit 1, one
// ::error naming the step and the resource (and the IAM action to grant when
// access was denied), what had changed by then exactly as the fake shows it,
// no password anywhere, and a re-run on a healthy AWS completes.

// faultKinds are the ways a call fails in the matrix. Every one fails every
// attempt: AccessDenied and ExpiredToken are not retried by the SDK, the
// other three are retried (10 attempts) and then returned.
var faultKinds = []awsfake.FaultKind{
	awsfake.AccessDenied,
	awsfake.ThrottledAlways,
	awsfake.InternalFailure,
	awsfake.ExpiredToken,
	awsfake.ConnectionReset,
}

// permanent reports whether the kind is one no retry cures: loops that wait
// (the watch, the agents' reconnect, the commands) stop on it at once, and
// retry the others until their timeout.
func permanent(k awsfake.FaultKind) bool {
	return k == awsfake.AccessDenied || k == awsfake.ExpiredToken
}

// faultRow is one use of one AWS call in a run: the fault hits that use.
type faultRow struct {
	mode  string // iam.SecretsManager or iam.ECSConfig
	op    string // the API operation
	phase string // which of the op's uses the fault hits, for the sub-test's name
	// skip and after place the fault (awsfake.Fault): the first skip calls
	// pass, counted once after has succeeded.
	skip  int
	after string
	// step is the step the ::error names; resource is how it names what the
	// call was about.
	step     string
	resource string
	// waits: the call is made by a loop that retries failed calls until its
	// timeout (see each row). Permanent kinds stop the loop at once; the
	// others end it at the timeout, which is then the failure.
	waits bool
	// cleanup: the call is the run's clean-up, after the rotation itself
	// succeeded (DeleteParameter).
	cleanup bool
	// warns: the call's failure cannot stop the rotation (releasing the
	// locks, looking for parameters killed runs left): the run succeeds
	// with a ::warning that names the call.
	warns bool
	// timeout is the run's timeout input when a transient fault makes the
	// run wait for it; "" is the mode's default.
	timeout string
	// cluster is the run's cluster input; "" is the world's cluster prod.
	cluster string
}

func (r faultRow) name(k awsfake.FaultKind) string {
	return fmt.Sprintf("%s/%s@%s/%s", r.mode, r.op, r.phase, k)
}

// smRows are the calls of a secrets-manager run, in the order it makes them.
var smRows = []faultRow{
	{op: "GetSecretValue", phase: "plan", step: report.StepPlan, resource: "secret prod/registry"},
	// cluster "*" lists the clusters of the region, after the secret.
	{op: "ListClusters", phase: "plan", cluster: "*", step: report.StepPlan, resource: "the clusters of the region"},
	{op: "ListServices", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeServices", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeTaskDefinition", phase: "plan", step: report.StepPlan, resource: "task definition"},
	// One run at a time: the lock is taken before the write, and the
	// secret read again under it.
	{op: "PutParameter", phase: "lock", step: report.StepLock, resource: "lock /ecs-registry-rotate/lock/"},
	{op: "GetSecretValue", phase: "lock", skip: 1, step: report.StepLock, resource: "secret prod/registry"},
	// The write: the fault comes before it takes effect; the product reads
	// the secret back and must find it unchanged.
	{op: "PutSecretValue", phase: "write", step: report.StepSecret, resource: "secret prod/registry"},
	{op: "UpdateService", phase: "first", step: report.StepDeploy, resource: "in cluster prod"},
	// The two UpdateService calls go out together: one passes, the other
	// fails, and the statement must name the one that was redeployed.
	{op: "UpdateService", phase: "second", skip: 1, step: report.StepDeploy, resource: "in cluster prod"},
	// The watch looks again at the next poll after a failed
	// DescribeServices, ListTasks or DescribeTasks: a transient fault that
	// lasts ends the watch at its timeout, and the services are reported as
	// last seen, with the last error.
	{op: "DescribeServices", phase: "watch", skip: 1, step: report.StepRollout, resource: "in cluster prod", waits: true},
	{op: "ListTasks", phase: "watch", step: report.StepRollout, resource: "started by deployment", waits: true},
	{op: "DescribeTasks", phase: "watch", step: report.StepRollout, resource: "in cluster prod", waits: true},
	{op: "GetParameter", phase: "release", warns: true},
	{op: "DeleteParameter", phase: "release", warns: true},
}

// ecsRows are the calls of an ecs-config run (one instance, parameter
// transport), in the order it makes them.
var ecsRows = []faultRow{
	// cluster "*" lists the clusters of the region first.
	{op: "ListClusters", phase: "plan", cluster: "*", step: report.StepPlan, resource: "the clusters of the region"},
	{op: "ListContainerInstances", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeContainerInstances", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeInstanceInformation", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "ListServices", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeServices", phase: "plan", step: report.StepPlan, resource: "cluster prod"},
	{op: "DescribeTaskDefinition", phase: "plan", step: report.StepPlan, resource: "task definition"},
	{op: "PutParameter", phase: "lock", step: report.StepLock, resource: "lock /ecs-registry-rotate/lock/"},
	{op: "DescribeParameters", phase: "cleanup", warns: true},
	{op: "PutParameter", phase: "write", skip: 1, step: report.StepECSConfig, resource: "parameter /ecs-registry-rotate/"},
	{op: "SendCommand", phase: "preflight", step: report.StepECSConfig, resource: "on instances"},
	// After each SendCommand the run lists its own commands, to find one
	// that a lost answer made the SDK send twice.
	{op: "ListCommands", phase: "preflight", step: report.StepECSConfig, resource: "the commands of run"},
	// ListCommandInvocations is polled until the commands end or the
	// timeout passes: a transient fault that lasts ends the wait at the
	// timeout, with the last error.
	{op: "ListCommandInvocations", phase: "preflight", step: report.StepECSConfig, resource: "command", waits: true, timeout: "5s"},
	{op: "SendCommand", phase: "apply", skip: 1, step: report.StepECSConfig, resource: "on instances"},
	// The apply command has run on the instance when the fault hits: the
	// run cannot learn its outcome, and must not say nothing changed.
	{op: "ListCommandInvocations", phase: "apply", after: "SendCommand", skip: 0, step: report.StepECSConfig, resource: "command", waits: true, timeout: "12s"},
	// After the apply the agents are described until they connect again:
	// the same retry until the timeout.
	{op: "DescribeContainerInstances", phase: "reconnect", skip: 1, step: report.StepECSConfig, resource: "container instances in cluster prod", waits: true, timeout: "20s"},
	{op: "DeleteParameter", phase: "cleanup", step: "parameter not deleted", resource: "/ecs-registry-rotate/", cleanup: true},
	{op: "DeleteParameter", phase: "release", skip: 1, warns: true},
	{op: "GetParameter", phase: "release", warns: true},
	{op: "UpdateService", phase: "first", step: report.StepDeploy, resource: "in cluster prod"},
	{op: "DescribeServices", phase: "watch", skip: 1, step: report.StepRollout, resource: "in cluster prod", waits: true, timeout: "15s"},
	{op: "ListTasks", phase: "watch", step: report.StepRollout, resource: "started by deployment", waits: true, timeout: "15s"},
	{op: "DescribeTasks", phase: "watch", step: report.StepRollout, resource: "in cluster prod", waits: true, timeout: "15s"},
}

// notInARun are the table's actions no run in the matrix makes, and why.
var notInARun = map[string]string{
	"secretsmanager:UpdateSecretVersionStage": "rollback-on-failure only (rollback_test.go, TestLostAnswerOfTheRollbackMove)",
	"ssm:CancelCommand":                       "only for a command still running when its wait ends (ecsconfig's tests, TestLostAnswerOfCancelCommand)",
}

// iamAction is the table's action for op in mode.
func iamAction(t *testing.T, mode, op string) string {
	t.Helper()
	for _, p := range iam.Permissions {
		if _, name, _ := strings.Cut(p.Action, ":"); name == op && slices.Contains(p.Modes, mode) {
			return p.Action
		}
	}
	t.Fatalf("internal/iam has no action for %s in %s mode", op, mode)
	return ""
}

// The matrix and internal/iam's table name the same calls: every call of the
// matrix has its action in the table, and every action of the table is in
// the matrix or said to be made only outside it.
func TestFaultMatrixCoversTheIAMTable(t *testing.T) {
	for mode, rows := range map[string][]faultRow{iam.SecretsManager: smRows, iam.ECSConfig: ecsRows} {
		covered := map[string]bool{}
		for _, r := range rows {
			covered[iamAction(t, mode, r.op)] = true
		}
		for _, p := range iam.Permissions {
			if slices.Contains(p.Modes, mode) && !covered[p.Action] && notInARun[p.Action] == "" {
				t.Errorf("%s mode: %s is in internal/iam's table but no row of the fault matrix calls it", mode, p.Action)
			}
		}
	}
}

func TestFaultMatrix(t *testing.T) {
	type job struct {
		row  faultRow
		kind awsfake.FaultKind
	}
	var jobs []job
	for _, rows := range []struct {
		mode string
		rows []faultRow
	}{{iam.SecretsManager, smRows}, {iam.ECSConfig, ecsRows}} {
		for _, r := range rows.rows {
			r.mode = rows.mode
			for _, k := range faultKinds {
				jobs = append(jobs, job{r, k})
			}
		}
	}
	// The rows that wait for a long timeout start first, so that they wait
	// while the others run.
	sort.SliceStable(jobs, func(a, b int) bool {
		return jobs[a].row.timeout != "" && !permanent(jobs[a].kind) && (jobs[b].row.timeout == "" || permanent(jobs[b].kind))
	})
	// Secrets-manager runs mostly wait (polls, task ticks), so more of them
	// run at once than there are cores: sub-tests started from goroutines
	// are not held to -parallel. Ecs-config runs spend CPU on the instance
	// script (bash, sha256sum, curl), so fewer of them run at once.
	limits := map[string]int{iam.SecretsManager: 10, iam.ECSConfig: 6}
	if n, err := strconv.Atoi(os.Getenv("FAULT_MATRIX_PARALLEL")); err == nil && n > 0 {
		limits[iam.SecretsManager], limits[iam.ECSConfig] = n, n
	}
	sems := map[string]chan struct{}{}
	for mode, n := range limits {
		sems[mode] = make(chan struct{}, n)
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := sems[j.row.mode]
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(j.row.name(j.kind), func(t *testing.T) { runFaultRow(t, j.row, j.kind) })
		}()
	}
	wg.Wait()
}

// faultWorld is either mode's world, with what the test compares against.
type faultWorld struct {
	*world
	ecs     *ecsWorld // nil in secrets-manager mode
	before  []string  // ecs-config: each instance's ecs.config before the run
	restart []int     // ecs-config: each agent's restarts before the run
}

func newFaultWorld(t *testing.T, mode string) (*faultWorld, map[string]string) {
	if mode == iam.SecretsManager {
		w := newWorld(t)
		in := w.defaultInputs()
		// Long enough for several polls on a loaded machine, so that a
		// transient fault is seen by a poll the deadline does not cut.
		in["timeout"], in["poll-interval"] = testenv.ScaleString(4*time.Second), "25ms"
		return &faultWorld{world: w}, in
	}
	ew := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023})
	fw := &faultWorld{world: ew.world, ecs: ew, before: ew.configs(t)}
	for _, r := range ew.refs {
		a, _ := ew.fake.Agent(r.InstanceID)
		fw.restart = append(fw.restart, a.Restarts)
	}
	in := ew.inputs()
	// The instance scripts take most of a run's time (and CPU): polls every
	// 100 ms see them end soon enough, and cost a quarter of 25 ms ones.
	in["timeout"], in["poll-interval"] = testenv.ScaleString(45*time.Second), "100ms"
	return fw, in
}

// truth is what the fake shows the run changed.
type truth struct {
	secretVersion string   // the new AWSCURRENT version; "" when not written
	services      []string // services with a new deployment, sorted
	instances     []string // instances whose ecs.config or agent changed, sorted
}

func (w *faultWorld) truth(t *testing.T) truth {
	var tr truth
	if w.ecs == nil {
		if vs := w.fake.SecretVersions(w.secretARN); len(vs) > 1 {
			for _, v := range vs {
				if slices.Contains(v.Stages, "AWSCURRENT") {
					tr.secretVersion = v.VersionID
				}
			}
		}
	} else {
		after := w.ecs.configs(t)
		for i, r := range w.ecs.refs {
			a, _ := w.fake.Agent(r.InstanceID)
			if after[i] != w.before[i] || a.Restarts != w.restart[i] {
				tr.instances = append(tr.instances, r.InstanceID)
			}
		}
	}
	for svc := range updatesByService(w.fake) {
		tr.services = append(tr.services, svc)
	}
	sort.Strings(tr.services)
	sort.Strings(tr.instances)
	return tr
}

// updatesByService counts, by service, the UpdateService calls that took
// effect: each is a deployment ECS started.
func updatesByService(f *awsfake.Server) map[string]int {
	n := map[string]int{}
	for _, c := range f.MutatingCalls() {
		if c.Operation != "UpdateService" {
			continue
		}
		var svc string
		if m := regexp.MustCompile(`"service":"([^"]+)"`).FindSubmatch(c.Input); m != nil {
			svc = string(m[1])
		}
		n[svc]++
	}
	return n
}

func (tr truth) nothing() bool {
	return tr.secretVersion == "" && len(tr.services) == 0 && len(tr.instances) == 0
}

// listIn reads the comma-separated names between prefix and suffix in
// line's statement of what changed.
func listIn(line, prefix, suffix string) []string {
	_, line, _ = strings.Cut(line, "Changed before the failure: ")
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `([^;]*?)` + regexp.QuoteMeta(suffix)).FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	names := strings.Split(m[1], ", ")
	sort.Strings(names)
	return names
}

func errorLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "::error") {
			out = append(out, l)
		}
	}
	return out
}

func runFaultRow(t *testing.T, row faultRow, kind awsfake.FaultKind) {
	w, in := newFaultWorld(t, row.mode)
	if row.timeout != "" && !permanent(kind) {
		d, err := time.ParseDuration(row.timeout)
		if err != nil {
			t.Fatal(err)
		}
		in["timeout"] = testenv.ScaleString(d)
	}
	if row.cluster != "" {
		in["cluster"] = row.cluster
	}
	w.fake.Inject(row.op, awsfake.Fault{Kind: kind, Skip: row.skip, After: row.after})
	r := w.run(t, in)
	if row.warns {
		checkWarned(t, w, in, row, r, kind)
		return
	}

	wantCode := 1
	if row.cleanup {
		// The rotation finished before the clean-up failed: the run
		// succeeded, and its one ::error says which parameter outlived it
		// and the command that deletes it.
		wantCode = 0
		if names := runParameters(w.fake); len(names) != 1 || !strings.Contains(lineWith(r.stdout, "::error"), "aws ssm delete-parameter --name "+names[0]) {
			t.Errorf("parameters left %v; the error does not give the command that deletes it", names)
		}
	}
	if r.code != wantCode {
		t.Errorf("exit %d, want %d", r.code, wantCode)
	}
	tr := w.truth(t)
	errs := errorLines(r.stdout)
	title := row.step + " failed"
	if row.cleanup {
		title = row.step
	}
	stepLine := lineWith(r.stdout, "::error title="+title+"::")
	if stepLine == "" {
		t.Fatalf("no ::error titled %q:\n%s", title, strings.Join(errs, "\n"))
	}
	wantErrors := 1
	if row.waits && !permanent(kind) && row.step == report.StepRollout {
		// The watch ran out of time: each service it watched has its own
		// annotation first, timed out as last seen, with the last error,
		// which names the call and what it was about; the step's own says
		// how many did not roll out, and what had changed.
		wantErrors = 1 + len(tr.services)
		for _, svc := range tr.services {
			l := lineWith(r.stdout, "::error title=rollout%3A "+svc+"%3A timed-out::")
			if !strings.Contains(l, "last error: "+iamAction(t, row.mode, row.op)) || !strings.Contains(l, row.resource) {
				t.Errorf("service %s: no timed-out annotation with the last error on %q: %q", svc, row.resource, l)
			}
		}
	} else if !strings.Contains(stepLine, row.resource) {
		t.Errorf("the error does not name the resource (%q): %s", row.resource, stepLine)
	}
	if len(errs) != wantErrors {
		t.Errorf("%d ::error lines, want %d:\n%s", len(errs), wantErrors, strings.Join(errs, "\n"))
	}
	// The failed call is named by its IAM action, whatever the kind: the
	// step's own error, or the last error of the services it left.
	action := iamAction(t, row.mode, row.op)
	if !strings.Contains(r.stdout, action) {
		t.Errorf("no ::error names the failed call %s:\n%s", action, strings.Join(errs, "\n"))
	}
	switch kind {
	case awsfake.AccessDenied:
		if !strings.Contains(stepLine, "lacks the IAM permission "+action) {
			t.Errorf("the denial does not name the permission %s: %s", action, stepLine)
		}
	case awsfake.ExpiredToken:
		if !strings.Contains(stepLine, "role-duration-seconds") || !strings.Contains(stepLine, "role-to-assume") {
			t.Errorf("the expiry does not say how to keep the credentials alive: %s", stepLine)
		}
	}
	checkStatement(t, row, stepLine, tr)
	if t.Failed() {
		t.Logf("fake calls: %s", callSummary(w.fake))
		return
	}

	rerunAfterLift(t, w, in)
}

// rerunAfterLift runs again with the fault lifted: the same inputs complete
// the rotation. A person re-runs after the agents the failed run restarted
// are back (the plan refuses an instance whose agent is disconnected), and
// after deleting a lock the failed run could not release, as its warning
// says.
func rerunAfterLift(t *testing.T, w *faultWorld, in map[string]string) {
	t.Helper()
	w.fake.LiftAll()
	for _, name := range w.fake.ParameterNames() {
		if strings.HasPrefix(name, lock.Prefix) {
			if _, err := ssmClient(t, w.fake).DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(w.fake.DisconnectedAgents("prod")) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	in["timeout"] = testenv.ScaleString(60 * time.Second)
	again := w.run(t, in)
	if again.code != 0 || (again.outputs["result"] != report.ResultSuccess && again.outputs["result"] != report.ResultUnchanged) {
		t.Fatalf("re-run after the fault was lifted: exit %d, result %q; want 0", again.code, again.outputs["result"])
	}
	if w.ecs == nil {
		if !strings.Contains(w.fake.SecretString(w.secretARN), newPassword) {
			t.Error("after the re-run the secret does not hold the new password")
		}
	} else {
		for i, c := range w.ecs.configs(t) {
			if c == w.before[i] {
				t.Errorf("after the re-run instance %s still holds the old ecs.config", w.ecs.refs[i].InstanceID)
			}
		}
	}
}

// checkStatement compares what the step's ::error says had changed with what
// the fake shows did.
func checkStatement(t *testing.T, row faultRow, line string, tr truth) {
	t.Helper()
	if row.cleanup {
		// The rotation itself finished: the clean-up's error names the
		// parameter left behind, and the run's changes are in the log and
		// outputs as for any success.
		return
	}
	const changed = "Changed before the failure: "
	if tr.nothing() {
		if strings.Contains(line, changed) {
			t.Errorf("nothing changed in AWS, but the error says: %s", line)
		}
		return
	}
	if !strings.Contains(line, changed) {
		t.Fatalf("the fake shows %+v changed, but the error does not say so: %s", tr, line)
	}
	if tr.secretVersion != "" && !strings.Contains(line, "secret prod/registry now holds version "+tr.secretVersion) {
		t.Errorf("the secret holds version %s, but the error says: %s", tr.secretVersion, line)
	}
	if tr.secretVersion == "" && strings.Contains(line, "secret prod/registry now holds") {
		t.Errorf("the secret was not written, but the error says it was: %s", line)
	}
	if got := listIn(line, "services ", " were redeployed"); !slices.Equal(got, tr.services) {
		t.Errorf("the error says services %v were redeployed, the fake shows %v: %s", got, tr.services, line)
	}
	if got := listIn(line, "instances ", " had their ecs.config"); !slices.Equal(got, tr.instances) {
		t.Errorf("the error says instances %v changed, the fake shows %v: %s", got, tr.instances, line)
	}
}

// callSummary is the fake's call log, repeats folded: "ListTasks!Throttling x10".
func callSummary(f *awsfake.Server) string {
	var parts []string
	var last string
	n := 0
	flush := func() {
		if n > 1 {
			parts = append(parts, fmt.Sprintf("%s x%d", last, n))
		} else if n == 1 {
			parts = append(parts, last)
		}
	}
	for _, c := range f.Calls() {
		p := c.Operation
		if c.ErrorCode != "" {
			p += "!" + c.ErrorCode
		}
		if p != last {
			flush()
			last, n = p, 0
		}
		n++
	}
	flush()
	return strings.Join(parts, " ")
}

// checkWarned checks a run whose failed call could not stop the rotation:
// it succeeded, and one ::warning names the call.
func checkWarned(t *testing.T, w *faultWorld, in map[string]string, row faultRow, r result, kind awsfake.FaultKind) {
	t.Helper()
	if r.code != 0 || r.outputs["result"] != report.ResultSuccess {
		t.Errorf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	if errs := errorLines(r.stdout); len(errs) != 0 {
		t.Errorf("::error lines for a call that cannot stop the rotation:\n%s", strings.Join(errs, "\n"))
	}
	action := iamAction(t, row.mode, row.op)
	warning := lineWith(r.stdout, action)
	if !strings.HasPrefix(warning, "::warning") {
		t.Errorf("no ::warning names %s:\n%s", action, r.stdout)
	}
	if kind == awsfake.AccessDenied && !strings.Contains(warning, "lacks the IAM permission "+action) {
		t.Errorf("the warning does not name the permission %s: %s", action, warning)
	}
	if names := runParameters(w.fake); len(names) != 0 {
		t.Errorf("run parameters left: %v", names)
	}
	if t.Failed() {
		t.Logf("fake calls: %s", callSummary(w.fake))
		return
	}
	rerunAfterLift(t, w, in)
}

// runParameters are the parameters that hold credentials: every one under
// /ecs-registry-rotate/ but the locks.
func runParameters(f *awsfake.Server) []string {
	var out []string
	for _, n := range f.ParameterNames() {
		if !strings.HasPrefix(n, lock.Prefix) {
			out = append(out, n)
		}
	}
	return out
}

// The matrix's "lost answer" column (issue #13): each changing call of each
// mode takes effect and loses its first answer, so that the SDK sends it
// again. The run ends as if nothing had been lost: exit 0, the credentials
// in place once, no parameter or lock left behind.
func TestFaultMatrixLostAnswers(t *testing.T) {
	for _, m := range []struct {
		mode string
		rows []faultRow
	}{{iam.SecretsManager, smRows}, {iam.ECSConfig, ecsRows}} {
		var ops []string
		for _, r := range m.rows {
			if slices.Contains(mutatingOps, r.op) && !slices.Contains(ops, r.op) {
				ops = append(ops, r.op)
			}
		}
		for _, op := range ops {
			t.Run(m.mode+"/"+op, func(t *testing.T) {
				t.Parallel()
				w, in := newFaultWorld(t, m.mode)
				w.fake.LoseAnswer(op)
				r := w.run(t, in)
				if r.code != 0 || r.outputs["result"] != report.ResultSuccess {
					t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
				}
				if w.fake.LostAnswers(op) == 0 {
					t.Fatalf("no answer of %s was lost: the row tests nothing", op)
				}
				if names := w.fake.ParameterNames(); len(names) != 0 {
					t.Errorf("parameters left: %v", names)
				}
				if op == "UpdateService" {
					checkDeployedOnce(t, w.fake, r)
				}
				if w.ecs == nil {
					if n := len(w.fake.SecretVersions(w.secretARN)); n != 2 || !strings.Contains(w.fake.SecretString(w.secretARN), newPassword) {
						t.Errorf("%d secret versions, want 2 with the new password current", n)
					}
					return
				}
				for i, cfg := range w.ecs.configs(t) {
					if cfg != ecsConfigText(w.fake.RegistryHost(), newPassword) {
						t.Errorf("instance %d's ecs.config:\n%s", i, cfg)
					}
					if b := w.ecs.backups(t, i); len(b) != 1 || b[0] != w.before[i] {
						t.Errorf("instance %d: %d backups, want one holding the original", i, len(b))
					}
				}
				for _, inst := range decodeInstances(t, r.outputs["instances"]) {
					if inst.Status != "updated" {
						t.Errorf("instance %s: %s, want updated", inst.EC2InstanceID, inst.Status)
					}
				}
			})
		}
	}
}

// checkDeployedOnce checks a run whose UpdateService answers were lost: each
// service it rolled got one deployment, not one per delivery, and the run
// followed the deployment the service really has.
func checkDeployedOnce(t *testing.T, f *awsfake.Server, r result) {
	t.Helper()
	services := decodeServices(t, r.outputs["services"])
	updates := updatesByService(f)
	if len(updates) != len(services) {
		t.Errorf("UpdateService took effect on %v, the run reports %d services", updates, len(services))
	}
	for _, s := range services {
		if n := updates[s.Service]; n != 1 {
			t.Errorf("service %s: %d deployments started, want 1", s.Service, n)
		}
		snap, _ := f.ServiceSnapshot("prod", s.Service)
		if primary := primaryID(snap); s.DeploymentID != primary {
			t.Errorf("service %s: the run followed deployment %s, the service's PRIMARY is %s", s.Service, s.DeploymentID, primary)
		}
	}
	if !strings.Contains(r.stdout, "UpdateService's answer was lost; following deployment") {
		t.Errorf("the log does not say which deployment a lost answer started:\n%s", r.stdout)
	}
}

func primaryID(s ecstypes.Service) string {
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

// lostElsewhere are the changing calls that no row of the matrix makes, and
// the test that loses their answers.
var lostElsewhere = map[string]string{
	"UpdateSecretVersionStage": "TestLostAnswerOfTheRollbackMove (exactlyonce_test.go)",
	"CancelCommand":            "TestLostAnswerOfCancelCommand",
}

// Every changing call has its answer lost somewhere: in a row of the matrix,
// or in the test lostElsewhere names.
func TestFaultMatrixLostAnswersCoverEveryChange(t *testing.T) {
	for _, op := range mutatingOps {
		inRows := slices.ContainsFunc(append(slices.Clone(smRows), ecsRows...), func(r faultRow) bool { return r.op == op })
		if !inRows && lostElsewhere[op] == "" {
			t.Errorf("no row of the matrix makes %s, and lostElsewhere names no test that loses its answer", op)
		}
	}
}

// CancelCommand is made only for a command still running when its wait
// ends: here the wait ends as the run is cancelled while it waits for the
// apply command. The cancel's answer is lost and the SDK sends it again; the run
// still tells the truth: the commands it says it cancelled are cancelled,
// and the error names every instance whose ecs.config was rewritten.
func TestLostAnswerOfCancelCommand(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	before := w.configs(t)
	w.fake.LoseAnswer("CancelCommand")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for !waitingForApply(w.fake) {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	r := w.runContext(ctx, t, w.inputs())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stdout, "apply: cancelled command") {
		t.Fatalf("the run did not cancel the apply command: the test tests nothing:\n%s", r.stdout)
	}
	if w.fake.LostAnswers("CancelCommand") == 0 {
		t.Fatalf("no CancelCommand answer was lost: the test tests nothing (fake calls: %s)", callSummary(w.fake))
	}
	if strings.Contains(r.stdout, "could not cancel") {
		t.Errorf("the run says a cancel failed, though it took effect:\n%s", r.stdout)
	}
	said := regexp.MustCompile(`cancelled command (\S+) on`).FindAllStringSubmatch(r.stdout, -1)
	if len(said) == 0 {
		t.Errorf("the log does not say which command was cancelled:\n%s", r.stdout)
	}
	for _, m := range said {
		out, err := ssmClient(t, w.fake).ListCommands(context.Background(), &ssm.ListCommandsInput{CommandId: aws.String(m[1])})
		if err != nil || len(out.Commands) != 1 {
			t.Fatalf("command %s: %v", m[1], err)
		}
		if s := out.Commands[0].Status; s != ssmtypes.CommandStatusCancelled && s != ssmtypes.CommandStatusCancelling {
			t.Errorf("the run says it cancelled command %s, SSM shows it %s", m[1], s)
		}
	}
	errLine := lineWith(r.stdout, "::error title=run cancelled")
	for i, c := range w.configs(t) {
		if c != before[i] && (!strings.Contains(errLine, w.refs[i].InstanceID) || !strings.Contains(errLine, ".bak")) {
			t.Errorf("instance %s was rewritten, but the error does not say so and where its backup is: %s", w.refs[i].InstanceID, errLine)
		}
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("parameters left: %v", names)
	}
}

// waitingForApply reports whether the run is waiting for its apply command:
// it asked for the command's invocations after the command's SendCommand
// was answered.
func waitingForApply(f *awsfake.Server) bool {
	calls := f.Calls()
	sent := slices.IndexFunc(calls, func(c awsfake.Call) bool {
		return c.Operation == "SendCommand" && c.ErrorCode == "" && strings.Contains(string(c.Input), "ecs-registry-rotate apply")
	})
	return sent >= 0 && slices.ContainsFunc(calls[sent:], func(c awsfake.Call) bool { return c.Operation == "ListCommandInvocations" })
}
