package main

import (
	"strings"
	"testing"
)

func TestBadInputExits2WithoutCallingAWS(t *testing.T) {
	cases := []struct {
		input, value string
	}{
		{"auth-mode", "vault"},
		{"cluster", ""},
		{"cluster", "prod cluster"},
		{"secret-id", ""},
		{"username", ""},
		{"password", ""},
		{"ecs-config-auth-type", "json"},
		{"services", "web,no such service"},
		{"force-new-deployment", "yes"},
		{"minimum-healthy-percent", "250"},
		{"minimum-healthy-percent", "half"},
		{"wait", "1"},
		{"timeout", "15"},
		{"timeout", "-1m"},
		{"poll-interval", "0s"},
		{"fail-fast", "nope"},
		{"verify-credentials", "on"},
		{"dry-run", "maybe"},
		{"rollback-on-failure", "y"},
		{"role-to-assume", "admin"},
		{"aws-region", "Europe"},
	}
	for _, c := range cases {
		t.Run(c.input+"="+c.value, func(t *testing.T) {
			w := newWorld(t)
			in := w.defaultInputs()
			in[c.input] = c.value
			r := w.run(t, in)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2", r.code)
			}
			if !strings.Contains(r.stdout, "::error") || !strings.Contains(r.stdout, c.input) {
				t.Errorf("no ::error naming input %s:\n%s", c.input, r.stdout)
			}
			if n := len(w.fake.Calls()); n != 0 {
				t.Errorf("bad input made %d AWS calls, want 0", n)
			}
		})
	}
}

func TestMissingThingsFailBeforeAnyChange(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(w *world, in map[string]string)
		expect []string // in the ::error line
	}{
		{"unknown secret", func(w *world, in map[string]string) { in["secret-id"] = "prod/nope" },
			[]string{"secretsmanager:GetSecretValue", "prod/nope", "ResourceNotFoundException"}},
		{"secret not JSON", func(w *world, in map[string]string) {
			w.fake.CreateSecret("prod/plain", "just-a-password")
			in["secret-id"] = "prod/plain"
		}, []string{"prod/plain", "JSON object"}},
		{"unknown service", func(w *world, in map[string]string) { in["services"] = "web,ghost" },
			[]string{"ghost", "not found"}},
		{"unknown cluster", func(w *world, in map[string]string) { in["cluster"] = "staging" },
			[]string{"staging", "not found"}},
		{"access denied", func(w *world, in map[string]string) { w.fake.DenyAccess("DescribeServices") },
			[]string{"ecs:DescribeServices", "AccessDenied"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			in := w.defaultInputs()
			c.setup(w, in)
			r := w.run(t, in)
			if r.code != 1 || r.outputs["result"] != "failed" {
				t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
			}
			errLine := lineWith(r.stdout, "::error")
			for _, want := range c.expect {
				if !strings.Contains(errLine, want) {
					t.Errorf("error line lacks %q: %s", want, errLine)
				}
			}
			if m := w.mutations(); len(m) != 0 {
				t.Errorf("AWS was changed: %v", m)
			}
		})
	}
}

func TestCodeDeployServiceRefusedBeforeAnyChange(t *testing.T) {
	w := newWorld(t)
	w.fake.CreateService(awsfakeService("bluegreen", "CODE_DEPLOY", w))
	in := w.defaultInputs()
	in["services"] = "web,bluegreen"
	r := w.run(t, in)
	if r.code != 1 || !strings.Contains(lineWith(r.stdout, "::error"), "bluegreen (CODE_DEPLOY)") {
		t.Fatalf("exit %d, want 1 with an error naming bluegreen (CODE_DEPLOY):\n%s", r.code, r.stdout)
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("AWS was changed: %v", m)
	}
}

func lineWith(text, substr string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

func TestAccessDeniedNamesTheMissingPermission(t *testing.T) {
	for op, action := range map[string]string{"PutSecretValue": "secretsmanager:PutSecretValue", "UpdateService": "ecs:UpdateService", "ListTasks": "ecs:ListTasks"} {
		t.Run(op, func(t *testing.T) {
			w := newWorld(t)
			w.fake.DenyAccess(op)
			r := w.run(t, w.defaultInputs())
			if r.code != 1 || r.outputs["result"] != "failed" {
				t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
			}
			errLine := lineWith(r.stdout, "::error")
			for _, want := range []string{action, "lacks the IAM permission " + action} {
				if !strings.Contains(errLine, want) {
					t.Errorf("error lacks %q: %s", want, errLine)
				}
			}
			if n := strings.Count(r.stdout, "::error"); n != 1 {
				t.Errorf("%d ::error lines for one denied call, want 1", n)
			}
			if op == "UpdateService" && !strings.Contains(errLine, "a re-run with the same inputs deploys the services") {
				t.Errorf("the deploy error should say the secret was already written and what a re-run does: %s", errLine)
			}
		})
	}
}
