package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// oidcServer stands in for the Actions runtime's ID-token endpoint.
func oidcServer(t *testing.T, token string) (requestURL, requestToken string) {
	t.Helper()
	const bearer = "runtime-request-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+bearer || r.URL.Query().Get("audience") != "sts.amazonaws.com" {
			http.Error(w, "bad request", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": token})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token?api-version=2.0", bearer
}

func TestRoleToAssumeUsesTheJobsOIDCToken(t *testing.T) {
	w := newWorld(t)
	const role = "arn:aws:iam::123456789012:role/registry-rotation"
	reqURL, reqToken := oidcServer(t, "eyJhbGciOiJSUzI1NiJ9.job-token")
	in := w.defaultInputs()
	in["role-to-assume"] = role
	r := w.runEnv(t, in, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken})
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if w.fake.CallCount("AssumeRoleWithWebIdentity") == 0 {
		t.Fatal("the role was not assumed")
	}
	for _, c := range w.fake.Calls() {
		if c.Operation == "AssumeRoleWithWebIdentity" && (!strings.Contains(string(c.Input), role) || !strings.Contains(string(c.Input), "job-token")) {
			t.Errorf("AssumeRoleWithWebIdentity input %s lacks the role or the job's token", c.Input)
		}
	}
	// The fake's STS hands out ASIAFAKE... keys; the default chain's are AKIDFAKE...
	for _, c := range w.fake.MutatingCalls() {
		if !strings.HasPrefix(c.AccessKeyID, "ASIAFAKE") {
			t.Errorf("%s was signed by %q, not by the assumed role's credentials", c.Operation, c.AccessKeyID)
		}
	}
}

func TestRoleToAssumeWithoutIDTokenPermission(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["role-to-assume"] = "arn:aws:iam::123456789012:role/registry-rotation"
	r := w.run(t, in)
	if r.code != 1 || !strings.Contains(lineWith(r.stdout, "::error"), "id-token: write") {
		t.Fatalf("exit %d, want 1 with an error that names `permissions: id-token: write`:\n%s", r.code, r.stdout)
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("AWS was changed: %v", m)
	}
}

func TestUnchangedSecretStillRollsServicesStartedBeforeIt(t *testing.T) {
	w := newWorld(t)
	// A run that wrote the secret but died before deploying: the secret is
	// current, the services still run tasks from before it.
	time.Sleep(10 * time.Millisecond)
	w.fake.CreateSecret("prod/registry", `{"username":"deploy","password":"`+newPassword+`","team":"platform"}`)
	r := w.run(t, w.defaultInputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d result %q, want 0 success", r.code, r.outputs["result"])
	}
	if n := w.fake.CallCount("PutSecretValue"); n != 0 {
		t.Errorf("PutSecretValue called %d times for a secret that already held the credentials", n)
	}
	if got := updatedServices(w); len(got) != 2 {
		t.Errorf("deployed %v, want web and worker, which still ran tasks from before the secret's version", got)
	}
}

func TestMinimumHealthyPercentKeepsTheRestOfTheDeploymentConfiguration(t *testing.T) {
	w := newWorld(t)
	in := w.defaultInputs()
	in["minimum-healthy-percent"] = "50"
	in["services"] = "web"
	if r := w.run(t, in); r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	for _, c := range w.fake.Calls() {
		if c.Operation != "UpdateService" {
			continue
		}
		var body struct {
			DeploymentConfiguration struct {
				MinimumHealthyPercent *int32 `json:"minimumHealthyPercent"`
				MaximumPercent        *int32 `json:"maximumPercent"`
			} `json:"deploymentConfiguration"`
		}
		if err := json.Unmarshal(c.Input, &body); err != nil {
			t.Fatal(err)
		}
		dc := body.DeploymentConfiguration
		if dc.MinimumHealthyPercent == nil || *dc.MinimumHealthyPercent != 50 || dc.MaximumPercent == nil || *dc.MaximumPercent != 200 {
			t.Errorf("UpdateService deploymentConfiguration = %s, want minimumHealthyPercent 50 and the service's maximumPercent 200 kept", c.Input)
		}
	}
}
