package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

func TestRotationHappyPath(t *testing.T) {
	w := newWorld(t)
	r := w.run(t, w.defaultInputs())

	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if !strings.HasPrefix(r.stdout, "::add-mask::"+newPassword+"\n") {
		t.Errorf("the first line must mask the password; stdout starts %q", r.stdout[:min(60, len(r.stdout))])
	}
	var secret map[string]string
	if err := json.Unmarshal([]byte(w.fake.SecretString(w.secretARN)), &secret); err != nil {
		t.Fatal(err)
	}
	if secret["username"] != user || secret["password"] != newPassword || secret["team"] != "platform" {
		t.Errorf("secret after rotation: keys %v; want the new credentials and team kept", keys(secret))
	}
	if got := w.fake.CallCount("PutSecretValue"); got != 1 {
		t.Errorf("PutSecretValue calls = %d, want 1", got)
	}
	if got := updatedServices(w); !slices.Equal(got, []string{"web", "worker"}) {
		t.Errorf("services deployed = %v, want [web worker] (proxy does not use the secret)", got)
	}
	if r.outputs["result"] != "success" {
		t.Errorf("result = %q, want success", r.outputs["result"])
	}
	versions := w.fake.SecretVersions(w.secretARN)
	if r.outputs["secret-version-id"] == "" || !hasStage(versions, r.outputs["secret-version-id"], "AWSCURRENT") {
		t.Errorf("secret-version-id %q is not the AWSCURRENT version", r.outputs["secret-version-id"])
	}
	services := decodeServices(t, r.outputs["services"])
	if len(services) != 2 {
		t.Fatalf("services output has %d entries, want 2: %s", len(services), r.outputs["services"])
	}
	for _, s := range services {
		if s.RolloutState != "COMPLETED" || s.RunningCount != s.DesiredCount || !strings.HasPrefix(s.DeploymentID, "ecs-svc/") || !strings.Contains(s.Cluster, "prod") {
			t.Errorf("service output %+v, want a COMPLETED ecs-svc deployment with every task running", s)
		}
	}
	if r.outputs["failed-tasks"] != "[]" {
		t.Errorf("failed-tasks = %s, want []", r.outputs["failed-tasks"])
	}
	for _, want := range []string{"success", "web", "worker", "COMPLETED", r.outputs["secret-version-id"], "Credentials checked"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
	for _, group := range []string{"::group::Plan", "::group::Verify credentials", "::group::Update secret", "::group::Deploy", "::group::Wait for"} {
		if !strings.Contains(r.stdout, group) {
			t.Errorf("log lacks %q", group)
		}
	}
}

func TestListedServicesOnly(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["services"] = "worker\n proxy ,worker"
	r := w.run(t, in)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if got := updatedServices(w); !slices.Equal(got, []string{"worker", "proxy"}) {
		t.Errorf("deployed %v, want the listed [worker proxy]", got)
	}
	if !strings.Contains(r.stdout, "::warning::service proxy does not name secret") {
		t.Errorf("no warning that proxy does not use the secret")
	}
}

func TestIdempotentRerun(t *testing.T) {
	w := newWorld(t)
	if r := w.run(t, w.defaultInputs()); r.code != 0 {
		t.Fatalf("first run exit %d", r.code)
	}
	w.fake.ResetCalls()
	r := w.run(t, w.defaultInputs())
	if r.code != 0 || r.outputs["result"] != "unchanged" {
		t.Errorf("second run: exit %d result %q, want 0 unchanged", r.code, r.outputs["result"])
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("second run changed AWS: %v", m)
	}
	if n := len(w.fake.SecretVersions(w.secretARN)); n != 2 {
		t.Errorf("secret has %d versions, want 2 (the original and one rotation)", n)
	}
	if !strings.Contains(r.stdout, "already holds these credentials") {
		t.Errorf("the log does not say the secret was already current")
	}
	if strings.Contains(r.stdout, "::group::Verify credentials") {
		t.Errorf("a run with nothing to do still logged in to the registry")
	}
	if r.outputs["secret-version-id"] == "" || !hasStage(w.fake.SecretVersions(w.secretARN), r.outputs["secret-version-id"], "AWSCURRENT") {
		t.Errorf("secret-version-id %q is not the current version", r.outputs["secret-version-id"])
	}
	if !strings.Contains(r.summary, "unchanged") {
		t.Errorf("the summary does not say unchanged:\n%s", r.summary)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["dry-run"] = "true"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "dry-run" {
		t.Fatalf("exit %d result %q, want 0 dry-run", r.code, r.outputs["result"])
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("dry run changed AWS: %v", m)
	}
	for _, want := range []string{"web", "worker", w.webImage, w.secretARN} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan lacks %q", want)
		}
	}
	for _, want := range []string{"<details open><summary>Plan: 2 services", `| web | ` + mdLiteral("web:1") + ` | web | ` + mdLiteral(w.webImage) + ` | yes |`} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("the summary's plan lacks %q:\n%s", want, r.summary)
		}
	}
}

func TestThrottledRunSucceeds(t *testing.T) {
	w := newWorld(t)
	w.fake.Throttle("*", 0.3)
	r := w.run(t, w.defaultInputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d result %q under 30%% throttling, want 0 success", r.code, r.outputs["result"])
	}
	throttled := 0
	for _, c := range w.fake.Calls() {
		if c.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("no call was throttled: the test proves nothing")
	}
	if got := w.fake.CallCount("PutSecretValue"); len(w.fake.SecretVersions(w.secretARN)) != 2 {
		t.Errorf("%d PutSecretValue attempts left %d versions, want 2", got, len(w.fake.SecretVersions(w.secretARN)))
	}
}

func updatedServices(w *world) []string {
	var names []string
	for _, c := range w.fake.Calls() {
		if c.Operation != "UpdateService" || c.ErrorCode != "" {
			continue
		}
		var in struct {
			Service            string `json:"service"`
			ForceNewDeployment bool   `json:"forceNewDeployment"`
		}
		if json.Unmarshal(c.Input, &in) == nil && in.ForceNewDeployment {
			names = append(names, in.Service[strings.LastIndex(in.Service, "/")+1:])
		}
	}
	return names
}

type serviceOutput struct {
	Service      string `json:"service"`
	Cluster      string `json:"cluster"`
	DeploymentID string `json:"deploymentId"`
	RolloutState string `json:"rolloutState"`
	DesiredCount int32  `json:"desiredCount"`
	RunningCount int32  `json:"runningCount"`
	FailedTasks  int32  `json:"failedTasks"`
}

func decodeServices(t *testing.T, s string) []serviceOutput {
	t.Helper()
	var out []serviceOutput
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("services output is not JSON: %v: %q", err, s)
	}
	return out
}

func hasStage(versions []awsfake.SecretVersion, id, stage string) bool {
	for _, v := range versions {
		if v.VersionID == id {
			return slices.Contains(v.Stages, stage)
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// mdLiteral is how the summary shows outside text: ASCII punctuation
// backslash-escaped, so that it renders as the literal text.
func mdLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
