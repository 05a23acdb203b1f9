package ecsconfig

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

const e2eConfig = "ECS_CLUSTER=prod\nECS_ENABLE_TASK_IAM_ROLE=true\n"

type e2e struct {
	srv   *awsfake.Server
	c     Clients
	insts []Instance
	refs  []awsfake.ContainerInstanceRef
}

// startE2E runs awsfake with one container instance per spec, in cluster
// prod unless the spec names another.
func startE2E(t *testing.T, specs ...awsfake.Instance) *e2e {
	t.Helper()
	srv, err := awsfake.Start(awsfake.Options{Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg, err := awsclient.Load(context.Background(), awsclient.Options{MaxBackoff: 50 * time.Millisecond, Extra: srv.LoadOptions()})
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{srv: srv, c: Clients{SSM: ssm.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg)}}
	for _, s := range specs {
		s.Cluster = cmp.Or(s.Cluster, "prod")
		if s.ECSConfig == "" {
			s.ECSConfig = e2eConfig
		}
		ref := srv.AddContainerInstance(s)
		init := "systemd"
		if s.OS == awsfake.AL1 {
			init = "upstart"
		}
		e.refs = append(e.refs, ref)
		e.insts = append(e.insts, Instance{ContainerInstanceARN: ref.Arn, EC2InstanceID: ref.InstanceID, Init: init})
	}
	return e
}

func e2eOptions(l *logLines) Options {
	o := testOptions(l)
	o.PollInterval = 10 * time.Millisecond
	o.Timeout = time.Minute
	o.AgentTimeout = 20 * time.Second
	return o
}

func (e *e2e) config(t *testing.T, i int) string {
	t.Helper()
	b, err := os.ReadFile(e.refs[i].ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ssmRequestsHoldNoCredential: under the parameter transport only
// PutParameter carries the auth data.
func (e *e2e) ssmRequestsHoldNoCredential(t *testing.T) {
	t.Helper()
	for _, c := range e.srv.Calls() {
		if c.Service == "ssm" && c.Operation != "PutParameter" {
			noSecret(t, "ssm:"+c.Operation+" request", string(c.Input))
		}
	}
}

func (e *e2e) parameterGone(t *testing.T, res Result) {
	t.Helper()
	if !res.ParameterDeleted || res.CleanupErr != nil {
		t.Errorf("parameter not deleted: %v", res.CleanupErr)
	}
	_, err := e.c.SSM.(*ssm.Client).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(ParameterName("run-42")), WithDecryption: aws.Bool(true)})
	if err == nil {
		t.Error("the parameter still exists")
	}
}

func TestEndToEndMixedFleet(t *testing.T) {
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL1}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2023})
	var l logLines
	res, err := Apply(context.Background(), e.c, e.insts, e2eOptions(&l))
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, l.String())
	}
	for i, o := range res.Instances {
		if o.Status != StatusUpdated || !o.AgentReconnected || o.CommandID == "" {
			t.Errorf("instance %d: %+v", i, o)
		}
		cfg := e.config(t, i)
		if !strings.Contains(cfg, "ECS_ENGINE_AUTH_TYPE=dockercfg\n") || !strings.Contains(cfg, "ECS_CLUSTER=prod\n") {
			t.Errorf("instance %d ecs.config:\n%s", i, cfg)
		}
		a, _ := e.srv.Agent(o.EC2InstanceID)
		found := false
		for _, v := range a.Auth {
			found = found || v == "robot:"+testPassword
		}
		if !found || a.Restarts == 0 || !a.Connected {
			t.Errorf("instance %d agent: connected %v, restarts %d, loaded the credentials %v", i, a.Connected, a.Restarts, found)
		}
	}
	e.parameterGone(t, res)
	e.ssmRequestsHoldNoCredential(t)
	noSecret(t, "log", l.String())

	// A re-run finds every file up to date.
	var l2 logLines
	o := e2eOptions(&l2)
	o.RunID = "run-43"
	res, err = Apply(context.Background(), e.c, e.insts, o)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if n := res.Count(StatusUnchanged); n != 4 {
		t.Errorf("second run: %s", statuses(res))
	}
}

func TestEndToEndParameterDeniedChangesNothing(t *testing.T) {
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2023, DenyParameterRead: true}, awsfake.Instance{OS: awsfake.AL1, NoECSConfig: true})
	var l logLines
	res, err := Apply(context.Background(), e.c, e.insts, e2eOptions(&l))
	var pe *Error
	if !errors.As(err, &pe) || pe.Step != StepPreflight || len(pe.Failed) != 2 {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{e.insts[1].EC2InstanceID, "parameter-denied", "ssm:GetParameter", "ecs-config-transport: inline", e.insts[2].EC2InstanceID, "config-missing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q: %s", want, msg)
		}
	}
	if got := e.config(t, 0); got != e2eConfig {
		t.Errorf("instance 0 changed:\n%s", got)
	}
	for _, c := range e.srv.Calls() {
		if c.Operation == "SendCommand" && strings.Contains(string(c.Input), commentPrefix+modeApply+" run") {
			t.Errorf("an apply command was sent")
		}
	}
	for _, inst := range e.insts {
		if a, _ := e.srv.Agent(inst.EC2InstanceID); a.Restarts != 0 {
			t.Errorf("%s: agent restarted", inst.EC2InstanceID)
		}
	}
	e.parameterGone(t, res)
	noSecret(t, "error", msg)
}

func TestEndToEndAgentNotBackThenRollback(t *testing.T) {
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2023, NeverReconnects: true}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2})
	var l logLines
	o := e2eOptions(&l)
	o.AgentTimeout = time.Second
	res, err := Apply(context.Background(), e.c, e.insts, o)
	var ae *Error
	if !errors.As(err, &ae) || ae.Step != StepApply || !strings.Contains(err.Error(), e.insts[1].EC2InstanceID) {
		t.Fatalf("err = %v", err)
	}
	if want := "updated updated skipped skipped"; statuses(res) != want {
		t.Errorf("statuses %s, want %s", statuses(res), want)
	}
	if got := e.config(t, 3); got != e2eConfig {
		t.Errorf("a skipped instance changed:\n%s", got)
	}
	e.parameterGone(t, res)

	changed := res.Changed()
	var lr logLines
	ro := e2eOptions(&lr)
	ro.FleetSize = len(e.insts)
	ro.AgentTimeout = time.Second
	rb, err := Rollback(context.Background(), e.c, changed[:1], ro)
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, lr.String())
	}
	if rb.Instances[0].Status != StatusRestored || !rb.Instances[0].AgentReconnected {
		t.Errorf("rollback: %+v", rb.Instances[0])
	}
	if got := e.config(t, 0); got != e2eConfig {
		t.Errorf("instance 0 not restored:\n%s", got)
	}
}

func TestEndToEndInline(t *testing.T) {
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL2023})
	var l logLines
	o := e2eOptions(&l)
	o.Transport = TransportInline
	o.AuthType = "docker"
	o.Payload = []byte(`{"registry.example.com:5000":{"username":"robot","password":` + jsonString(testPassword) + `,"email":""}}`)
	o.RegistryKey = "registry.example.com:5000"
	res, err := Apply(context.Background(), e.c, e.insts, o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Instances[0].Status != StatusUpdated || res.Parameter != "" {
		t.Errorf("%+v", res)
	}
	if e.srv.CallCount("PutParameter") != 0 {
		t.Error("inline transport created a parameter")
	}
	a, _ := e.srv.Agent(e.insts[0].EC2InstanceID)
	if a.Auth["registry.example.com:5000"] != "robot:"+testPassword {
		t.Errorf("agent loaded %v", len(a.Auth))
	}
}

func TestEndToEndCancelDeletesParameter(t *testing.T) {
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL2, NeverReconnects: true}, awsfake.Instance{OS: awsfake.AL2})
	var l logLines
	ctx, cancel := context.WithCancel(context.Background())
	o := e2eOptions(&l)
	o.Log = func(line string) {
		l.add(line)
		if strings.Contains(line, "waiting for") {
			cancel()
		}
	}
	res, err := Apply(ctx, e.c, e.insts, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	e.parameterGone(t, res)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// One run over two clusters: awsfake, like ECS, knows a container instance
// only in its own cluster, so each agent must be described there; one
// cluster is named by its ARN, the other by its name. Rollback puts both
// back.
func TestEndToEndTwoClusters(t *testing.T) {
	const stagingConfig = "ECS_CLUSTER=staging\nECS_ENABLE_TASK_IAM_ROLE=true\n"
	e := startE2E(t, awsfake.Instance{OS: awsfake.AL2023},
		awsfake.Instance{OS: awsfake.AL2, Cluster: "staging", ECSConfig: stagingConfig},
		awsfake.Instance{OS: awsfake.AL2023, Cluster: "staging", ECSConfig: stagingConfig})
	arn := e.insts[0].ContainerInstanceARN
	e.insts[0].Cluster = arn[:strings.Index(arn, ":container-instance/")] + ":cluster/prod"
	e.insts[1].Cluster, e.insts[2].Cluster = "staging", "staging"
	var l logLines
	o := e2eOptions(&l)
	o.Cluster, o.Timeout = "", testenv.Scale(time.Minute)
	res, err := Apply(context.Background(), e.c, e.insts, o)
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, l.String())
	}
	if statuses(res) != "updated updated updated" || res.Instances[0].Cluster != e.insts[0].Cluster {
		t.Fatalf("statuses %s, outcomes %+v", statuses(res), res.Instances)
	}
	for i, o := range res.Instances {
		if a, _ := e.srv.Agent(o.EC2InstanceID); !o.AgentReconnected || a.Restarts == 0 || !a.Connected {
			t.Errorf("instance %d (cluster %s): reconnected %v, restarts %d", i, o.Cluster, o.AgentReconnected, a.Restarts)
		}
	}
	// One batch of prod's instance and staging's first, then staging's second.
	if !strings.Contains(l.String(), "apply: batch 1 of 2: cluster prod: "+e.insts[0].EC2InstanceID+"; cluster staging: "+e.insts[1].EC2InstanceID) {
		t.Errorf("the log does not show the batches:\n%s", l.String())
	}
	e.describedInOwnCluster(t)
	e.parameterGone(t, res)

	var lr logLines
	ro := e2eOptions(&lr)
	ro.Cluster, ro.Timeout = "", testenv.Scale(time.Minute)
	ro.FleetSizes = map[string]int{"prod": 1, "staging": 2}
	rb, err := Rollback(context.Background(), e.c, res.Changed(), ro)
	if err != nil || statuses(rb) != "restored restored restored" {
		t.Fatalf("Rollback: %v (%s)\n%s", err, statuses(rb), lr.String())
	}
	for i, want := range []string{e2eConfig, stagingConfig, stagingConfig} {
		if got := e.config(t, i); got != want {
			t.Errorf("instance %d not restored:\n%s", i, got)
		}
	}
	e.describedInOwnCluster(t)
}

// describedInOwnCluster fails when a DescribeContainerInstances named a
// container instance of another cluster than the one it was sent to, or
// failed.
func (e *e2e) describedInOwnCluster(t *testing.T) {
	t.Helper()
	n := 0
	for _, c := range e.srv.Calls() {
		if c.Operation != "DescribeContainerInstances" {
			continue
		}
		n++
		var in struct {
			Cluster            string   `json:"cluster"`
			ContainerInstances []string `json:"containerInstances"`
		}
		if err := json.Unmarshal(c.Input, &in); err != nil || c.ErrorCode != "" {
			t.Fatalf("DescribeContainerInstances %s: %v %s", c.Input, err, c.ErrorCode)
		}
		for _, arn := range in.ContainerInstances {
			if !strings.Contains(arn, ":container-instance/"+awsname.Short(in.Cluster)+"/") {
				t.Errorf("DescribeContainerInstances in cluster %s named %s", in.Cluster, arn)
			}
		}
	}
	if n == 0 {
		t.Error("no DescribeContainerInstances")
	}
}
