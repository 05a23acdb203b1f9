package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// ecsWorld is cluster prod whose container instances give the ECS agent its
// registry credentials in ecs.config: services web and worker pull from the
// fake registry without repositoryCredentials, proxy pulls a public image.
// The instances still hold oldPassword; the registry now wants newPassword.
type ecsWorld struct {
	*world
	refs []awsfake.ContainerInstanceRef
}

func ecsConfigText(host, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return "ECS_CLUSTER=prod\n# registry credentials\nECS_ENGINE_AUTH_TYPE=dockercfg\n" +
		`ECS_ENGINE_AUTH_DATA={"` + host + `":{"auth":"` + auth + `","email":""},"ghcr.io":{"auth":"b3RoZXI6a2VlcA==","email":""}}` + "\n" +
		"ECS_ENABLE_TASK_IAM_ROLE=true\n"
}

func newECSWorld(t *testing.T, instances ...awsfake.Instance) *ecsWorld {
	t.Helper()
	fake, err := awsfake.Start(awsfake.Options{Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w := &ecsWorld{world: &world{fake: fake}}
	fake.CreateCluster("prod")
	fake.SetRegistryCredentials(fake.RegistryHost(), user, oldPassword)
	if len(instances) == 0 {
		instances = []awsfake.Instance{{OS: awsfake.AL1}, {OS: awsfake.AL2}, {OS: awsfake.AL2023}}
	}
	for _, in := range instances {
		in.Cluster = "prod"
		if in.ECSConfig == "" {
			in.ECSConfig = ecsConfigText(fake.RegistryHost(), oldPassword)
		}
		w.refs = append(w.refs, fake.AddContainerInstance(in))
	}
	w.webImage = fake.PushImage("shop/web:1.4.2")
	web := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "web", Containers: []awsfake.Container{
		{Name: "web", Image: w.webImage}, {Name: "sidecar", Image: "public.ecr.aws/nginx/nginx:1.27"}}})
	worker := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "worker", Containers: []awsfake.Container{
		{Name: "worker", Image: fake.PushImage("shop/worker:2.0.1")}}})
	proxy := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "proxy", Containers: []awsfake.Container{
		{Name: "nginx", Image: "public.ecr.aws/nginx/nginx:1.27"}}})
	w.webTD = web
	for _, s := range []awsfake.Service{{Name: "web", TaskDefinition: web, DesiredCount: 2},
		{Name: "worker", TaskDefinition: worker, DesiredCount: 1}, {Name: "proxy", TaskDefinition: proxy, DesiredCount: 1}} {
		s.Cluster = "prod"
		fake.CreateService(s)
	}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, newPassword)
	return w
}

func (w *ecsWorld) inputs() map[string]string {
	return map[string]string{
		"auth-mode": "ecs-config", "cluster": "prod", "username": user, "password": newPassword,
		"registry": w.fake.RegistryHost(), "poll-interval": "100ms", "timeout": testenv.ScaleString(60 * time.Second),
	}
}

func (w *ecsWorld) configs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range w.refs {
		b, err := os.ReadFile(r.ConfigPath)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

type instanceOutput struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	EC2InstanceID        string `json:"ec2InstanceId"`
	CommandID            string `json:"commandId"`
	Status               string `json:"status"`
	AgentReconnected     bool   `json:"agentReconnected"`
}

func decodeInstances(t *testing.T, s string) []instanceOutput {
	t.Helper()
	var out []instanceOutput
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("instances output is not JSON: %v: %q", err, s)
	}
	return out
}

// noCredentialInSSM: under the parameter transport only PutParameter may
// carry the auth data, in any encoding.
func (w *ecsWorld) noCredentialInSSM(t *testing.T) {
	t.Helper()
	forms := []string{newPassword, base64.StdEncoding.EncodeToString([]byte(user + ":" + newPassword))}
	for _, c := range w.fake.Calls() {
		if c.Service != "ssm" || c.Operation == "PutParameter" {
			continue
		}
		for _, f := range forms {
			if strings.Contains(string(c.Input), f) {
				t.Errorf("SSM %s carries the credential", c.Operation)
			}
		}
	}
}

func TestECSConfigRotatesAMixedCluster(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	insts := decodeInstances(t, r.outputs["instances"])
	if len(insts) != 3 {
		t.Fatalf("instances output has %d entries, want 3", len(insts))
	}
	for i, in := range insts {
		if in.Status != "updated" || !in.AgentReconnected || in.CommandID == "" {
			t.Errorf("instance %d: %+v, want updated and reconnected", i, in)
		}
		agent, _ := w.fake.Agent(w.refs[i].InstanceID)
		if agent.Auth[w.fake.RegistryHost()] != user+":"+newPassword || agent.Auth["ghcr.io"] != "other:keep" {
			t.Errorf("instance %d's agent loaded %v", i, agent.Auth)
		}
	}
	for i, c := range w.configs(t) {
		if !strings.HasPrefix(c, "ECS_CLUSTER=prod\n# registry credentials\nECS_ENGINE_AUTH_TYPE=dockercfg\n") || !strings.HasSuffix(c, "\nECS_ENABLE_TASK_IAM_ROLE=true\n") {
			t.Errorf("instance %d: other lines not kept:\n%s", i, c)
		}
	}
	if m := strings.Join(w.mutations(), " "); strings.Count(m, "UpdateService") != 2 {
		t.Errorf("mutations %s, want web and worker deployed", m)
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("the run's parameter outlived it: %v", names)
	}
	w.noCredentialInSSM(t)
	again := w.run(t, w.inputs())
	if again.code != 0 || again.outputs["result"] != "unchanged" {
		t.Errorf("re-run: exit %d, result %q; want unchanged", again.code, again.outputs["result"])
	}
}

func TestECSConfigDockerAuthType(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023, ECSConfig: "ECS_CLUSTER=prod\n"})
	in := w.inputs()
	in["ecs-config-auth-type"] = "docker"
	r := w.run(t, in)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	c := w.configs(t)[0]
	if !strings.Contains(c, "ECS_ENGINE_AUTH_TYPE=docker\n") || !strings.Contains(c, `"username":"deploy"`) {
		t.Errorf("config:\n%s", c)
	}
}

// Preflight: one instance that cannot be rewritten stops the run before any
// instance is changed.
func TestECSConfigPreflightFailureChangesNothing(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	for name, bad := range map[string]awsfake.Instance{
		"no ecs.config":          {OS: awsfake.AL2, NoECSConfig: true},
		"role cannot read param": {OS: awsfake.AL2, DenyParameterRead: true},
	} {
		t.Run(name, func(t *testing.T) {
			w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, bad, awsfake.Instance{OS: awsfake.AL1})
			before := w.configs(t)
			r := w.run(t, w.inputs())
			if r.code != 1 {
				t.Fatalf("exit %d, want 1", r.code)
			}
			if after := w.configs(t); !slices.Equal(before, after) {
				t.Error("an instance was changed although the preflight failed")
			}
			if slices.Contains(w.mutations(), "UpdateService") {
				t.Error("a service was rolled")
			}
			errLine := lineWith(r.stdout, "::error")
			if !strings.Contains(errLine, w.refs[1].InstanceID) {
				t.Errorf("the error does not name the instance: %s", errLine)
			}
			if name == "role cannot read param" && (!strings.Contains(errLine, "ssm:GetParameter") || !strings.Contains(errLine, "inline")) {
				t.Errorf("the error lacks the permission or the inline way out: %s", errLine)
			}
			if names := w.fake.ParameterNames(); len(names) != 0 {
				t.Errorf("the run's parameter outlived it: %v", names)
			}
		})
	}
}

func TestECSConfigAgentThatNeverReconnectsStopsBeforeAnyRoll(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2, NeverReconnects: true})
	in := w.inputs()
	// The timeout bounds the preflight and the apply too: room for both on a
	// busy machine, then the wait for the agent that never comes back.
	in["timeout"] = testenv.ScaleString(20 * time.Second)
	r := w.run(t, in)
	if r.code != 1 || slices.Contains(w.mutations(), "UpdateService") {
		t.Fatalf("exit %d, mutations %v; want 1 and no service rolled", r.code, w.mutations())
	}
	if !strings.Contains(lineWith(r.stdout, "::error"), w.refs[1].InstanceID) {
		t.Errorf("the error does not name the instance:\n%s", r.stdout)
	}
}

func TestECSConfigRefusesWindowsByName(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.Windows})
	r := w.run(t, w.inputs())
	if r.code != 1 || len(w.mutations()) != 0 {
		t.Fatalf("exit %d, mutations %v; want 1 and nothing changed", r.code, w.mutations())
	}
	if !strings.Contains(lineWith(r.stdout, "::error"), w.refs[1].InstanceID) {
		t.Errorf("the error does not name the Windows instance:\n%s", r.stdout)
	}
}

func TestECSConfigInlineWarns(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2})
	in := w.inputs()
	in["ecs-config-transport"] = "inline"
	r := w.run(t, in)
	if r.code != 0 || !strings.Contains(lineWith(r.stdout, "::warning"), "ssm:ListCommands") {
		t.Fatalf("exit %d; want 0 and a warning naming ssm:ListCommands:\n%s", r.code, r.stdout)
	}
	if slices.Contains(w.mutations(), "PutParameter") {
		t.Error("inline transport wrote a parameter")
	}
}

func TestECSConfigRollbackRestoresTheBackups(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // the new password never worked
	before := w.configs(t)
	in := w.inputs()
	in["password"], in["verify-credentials"], in["rollback-on-failure"] = "typo-"+newPassword, "false", "true"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "rolled-back" {
		t.Fatalf("exit %d, result %q; want 1 and rolled-back", r.code, r.outputs["result"])
	}
	if after := w.configs(t); !slices.Equal(before, after) {
		t.Errorf("ecs.config not restored byte for byte")
	}
	for _, in := range decodeInstances(t, r.outputs["instances"]) {
		if in.Status != "restored" {
			t.Errorf("instance %s: status %s, want restored", in.EC2InstanceID, in.Status)
		}
	}
	for _, svc := range []string{"web", "worker"} {
		s, _ := w.fake.ServiceSnapshot("prod", svc)
		if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount {
			t.Errorf("service %s after the rollback: %d deployments, %d/%d running", svc, len(s.Deployments), s.RunningCount, s.DesiredCount)
		}
	}
}

func TestECSConfigCancelDeletesTheParameter(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	before := w.configs(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for w.fake.CallCount("SendCommand") < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	r := w.runContext(ctx, t, w.inputs())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("the parameter outlived the cancelled run: %v", names)
	}
	errLine := lineWith(r.stdout, "::error title=run cancelled")
	if !strings.Contains(errLine, "cancelled") {
		t.Errorf("no cancellation error:\n%s", r.stdout)
	}
	// The truth about what changed: every instance whose file the run
	// rewrote is named, with where its backup is.
	for i, c := range w.configs(t) {
		if c != before[i] && (!strings.Contains(errLine, w.refs[i].InstanceID) || !strings.Contains(errLine, ".bak")) {
			t.Errorf("instance %s was rewritten, but the error does not say so and where its backup is: %s", w.refs[i].InstanceID, errLine)
		}
	}
}

// A cancel in the middle of the change tells the truth per instance: those
// rewritten (or perhaps rewritten) are named with where their backup is.
func TestECSConfigCancelDuringApplyNamesChangedInstances(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL1})
	before := w.configs(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !slices.ContainsFunc(w.refs, func(r awsfake.ContainerInstanceRef) bool { a, _ := w.fake.Agent(r.InstanceID); return a.Restarts > 0 }) {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	r := w.runContext(ctx, t, w.inputs())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	errLine := lineWith(r.stdout, "::error title=run cancelled")
	changed := 0
	for i, c := range w.configs(t) {
		if c == before[i] {
			continue
		}
		changed++
		if !strings.Contains(errLine, w.refs[i].InstanceID) || !strings.Contains(errLine, ".bak") {
			t.Errorf("instance %s was rewritten, but the error does not say so and where its backup is: %s", w.refs[i].InstanceID, errLine)
		}
	}
	if changed == 0 || changed == len(w.refs) {
		t.Logf("cancelled with %d of %d instances changed", changed, len(w.refs))
	}
	if slices.Contains(w.mutations(), "UpdateService") {
		t.Error("a service was rolled after the cancel")
	}
	if names := w.fake.ParameterNames(); len(names) != 0 {
		t.Errorf("the parameter outlived the cancelled run: %v", names)
	}
}

// A re-run that finds every file current still rolls the services whose
// tasks started before the files were written: a run that wrote them but
// rolled nothing (cancelled, or force-new-deployment false) is finished by
// the next one, not called unchanged.
func TestECSConfigRerunRollsServicesOlderThanTheFiles(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2})
	in := w.inputs()
	in["force-new-deployment"] = "false"
	if r := w.run(t, in); r.code != 0 || slices.Contains(w.mutations(), "UpdateService") {
		t.Fatalf("first run: exit %d, mutations %v; want 0 and no service rolled", r.code, w.mutations())
	}
	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("re-run: exit %d, result %q; want 0 and success, not unchanged", r.code, r.outputs["result"])
	}
	if n := strings.Count(strings.Join(w.mutations(), " "), "UpdateService"); n != 2 {
		t.Errorf("%d UpdateService calls, want web and worker rolled", n)
	}
	for _, inst := range decodeInstances(t, r.outputs["instances"]) {
		if inst.Status != "unchanged" {
			t.Errorf("instance %s: %s, want unchanged", inst.EC2InstanceID, inst.Status)
		}
	}
	again := w.run(t, w.inputs())
	if again.code != 0 || again.outputs["result"] != "unchanged" {
		t.Errorf("third run: exit %d, result %q; want unchanged", again.code, again.outputs["result"])
	}
}
