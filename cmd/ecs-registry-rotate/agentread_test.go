package main

import (
	"context"
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

// Issue #14: the preflight judges what the agent will read after the
// rewrite, not just the file.

// configWithData is an ecs.config of cluster prod whose auth data is data.
func configWithData(data string) string {
	return "ECS_CLUSTER=prod\nECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA=" + data + "\n"
}

func dockercfgEntry(password string) string {
	return `{"auth":"` + base64.StdEncoding.EncodeToString([]byte(user+":"+password)) + `","email":""}`
}

// A longer key on the registry's host captures the images: rotating the
// host key would end green while the agent pulls with the other one.
func TestECSConfigLongerKeyCapturesTheImages(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023})
	host := w.fake.RegistryHost()
	errLine := w.refusedWith(t, configWithData(`{"`+host+`":`+dockercfgEntry(oldPassword)+`,"`+host+`/shop":`+dockercfgEntry(oldPassword)+`}`))
	for _, want := range []string{host + "/shop", w.webImage, "no instance was changed"} {
		if !strings.Contains(errLine, want) && !strings.Contains(errLine, strings.ReplaceAll(want, ":", "%3A")) {
			t.Errorf("the error does not name %q:\n%s", want, errLine)
		}
	}
	// Rotating the key the agent uses works.
	in := w.inputs()
	in["registry"] = host + "/shop"
	if r := w.run(t, in); r.code != 0 {
		t.Fatalf("rotating %s/shop: exit %d", host, r.code)
	}
	agent, _ := w.fake.Agent(w.refs[0].InstanceID)
	if agent.Auth[host+"/shop"] != user+":"+newPassword {
		t.Errorf("the agent loaded %v", agent.Auth)
	}
}

// One member of the wrong shape makes the agent drop every registry: the
// preflight refuses before any change and names the member.
func TestECSConfigMalformedMemberIsRefused(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023})
	host := w.fake.RegistryHost()
	errLine := w.refusedWith(t, configWithData(`{"`+host+`":`+dockercfgEntry(oldPassword)+`,"quay.io":"not-an-object"}`))
	if !strings.Contains(errLine, "quay.io") || !strings.Contains(errLine, "auth-data-invalid") {
		t.Errorf("the error does not name the member quay.io:\n%s", errLine)
	}
}

// Parameter Store holds GetParameter to a few a second: a preflight whose
// instances all read at once is throttled, backs off and ends green.
func TestECSConfigPreflightUnderGetParameterThrottling(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2023},
		awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL1}, awsfake.Instance{OS: awsfake.AL1})
	w.fake.LimitGetParameter(1, 1)
	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	// The preflight's reads are the ones throttled: they come before the
	// apply's first command.
	throttled := 0
	for _, c := range w.fake.Calls() {
		if c.Operation == "SendCommand" && strings.Contains(string(c.Input), "ecs-registry-rotate apply ") {
			break
		}
		if c.Operation == "GetParameter" && c.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("no GetParameter of the preflight was throttled: the test tests nothing")
	}
}

// A re-run's rollback restores what the run it continues changed: run 1
// rewrote some instances and was cancelled, run 2 finds those current,
// rewrites the rest, fails and rolls back: every instance gets its
// original back.
func TestECSConfigRerunRollbackRestoresTheEarlierRunsInstances(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL1}, awsfake.Instance{OS: awsfake.AL2023})
	before := w.configs(t)
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // the new password never works
	in := w.inputs()
	in["password"], in["verify-credentials"] = "typo-"+newPassword, "false"

	// Run 1 is cancelled once its first batch rewrote an instance.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil && !slices.ContainsFunc(w.refs, func(r awsfake.ContainerInstanceRef) bool { a, _ := w.fake.Agent(r.InstanceID); return a.Restarts > 0 }) {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	r1 := w.runContext(ctx, t, in)
	cancel()
	if r1.code != 1 {
		t.Fatalf("run 1: exit %d, want 1", r1.code)
	}
	var changed []int
	for i, cfg := range w.configs(t) {
		if cfg != before[i] {
			changed = append(changed, i)
		}
	}
	if len(changed) == 0 || len(changed) == len(before) {
		t.Fatalf("run 1 changed instances %v of %d: want some, not all", changed, len(before))
	}
	for deadline := time.Now().Add(10 * time.Second); len(w.fake.DisconnectedAgents("prod")) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}

	in["rollback-on-failure"] = "true"
	r2 := w.run(t, in)
	if r2.code != 1 || r2.outputs["result"] != "rolled-back" {
		t.Fatalf("run 2: exit %d, result %q; want 1 and rolled-back", r2.code, r2.outputs["result"])
	}
	for i, cfg := range w.configs(t) {
		if cfg != before[i] {
			t.Errorf("instance %d (changed by run 1: %v) does not hold its original ecs.config again:\n%s", i, slices.Contains(changed, i), cfg)
		}
	}
}

// A rollback never puts back what a finished rotation replaced: run 1
// rotates every instance and rolls every service; later one instance is
// found holding its old file again (put back by hand, or a new instance
// from an old template). Run 2, with the same credentials, rewrites only
// that one and fails: its rollback restores that instance alone, leaves the
// others on run 1's credentials (their backups hold ones run 1 replaced and
// may have revoked), and says so.
func TestECSConfigRollbackLeavesAFinishedRunsInstances(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t, awsfake.Instance{OS: awsfake.AL2023}, awsfake.Instance{OS: awsfake.AL2}, awsfake.Instance{OS: awsfake.AL2023})
	before := w.configs(t)
	in := w.inputs()
	if r1 := w.run(t, in); r1.code != 0 || r1.outputs["result"] != "success" {
		t.Fatalf("run 1: exit %d, result %q\n%s", r1.code, r1.outputs["result"], r1.stdout)
	}
	rotated := w.configs(t)
	w.setConfig(t, 2, before[2])
	// The registry now refuses every password we know, so run 2's rollout
	// fails and it rolls back (and the rollback's rollout fails too: only
	// the files matter here).
	w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, "changed-elsewhere-"+newPassword)
	in["verify-credentials"], in["rollback-on-failure"] = "false", "true"
	r2 := w.run(t, in)
	if r2.code != 1 || !strings.Contains(r2.stdout, "Roll back: restore ecs.config on 1 container instances") {
		t.Fatalf("run 2: exit %d; want 1 and a rollback of the one instance it rewrote\n%s", r2.code, r2.stdout)
	}
	after := w.configs(t)
	for i := range 2 {
		if after[i] != rotated[i] {
			t.Errorf("instance %d, which run 1 rotated and run 2 did not touch, was rolled back to:\n%s", i, after[i])
		}
	}
	if after[2] != before[2] {
		t.Errorf("instance 2, which run 2 rewrote, does not hold its file again:\n%s", after[2])
	}
	if line := lineWith(r2.stdout, "the rollback leaves them"); !strings.Contains(line, w.refs[0].InstanceID) || !strings.Contains(line, w.refs[1].InstanceID) {
		t.Errorf("the log does not name the instances the rollback leaves: %q", line)
	}
}

// setConfig replaces instance i's ecs.config before a run.
func (w *ecsWorld) setConfig(t *testing.T, i int, text string) {
	t.Helper()
	if err := os.WriteFile(w.refs[i].ConfigPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	w.fake.RestartAgent(w.refs[i].InstanceID) // it loads the file as it starts
	for deadline := time.Now().Add(10 * time.Second); len(w.fake.DisconnectedAgents("prod")) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the agent of %s did not connect again after its restart", w.refs[i].InstanceID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusedWith runs a rotation of instance 0 holding cfg, which the
// preflight must refuse: exit 1, no service rolled, the file untouched. It
// returns the run's error line.
func (w *ecsWorld) refusedWith(t *testing.T, cfg string) string {
	t.Helper()
	w.setConfig(t, 0, cfg)
	r := w.run(t, w.inputs())
	if r.code != 1 || slices.Contains(w.mutations(), "UpdateService") {
		t.Fatalf("exit %d, mutations %v; want 1 and no service rolled", r.code, w.mutations())
	}
	if got := w.configs(t)[0]; got != cfg {
		t.Errorf("ecs.config was changed:\n%s", got)
	}
	return lineWith(r.stdout, "::error")
}
