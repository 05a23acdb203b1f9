package ecsconfig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

const testPassword = "pa$$`w0rd'\"&/\\"

var testPayload = []byte(`{"https://index.docker.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("robot:"+testPassword)) + `","email":""}}`)

func fleet(n int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		init := "systemd"
		if i%3 == 2 {
			init = "upstart"
		}
		out[i] = Instance{
			ContainerInstanceARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/prod/%032x", i+1),
			EC2InstanceID:        fmt.Sprintf("i-%017x", i+1),
			Init:                 init,
		}
	}
	return out
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func testOptions(l *logLines) Options {
	return Options{
		Cluster: "prod", RunID: "run-42", AuthType: "dockercfg", RegistryKey: "https://index.docker.io/v1/",
		Payload: testPayload, Restart: true,
		Timeout: 10 * time.Second, AgentTimeout: 2 * time.Second, PollInterval: time.Millisecond,
		Log: l.add,
	}
}

// noSecret fails when the password, the payload or their base64 appear in s.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testPassword, string(testPayload), base64.StdEncoding.EncodeToString(testPayload),
		base64.StdEncoding.EncodeToString([]byte("robot:" + testPassword))} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a credential", what)
		}
	}
}

func statuses(res Result) string {
	var s []string
	for _, o := range res.Instances {
		s = append(s, string(o.Status))
	}
	return strings.Join(s, " ")
}

func TestApplyBatchesAQuarterAndWaitsForAgents(t *testing.T) {
	insts := fleet(8)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if mode == modeApply && id == insts[1].EC2InstanceID {
			return ok(mode, "unchanged", "restart-not-needed")
		}
		if mode == modePreflight {
			return ok(mode, "checked", "not-restarted")
		}
		return ok(mode, "updated", "restarted")
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if want := "updated unchanged updated updated updated updated updated updated"; statuses(res) != want {
		t.Errorf("statuses = %s, want %s", statuses(res), want)
	}
	for _, o := range res.Instances {
		if !o.AgentReconnected || o.CommandID == "" || o.At.IsZero() {
			t.Errorf("%s: %+v", o.EC2InstanceID, o)
		}
	}
	// The preflight went to every instance, one command per init system.
	pre := f.sent(modePreflight)
	if len(pre) != 2 || len(pre[0].in.InstanceIds)+len(pre[1].in.InstanceIds) != 8 {
		t.Errorf("preflight commands: %d", len(pre))
	}
	// The apply went a quarter (2) at a time, never while an agent was away.
	apply := f.sent(modeApply)
	batchIDs := 0
	for _, c := range apply {
		batchIDs += len(c.in.InstanceIds)
		if len(c.in.InstanceIds) > 2 {
			t.Errorf("command %s went to %d instances, more than a quarter", c.id, len(c.in.InstanceIds))
		}
	}
	if batchIDs != 8 {
		t.Errorf("apply went to %d instances", batchIDs)
	}
	if f.maxAway > 2 || f.maxAway == 0 {
		t.Errorf("at most %d agents were away at once, want 1..2", f.maxAway)
	}
	if len(f.sentWhileOff) > 0 {
		t.Errorf("commands sent while an agent was away: %v", f.sentWhileOff)
	}
	for _, c := range append(pre, apply...) {
		in := c.in
		if aws.ToString(in.DocumentName) != "AWS-RunShellScript" || aws.ToString(in.MaxErrors) != "0" ||
			!strings.HasPrefix(aws.ToString(in.Comment), "ecs-registry-rotate ") || len(in.Parameters["executionTimeout"]) != 1 {
			t.Errorf("command %s: %+v", c.id, in)
		}
		noSecret(t, "command "+c.id, strings.Join(in.Parameters["commands"], "\n"))
	}
	// The parameter: a Standard SecureString of base64(payload), never
	// overwritten, deleted after the last invocation ended.
	if len(f.puts) != 1 {
		t.Fatalf("PutParameter calls: %d", len(f.puts))
	}
	p := f.puts[0]
	if aws.ToString(p.Name) != "/ecs-registry-rotate/run-42" || p.Type != ssmtypes.ParameterTypeSecureString ||
		p.Tier != ssmtypes.ParameterTierStandard || aws.ToBool(p.Overwrite) || aws.ToString(p.Value) != base64.StdEncoding.EncodeToString(testPayload) {
		t.Errorf("PutParameter: %+v", p)
	}
	if len(f.deletes) != 1 || !res.ParameterDeleted || res.CleanupErr != nil || len(f.params) != 0 {
		t.Errorf("parameter not deleted: %v %v %v", f.deletes, res.ParameterDeleted, res.CleanupErr)
	}
	if last := f.log[len(f.log)-1]; last != "DeleteParameter" {
		t.Errorf("last call %s, want DeleteParameter", last)
	}
	if f.log[0] != "PutParameter" {
		t.Errorf("first call %s", f.log[0])
	}
	if got := len(res.Changed()); got != 7 {
		t.Errorf("Changed: %d, want 7", got)
	}
	noSecret(t, "log", l.String())
}

// A batch starts only after the agents of the one before are back: the order
// of the calls shows it.
func TestBatchWaitsForReconnectBeforeNext(t *testing.T) {
	insts := fleet(4)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		r := ok(mode, "updated", "restarted")
		if mode == modePreflight {
			return ok(mode, "checked", "not-restarted")
		}
		r.back = 3
		return r
	}
	var l logLines
	if _, err := Apply(context.Background(), f.clients(), insts, testOptions(&l)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sent(modeApply)); n != 4 {
		t.Fatalf("apply commands: %d, want 4 (batches of 1)", n)
	}
	// Between two apply commands: at least 3 describes (the agent's way back).
	describes := -1
	for _, call := range f.log {
		switch call {
		case "SendCommand apply":
			if describes >= 0 && describes < 3 {
				t.Errorf("a batch started after %d describes of the previous one's agent", describes)
			}
			describes = 0
		case "DescribeContainerInstances":
			describes++
		}
	}
	if f.maxAway != 1 {
		t.Errorf("max away %d, want 1", f.maxAway)
	}
}

func TestSendCommandAtMost50IDsAndDescribeAtMost100(t *testing.T) {
	insts := fleet(440)
	for i := range insts {
		insts[i].Init = "systemd"
	}
	f := newFake(t, insts)
	f.polls = 1
	var l logLines
	o := testOptions(&l)
	res, err := Apply(context.Background(), f.clients(), insts, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StatusUpdated) != 440 {
		t.Errorf("updated: %d", res.Count(StatusUpdated))
	}
	var sizes []int
	for _, c := range f.sent(modePreflight) {
		sizes = append(sizes, len(c.in.InstanceIds))
	}
	if fmt.Sprint(sizes) != "[50 50 50 50 50 50 50 50 40]" {
		t.Errorf("preflight command sizes %v", sizes)
	}
	sizes = nil
	for _, c := range f.sent(modeApply) {
		sizes = append(sizes, len(c.in.InstanceIds))
	}
	// Batches of 110: 50, 50, 10 each.
	if fmt.Sprint(sizes) != "[50 50 10 50 50 10 50 50 10 50 50 10]" {
		t.Errorf("apply command sizes %v", sizes)
	}
	if f.maxAway > 110 {
		t.Errorf("%d agents away at once, more than a quarter of 440", f.maxAway)
	}
	for _, d := range f.describes {
		if len(d) > 100 {
			t.Errorf("DescribeContainerInstances of %d", len(d))
		}
	}
}

// Each poll lists each unfinished command once (with its pages), and a
// finished command is not listed again.
func TestOneListPerCommandPerPoll(t *testing.T) {
	insts := fleet(6)
	f := newFake(t, insts)
	f.polls = 4
	var l logLines
	if _, err := Apply(context.Background(), f.clients(), insts, testOptions(&l)); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.commands {
		if c.lists != 4 || c.polls != 4 {
			t.Errorf("command %s (%s): %d lists in %d polls, want 4 in 4", c.id, c.mode, c.lists, c.polls)
		}
	}

	// Paged answers are followed to the end.
	f = newFake(t, insts)
	f.pageSize = 2
	f.polls = 3
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StatusUpdated) != 6 {
		t.Errorf("statuses %s", statuses(res))
	}
	for _, c := range f.commands {
		pages := (len(c.invs) + 1) / 2
		if c.polls != 3 || c.lists != 3*pages {
			t.Errorf("command %s: %d lists in %d polls, want %d in 3", c.id, c.lists, c.polls, 3*pages)
		}
	}
}

func TestPreflightFailureChangesNothing(t *testing.T) {
	insts := fleet(6)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		switch {
		case mode != modePreflight:
			return ok(mode, "updated", "restarted")
		case id == insts[2].EC2InstanceID:
			return scriptErr("config-missing", "/etc/ecs/ecs.config does not exist")
		case id == insts[4].EC2InstanceID:
			return scriptErr("parameter-denied", "GetParameter was denied (AccessDeniedException)")
		}
		return ok(mode, "checked", "not-restarted")
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	var e *Error
	if !errors.As(err, &e) || e.Step != StepPreflight {
		t.Fatalf("err = %v, want a preflight *Error", err)
	}
	if len(e.Failed) != 2 || e.Failed[0].EC2InstanceID != insts[2].EC2InstanceID || e.Failed[1].ErrorCode != "parameter-denied" {
		t.Errorf("failed: %+v", e.Failed)
	}
	msg := err.Error()
	for _, want := range []string{insts[2].EC2InstanceID, "config-missing", insts[4].EC2InstanceID, "parameter-denied",
		"ssm:GetParameter", "ecs-config-transport: inline", "/ecs-registry-rotate/run-42", "no instance was changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := len(f.sent(modeApply)); n != 0 {
		t.Errorf("%d apply commands after a failed preflight", n)
	}
	if want := "skipped skipped failed skipped failed skipped"; statuses(res) != want {
		t.Errorf("statuses %s, want %s", statuses(res), want)
	}
	if len(res.Changed()) != 0 {
		t.Errorf("Changed: %v", res.Changed())
	}
	if !res.ParameterDeleted || len(f.params) != 0 {
		t.Errorf("parameter not deleted after a failed preflight")
	}
	noSecret(t, "error", msg)
}

func TestApplyFailureStopsBeforeTheNextBatch(t *testing.T) {
	insts := fleet(8)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		switch {
		case mode == modePreflight:
			return ok(mode, "checked", "not-restarted")
		case id == insts[3].EC2InstanceID:
			return scriptErr("restart-failed", "systemctl restart ecs exited 1")
		}
		return ok(mode, "updated", "restarted")
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	var e *Error
	if !errors.As(err, &e) || e.Step != StepApply {
		t.Fatalf("err = %v, want an apply *Error", err)
	}
	if want := "updated updated updated failed skipped skipped skipped skipped"; statuses(res) != want {
		t.Errorf("statuses %s, want %s", statuses(res), want)
	}
	if n := sentTo(f.sent(modeApply)); n != 4 {
		t.Errorf("apply went to %d instances, want 4 (batches 1 and 2)", n)
	}
	if !strings.Contains(err.Error(), insts[3].EC2InstanceID) || !strings.Contains(err.Error(), "restart-failed") || e.Changed != 3 || e.Skipped != 4 {
		t.Errorf("error: %v (%+v)", err, e)
	}
	// The failed instance's file was written before its restart failed: it is
	// one to restore.
	if got := len(res.Changed()); got != 4 {
		t.Errorf("Changed: %d, want 4", got)
	}
	if res.Instances[2].AgentReconnected != true {
		t.Errorf("the batch's other agent was not waited for")
	}
	if !res.ParameterDeleted {
		t.Error("parameter not deleted")
	}
	for _, o := range res.Instances[4:] {
		if !strings.Contains(o.Detail, "stopped") {
			t.Errorf("skipped detail %q", o.Detail)
		}
	}
}

func TestAgentThatNeverReconnectsFailsTheRun(t *testing.T) {
	insts := fleet(4)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		r := ok(mode, "updated", "restarted")
		if mode == modePreflight {
			return ok(mode, "checked", "not-restarted")
		}
		if id == insts[1].EC2InstanceID {
			r.back = -1
		}
		return r
	}
	var l logLines
	o := testOptions(&l)
	o.AgentTimeout = 50 * time.Millisecond
	res, err := Apply(context.Background(), f.clients(), insts, o)
	var e *Error
	if !errors.As(err, &e) || e.Step != StepApply || len(e.Failed) != 1 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), insts[1].EC2InstanceID) || !strings.Contains(err.Error(), "not connected again") {
		t.Errorf("error %v", err)
	}
	if want := "updated updated skipped skipped"; statuses(res) != want {
		t.Errorf("statuses %s, want %s", statuses(res), want)
	}
	if res.Instances[1].AgentReconnected || !res.Instances[0].AgentReconnected {
		t.Errorf("agentReconnected: %+v", res.Instances[:2])
	}
	if len(res.Changed()) != 2 {
		t.Errorf("Changed %d", len(res.Changed()))
	}
}

func TestCancelDuringWaitDeletesTheParameter(t *testing.T) {
	insts := fleet(4)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if mode == modeApply {
			return reply{never: true}
		}
		return ok(mode, "checked", "not-restarted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onList = func(call int) error {
		if f.sentCount(modeApply) > 0 {
			cancel()
		}
		return nil
	}
	var l logLines
	start := time.Now()
	res, err := Apply(ctx, f.clients(), insts, testOptions(&l))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("cancel took %s", time.Since(start))
	}
	if !res.ParameterDeleted || len(f.params) != 0 {
		t.Error("parameter not deleted after cancel")
	}
	apply := f.sent(modeApply)
	if len(apply) != 1 || len(apply[0].canceled) != 1 {
		t.Errorf("the running command was not cancelled: %+v", apply)
	}
	if res.Instances[0].Status != StatusFailed || !strings.Contains(res.Instances[0].Detail, "may have been changed") {
		t.Errorf("running instance: %+v", res.Instances[0])
	}
	if want := "failed skipped skipped skipped"; statuses(res) != want {
		t.Errorf("statuses %s", statuses(res))
	}
}

func sentTo(cmds []*fakeCommand) int {
	n := 0
	for _, c := range cmds {
		n += len(c.in.InstanceIds)
	}
	return n
}

func (f *fake) sentCount(mode string) int { return len(f.sent(mode)) }

func TestTimeoutDeletesTheParameter(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply { return reply{never: true} }
	var l logLines
	o := testOptions(&l)
	o.Timeout = 30 * time.Millisecond
	res, err := Apply(context.Background(), f.clients(), insts, o)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout of 30ms") {
		t.Fatalf("err = %v", err)
	}
	if !res.ParameterDeleted {
		t.Error("parameter not deleted after the timeout")
	}
	if n := len(f.sent(modeApply)); n != 0 {
		t.Errorf("apply sent after an unfinished preflight")
	}
}

// A command that does not end within its own wait fails its instance, is
// cancelled, and the step goes on no further.
func TestCommandThatNeverEnds(t *testing.T) {
	defer func(d, s time.Duration) { minDeliveryTimeout, invocationWaitSlack = d, s }(minDeliveryTimeout, invocationWaitSlack)
	minDeliveryTimeout, invocationWaitSlack = 20*time.Millisecond, 0
	insts := fleet(2)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if mode == modeApply && id == insts[0].EC2InstanceID {
			return reply{never: true}
		}
		return ok(mode, "updated", "restarted")
	}
	var l logLines
	o := testOptions(&l)
	o.ExecutionTimeout = 20 * time.Millisecond
	res, err := Apply(context.Background(), f.clients(), insts, o)
	var e *Error
	if !errors.As(err, &e) || e.Step != StepApply || !strings.Contains(err.Error(), "did not end within") {
		t.Fatalf("err = %v", err)
	}
	if want := "failed skipped"; statuses(res) != want {
		t.Errorf("statuses %s", statuses(res))
	}
	if c := f.sent(modeApply); len(c) != 1 || fmt.Sprint(c[0].canceled) != "["+insts[0].EC2InstanceID+"]" {
		t.Errorf("the unfinished invocation was not cancelled")
	}
	if !res.ParameterDeleted {
		t.Error("parameter not deleted")
	}
}

func TestDeleteFailureIsReported(t *testing.T) {
	insts := fleet(1)
	f := newFake(t, insts)
	f.deleteErr = apiErr("AccessDeniedException", "not allowed")
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatal(err)
	}
	if res.ParameterDeleted || res.CleanupErr == nil || !strings.Contains(res.CleanupErr.Error(), "ssm:DeleteParameter") ||
		!strings.Contains(res.CleanupErr.Error(), "/ecs-registry-rotate/run-42") {
		t.Errorf("CleanupErr = %v", res.CleanupErr)
	}
}

func TestInlineTransport(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	var l logLines
	o := testOptions(&l)
	o.Transport = TransportInline
	res, err := Apply(context.Background(), f.clients(), insts, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 0 || len(f.deletes) != 0 || res.Parameter != "" {
		t.Errorf("inline transport touched a parameter")
	}
	b64 := base64.StdEncoding.EncodeToString(testPayload)
	for _, c := range f.commands {
		if !strings.Contains(strings.Join(c.in.Parameters["commands"], "\n"), b64) {
			t.Errorf("command %s (%s) has no inline data", c.id, c.mode)
		}
	}
	noSecret(t, "log", l.String())
}

func TestPayloadTooLargeForAParameter(t *testing.T) {
	insts := fleet(1)
	f := newFake(t, insts)
	var l logLines
	o := testOptions(&l)
	o.Payload = []byte(`{"https://index.docker.io/v1/":{"auth":"` + strings.Repeat("x", 6200) + `","email":""}}`)
	_, err := Apply(context.Background(), f.clients(), insts, o)
	if !errors.Is(err, ErrPayloadTooLarge) || !strings.Contains(err.Error(), "8192") || !strings.Contains(err.Error(), "ecs-config-transport: inline") {
		t.Fatalf("err = %v", err)
	}
	if len(f.log) != 0 {
		t.Errorf("calls: %v", f.log)
	}
}

// A payload over a Standard parameter's 4 KB goes into an Advanced one,
// and the log says so, rather than into the command.
func TestLargePayloadUsesTheAdvancedTier(t *testing.T) {
	insts := fleet(1)
	f := newFake(t, insts)
	var l logLines
	o := testOptions(&l)
	o.Payload = []byte(`{"https://index.docker.io/v1/":{"auth":"` + strings.Repeat("x", 3100) + `","email":""}}`)
	if _, err := Apply(context.Background(), f.clients(), insts, o); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 1 || f.puts[0].Tier != ssmtypes.ParameterTierAdvanced {
		t.Fatalf("PutParameter calls %v, want one of the Advanced tier", f.puts)
	}
	if !strings.Contains(l.String(), "Advanced tier") {
		t.Errorf("the log does not say the parameter is Advanced:\n%s", l.String())
	}
}

func TestRollbackRestoresInBatches(t *testing.T) {
	insts := fleet(8)
	f := newFake(t, insts)
	var l logLines
	o := testOptions(&l)
	o.FleetSize = 8
	res, err := Rollback(context.Background(), f.clients(), insts[:4], o)
	if err != nil {
		t.Fatal(err)
	}
	if want := "restored restored restored restored"; statuses(res) != want {
		t.Errorf("statuses %s", statuses(res))
	}
	if len(f.puts) != 0 || len(f.sent(modePreflight)) != 0 {
		t.Errorf("rollback put a parameter or ran a preflight")
	}
	cmds := f.sent(modeRollback)
	if sentTo(cmds) != 4 || f.maxAway > 2 || len(f.sentWhileOff) > 0 {
		t.Errorf("rollback went to %d instances, max away %d", sentTo(cmds), f.maxAway)
	}
	for _, c := range cmds {
		noSecret(t, "rollback command", strings.Join(c.in.Parameters["commands"], "\n"))
	}
}

func TestRollbackFailureNamesTheInstance(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if id == insts[0].EC2InstanceID {
			return scriptErr("no-backup", "no backup /etc/ecs/ecs.config.ecs-registry-rotate-run-42.bak")
		}
		return ok(mode, "restored", "restarted")
	}
	var l logLines
	res, err := Rollback(context.Background(), f.clients(), insts, testOptions(&l))
	var e *Error
	if !errors.As(err, &e) || e.Step != StepRollback || !strings.Contains(err.Error(), "no-backup") {
		t.Fatalf("err = %v", err)
	}
	// Failed or not reached, each instance left on the new credentials is named.
	if want := "still holding the new credentials: " + insts[0].EC2InstanceID + ", " + insts[1].EC2InstanceID; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v\nwant it to end %q", err, want)
	}
	if want := "failed skipped"; statuses(res) != want {
		t.Errorf("statuses %s", statuses(res))
	}
}

func TestBadOptions(t *testing.T) {
	insts := fleet(1)
	for name, mutate := range map[string]func(*Options, *[]Instance){
		"run id":       func(o *Options, _ *[]Instance) { o.RunID = "Run_42" },
		"transport":    func(o *Options, _ *[]Instance) { o.Transport = "email" },
		"cluster":      func(o *Options, _ *[]Instance) { o.Cluster = "" },
		"no instances": func(_ *Options, i *[]Instance) { *i = nil },
		"init":         func(_ *Options, i *[]Instance) { (*i)[0].Init = "sysv" },
		"payload":      func(o *Options, _ *[]Instance) { o.Payload = nil },
		"payload key":  func(o *Options, _ *[]Instance) { o.RegistryKey = "registry.example.com" },
		"auth type":    func(o *Options, _ *[]Instance) { o.AuthType = "docker" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, insts)
			var l logLines
			o := testOptions(&l)
			in := append([]Instance(nil), insts...)
			mutate(&o, &in)
			if _, err := Apply(context.Background(), f.clients(), in, o); err == nil {
				t.Error("no error")
			}
			if len(f.log) != 0 {
				t.Errorf("calls %v", f.log)
			}
		})
	}
}

func TestParseOutput(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want scriptResult
	}{
		{"x\necs-registry-rotate: ok mode=apply file=updated agent=restarted\n", scriptResult{found: true, ok: true, file: "updated", agent: "restarted"}},
		{"x\r\necs-registry-rotate: ok mode=apply file=unchanged agent=restart-not-needed\r\n", scriptResult{found: true, ok: true, file: "unchanged", agent: "restart-not-needed"}},
		{"ecs-registry-rotate: note: x\n\n----------ERROR-------\nwarning\necs-registry-rotate: error: config-missing: no file: /etc/ecs/ecs.config\n", scriptResult{found: true, code: "config-missing", message: "no file: /etc/ecs/ecs.config"}},
		{"nothing here", scriptResult{}},
		{"ecs-registry-rotate: ok mode=apply file=unchanged agent=restarted written=0 prior=20261101t000000-deadbeef backup=/etc/ecs/ecs.config.ecs-registry-rotate-run-42.bak pruned=1\n",
			scriptResult{found: true, ok: true, file: "unchanged", agent: "restarted", prior: "20261101t000000-deadbeef", backup: "/etc/ecs/ecs.config.ecs-registry-rotate-run-42.bak", pruned: 1}},
	} {
		if got := parseOutput(tc.out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseOutput(%q) = %+v, want %+v", tc.out, got, tc.want)
		}
	}
	long := "\n----------ERROR-------\necs-registry-rotate: error: write-failed: " + strings.Repeat("é", 1000)
	if got := parseOutput(long); got.code != "write-failed" || len([]rune(got.message)) > maxMessage+1 {
		t.Errorf("message not capped: %d runes", len([]rune(got.message)))
	}
}

// Failed calls other than denials are tried again at the next poll; a denial
// stops the step, naming the IAM action.
func TestListErrorsRetriedDenialStops(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	f.onList = func(call int) error {
		if call == 1 || call == 2 {
			return apiErr("InternalServerError", "try again")
		}
		return nil
	}
	var l logLines
	if _, err := Apply(context.Background(), f.clients(), insts, testOptions(&l)); err != nil {
		t.Fatalf("a transient error failed the step: %v", err)
	}
	if !strings.Contains(l.String(), "trying again") {
		t.Errorf("log does not say it retried:\n%s", l.String())
	}

	f = newFake(t, insts)
	f.onList = func(call int) error { return apiErr("AccessDeniedException", "no") }
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err == nil || !strings.Contains(err.Error(), "ssm:ListCommandInvocations") || !strings.Contains(err.Error(), "lacks the IAM permission") {
		t.Fatalf("err = %v", err)
	}
	if !res.ParameterDeleted || len(f.sent(modeApply)) != 0 {
		t.Errorf("after a denied preflight wait: deleted %v, apply commands %d", res.ParameterDeleted, len(f.sent(modeApply)))
	}
}

func TestDescribeDeniedAndGoneInstances(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	f.describeFault = func() error { return apiErr("AccessDeniedException", "no") }
	var l logLines
	_, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err == nil || !strings.Contains(err.Error(), "ecs:DescribeContainerInstances") {
		t.Fatalf("err = %v", err)
	}

	f = newFake(t, insts)
	f.status = map[string]string{insts[0].EC2InstanceID: "INACTIVE"}
	o := testOptions(&l)
	o.AgentTimeout = time.Minute // a gone instance fails at once, not after this
	start := time.Now()
	_, err = Apply(context.Background(), f.clients(), insts, o)
	if err == nil || !strings.Contains(err.Error(), "INACTIVE") || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestSSMStatusesWithoutScriptResult(t *testing.T) {
	for details, want := range map[string]string{
		"Undeliverable":       "Online in Systems Manager",
		"Execution Timed Out": "longer than its executionTimeout",
		"Terminated":          "MaxErrors 0",
		"Failed":              "exit status 2",
	} {
		t.Run(details, func(t *testing.T) {
			insts := fleet(1)
			f := newFake(t, insts)
			f.behave = func(mode, id string) reply {
				status := ssmtypes.CommandInvocationStatusFailed
				if details == "Execution Timed Out" {
					status = ssmtypes.CommandInvocationStatusTimedOut
				}
				return reply{status: status, details: details, code: 2, output: "no result line"}
			}
			var l logLines
			res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if res.Instances[0].Status != StatusFailed || res.Instances[0].ErrorCode != "" {
				t.Errorf("%+v", res.Instances[0])
			}
		})
	}
}

// The same hint is given once, however many instances it concerns.
func TestHintOnce(t *testing.T) {
	insts := fleet(3)
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply { return scriptErr("imds-unavailable", "no token") }
	var l logLines
	_, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err == nil || strings.Count(err.Error(), "check its metadata options") != 1 || strings.Count(err.Error(), "no token") != 3 {
		t.Fatalf("err = %v", err)
	}
}

// A PutParameter that failed may have created the parameter: it is deleted
// all the same. One that exists already was made by this run (its run id is
// random): a create whose answer was lost, met by the SDK's retry.
func TestPutParameterFailures(t *testing.T) {
	insts := fleet(1)
	f := newFake(t, insts)
	f.putErr = func(params map[string]string) error {
		params["/ecs-registry-rotate/run-42"] = "x"
		return apiErr("InternalServerError", "the answer was lost")
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err == nil || !strings.Contains(err.Error(), "ssm:PutParameter") {
		t.Fatalf("err = %v", err)
	}
	if len(f.params) != 0 || !res.ParameterDeleted || len(f.commands) != 0 {
		t.Errorf("params %v, deleted %v, commands %d", f.params, res.ParameterDeleted, len(f.commands))
	}

	f = newFake(t, insts)
	f.params["/ecs-registry-rotate/run-42"] = "made by this run's first PutParameter"
	res, err = Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatalf("Apply whose PutParameter met its own parameter: %v", err)
	}
	if len(f.params) != 0 || !res.ParameterDeleted || res.Count(StatusUpdated) != 1 {
		t.Errorf("params %v, deleted %v, instances %+v: want the rotation done and the parameter deleted", f.params, res.ParameterDeleted, res.Instances)
	}
}

// A SendCommand whose answer was lost ran twice: the second delivery is
// found by its comment, waited for before the next batch starts, shown in
// the log, and the instances' outcomes stay their own.
func TestSecondDeliveriesAreWaitedFor(t *testing.T) {
	insts := fleet(8)
	f := newFake(t, insts)
	f.twice = map[string]bool{modePreflight: true, modeApply: true}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Count(StatusUpdated); n != 8 {
		t.Errorf("%d instances updated, want 8: %+v", n, res.Instances)
	}
	applies := f.sent(modeApply)
	for _, c := range applies {
		if c.polls == 0 {
			t.Errorf("command %s (%s) was never waited for", c.id, aws.ToString(c.in.Comment))
		}
	}
	// Both deliveries of a batch ended before the next batch was sent.
	batchOf := map[string]int{}
	for i, inst := range insts {
		batchOf[inst.EC2InstanceID] = i / 2
	}
	for _, p := range f.sentWhileRunning {
		if batchOf[p[0]] != batchOf[p[1]] {
			t.Errorf("batch %d was sent while a command still ran on %s, of batch %d", batchOf[p[0]]+1, p[1], batchOf[p[1]]+1)
		}
	}
	if strings.Count(l.String(), "second delivery") < len(applies)/2 {
		t.Errorf("the log names %d second deliveries, want one per apply SendCommand:\n%s", strings.Count(l.String(), "second delivery"), l.String())
	}
	for _, o := range res.Instances {
		if c := f.command(o.CommandID); c == nil {
			t.Errorf("%s: command %q is not one SSM ran", o.EC2InstanceID, o.CommandID)
		}
	}
}

// A SendCommand that failed after it started its command (no answer came
// back) is followed through the command its comment names.
func TestSendCommandWithoutAnswerIsFollowed(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	f.sendErr = apiErr("InternalServerError", "the connection was reset after the command started")
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Count(StatusUpdated); n != 2 {
		t.Errorf("%d instances updated, want 2: %+v", n, res.Instances)
	}
	if !strings.Contains(l.String(), "following it") {
		t.Errorf("the log does not say the command was found:\n%s", l.String())
	}
}

// A run cancelled while its apply SendCommand was on its way (the command
// started, the answer never came) still looks for the command, and names
// the instances it reached as maybe changed: it does not report them as
// not reached.
func TestCancelDuringSendCommandNamesTheInstancesItReached(t *testing.T) {
	insts := fleet(2)
	f := newFake(t, insts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onSend = func(mode string) error {
		if mode != modeApply {
			return nil
		}
		cancel()
		return context.Canceled
	}
	var l logLines
	res, err := Apply(ctx, f.clients(), insts, testOptions(&l))
	if err == nil {
		t.Fatal("a cancelled apply succeeded")
	}
	var reached []string
	for _, o := range res.Instances {
		if o.MaybeChanged && o.CommandID != "" {
			reached = append(reached, o.EC2InstanceID)
		}
	}
	// A batch is a quarter of the fleet: one instance.
	if len(reached) != 1 || reached[0] != insts[0].EC2InstanceID {
		t.Errorf("instances named maybe changed: %v, want %s (%+v)", reached, insts[0].EC2InstanceID, res.Instances)
	}
	if !strings.Contains(l.String(), "following it") {
		t.Errorf("the log does not say the command was found:\n%s", l.String())
	}
}

// The preflight's keys go to Judge before any change: a refusal fails the
// preflight on that instance and nothing is changed; keys the rewrite makes
// live are warned of without failing.
func TestPreflightJudgesTheAgentsView(t *testing.T) {
	insts := fleet(3)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	preflight := func(keys string) reply {
		r := ok(modePreflight, "checked", "not-restarted")
		r.output = "ecs-registry-rotate: note: dormant-keys " + b64(`["quay.io"]`) + "\n" +
			"ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted written=0 prior=- backup=/etc/ecs/x keys=" + b64(keys) + "\n"
		return r
	}
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if mode != modePreflight {
			return ok(mode, "updated", "restarted")
		}
		if id == insts[1].EC2InstanceID {
			return preflight(`["ghcr.io","ghcr.io/org","quay.io"]`)
		}
		return preflight(`["ghcr.io","quay.io"]`)
	}
	var l, warned logLines
	o := testOptions(&l)
	o.Warn = warned.add
	var judged [][]string
	o.Judge = func(keys []string) error {
		judged = append(judged, keys)
		if slices.Contains(keys, "ghcr.io/org") {
			return errors.New("key ghcr.io/org captures images ghcr.io/org/app")
		}
		return nil
	}
	res, err := Apply(context.Background(), f.clients(), insts, o)
	var e *Error
	if !errors.As(err, &e) || e.Step != StepPreflight || len(e.Failed) != 1 || e.Failed[0].EC2InstanceID != insts[1].EC2InstanceID {
		t.Fatalf("err = %v, want the preflight failed on %s", err, insts[1].EC2InstanceID)
	}
	if !strings.Contains(err.Error(), "ghcr.io/org captures") {
		t.Errorf("the error does not say why: %v", err)
	}
	if len(f.sent(modeApply)) != 0 || res.Count(StatusUpdated) != 0 {
		t.Error("an instance was changed although the agent's view was refused")
	}
	if len(judged) != 3 {
		t.Errorf("Judge saw %d instances, want 3", len(judged))
	}
	if !strings.Contains(warned.String(), "quay.io") {
		t.Errorf("no warning names the dormant key quay.io: %q", warned.String())
	}
}

// Instances that read the run's parameter are started at most
// maxConcurrentReads at a time per command, below Parameter Store's
// default 40 GetParameter a second; commands that read nothing (inline
// data, a rollback) go to every instance at once.
func TestMaxConcurrencyBoundsParameterReads(t *testing.T) {
	insts := fleet(8)
	for _, c := range []struct {
		transport Transport
		want      map[string]string
	}{
		{TransportParameter, map[string]string{modePreflight: "25", modeApply: "25", modeRollback: "100%"}},
		{TransportInline, map[string]string{modePreflight: "100%", modeApply: "100%", modeRollback: "100%"}},
	} {
		t.Run(string(c.transport), func(t *testing.T) {
			f := newFake(t, insts)
			var l logLines
			o := testOptions(&l)
			o.Transport = c.transport
			o.FleetSize = len(insts)
			if _, err := Apply(context.Background(), f.clients(), insts, o); err != nil {
				t.Fatal(err)
			}
			if _, err := Rollback(context.Background(), f.clients(), insts, o); err != nil {
				t.Fatal(err)
			}
			for mode, want := range c.want {
				cmds := f.sent(mode)
				if len(cmds) == 0 {
					t.Errorf("no %s command was sent", mode)
				}
				for _, cmd := range cmds {
					if got := aws.ToString(cmd.in.MaxConcurrency); got != want {
						t.Errorf("%s command %s: MaxConcurrency %q, want %q", mode, cmd.id, got, want)
					}
				}
			}
		})
	}
}

// A rotated path key with no key for its host beside it is the agent's
// fallback for the host's other images: the preflight names, in one
// warning, the instances where that is so, and passes.
func TestPreflightWarnsOfAPathKeyBeyondItsPrefix(t *testing.T) {
	insts := fleet(3)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		if mode != modePreflight {
			return ok(mode, "updated", "restarted")
		}
		keys := `["ghcr.io/org","quay.io"]`
		if id == insts[1].EC2InstanceID {
			keys = `["ghcr.io","ghcr.io/org"]`
		}
		r := ok(modePreflight, "checked", "not-restarted")
		r.output = "ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted written=0 prior=- backup=/etc/ecs/x keys=" + b64(keys) + "\n"
		return r
	}
	var l, warned logLines
	o := testOptions(&l)
	o.Warn = warned.add
	o.RegistryKey = "ghcr.io/org"
	payload, err := registryauth.Payload("dockercfg", o.RegistryKey, "u", "path-key-Pa55")
	if err != nil {
		t.Fatal(err)
	}
	o.Payload = payload
	if _, err := Apply(context.Background(), f.clients(), insts, o); err != nil {
		t.Fatal(err)
	}
	w := warned.String()
	if strings.Count(w, "no key for ghcr.io itself") != 1 ||
		!strings.Contains(w, "on instances "+insts[0].EC2InstanceID+", "+insts[2].EC2InstanceID+", ") ||
		strings.Contains(w, insts[1].EC2InstanceID) {
		t.Errorf("want one warning naming %s and %s (not %s), got:\n%s", insts[0].EC2InstanceID, insts[2].EC2InstanceID, insts[1].EC2InstanceID, w)
	}
}

// A look that the deadline cuts off while it is being retried is named in
// the timeout's error, when no earlier look failed: the wait may have ended
// only because that call never got through.
func TestTimeoutNamesTheLookItCutOff(t *testing.T) {
	insts := fleet(1)
	f := newFake(t, insts)
	var l logLines
	o := testOptions(&l)
	o.Timeout = 300 * time.Millisecond
	f.onList = func(int) error {
		time.Sleep(o.Timeout + 100*time.Millisecond)
		return apiErr("ThrottlingException", "Rate exceeded")
	}
	_, err := Apply(context.Background(), f.clients(), insts, o)
	if err == nil || !strings.Contains(err.Error(), "the timeout of 300ms passed") ||
		!strings.Contains(err.Error(), "the last failed look: ssm:ListCommandInvocations") {
		t.Fatalf("err = %v, want the timeout and the look it cut off", err)
	}
}
