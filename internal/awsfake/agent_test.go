package awsfake

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The fake agent reads ECS_ENGINE_AUTH_DATA as parseAuthData does: one
// member of the wrong shape for the agent's typed map drops every registry;
// a member of the right shape whose auth does not decode drops only itself.
func TestAgentAuthDataIsReadAsAWhole(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	good := `"reg.example.com":{"username":"u","password":"p"}`
	goodCfg := `"reg.example.com":{"auth":"` + b64("u:p") + `"}`
	for _, tc := range []struct {
		name, authType, data string
		want                 bool // reg.example.com/app pulls with u:p
	}{
		{"docker, well formed", "docker", `{` + good + `}`, true},
		{"docker, a string member", "docker", `{` + good + `,"other.example.com":"x"}`, false},
		{"docker, a number in email", "docker", `{` + good + `,"other.example.com":{"username":"a","password":"b","email":5}}`, false},
		{"docker, a number in auth", "docker", `{` + good + `,"other.example.com":{"auth":5}}`, false},
		{"docker, a bool in identitytoken", "docker", `{` + good + `,"other.example.com":{"identitytoken":true}}`, false},
		{"docker, a bool in registrytoken", "docker", `{` + good + `,"other.example.com":{"registrytoken":false}}`, false},
		{"docker, an object in serveraddress", "docker", `{` + good + `,"other.example.com":{"serveraddress":{}}}`, false},
		{"docker, unknown fields are ignored", "docker", `{` + good + `,"other.example.com":{"x":5}}`, true},
		{"docker, a null member", "docker", `{` + good + `,"other.example.com":null}`, true},
		{"docker, quoted", "docker", `"{` + strings.ReplaceAll(good, `"`, `\"`) + `}"`, false},
		{"docker, an array", "docker", `[{` + good + `}]`, false},
		{"dockercfg, well formed", "dockercfg", `{` + goodCfg + `}`, true},
		{"dockercfg, a number in auth", "dockercfg", `{` + goodCfg + `,"other.example.com":{"auth":5}}`, false},
		{"dockercfg, a string member", "dockercfg", `{` + goodCfg + `,"other.example.com":"x"}`, false},
		{"dockercfg, email of another type is not read", "dockercfg", `{` + goodCfg + `,"other.example.com":{"auth":"` + b64("a:b") + `","email":5}}`, true},
		{"dockercfg, bad base64 drops that member only", "dockercfg", `{` + goodCfg + `,"other.example.com":{"auth":"%%%"}}`, true},
		{"dockercfg, no colon drops that member only", "dockercfg", `{` + goodCfg + `,"other.example.com":{"auth":"` + b64("ab") + `"}}`, true},
		{"dockercfg, quoted", "dockercfg", `"{` + strings.ReplaceAll(goodCfg, `"`, `\"`) + `}"`, false},
		{"no type", "", `{` + goodCfg + `}`, false},
		{"another type", "basic", `{` + goodCfg + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, user, pass, ok := AgentCredentials(tc.authType, tc.data, "reg.example.com/app:1")
			if got := ok && key == "reg.example.com" && user == "u" && pass == "p"; got != tc.want {
				t.Errorf("pulls with %q %q:%q (found %v); want credentials %v", key, user, pass, ok, tc.want)
			}
		})
	}
}

// A task pulling ghcr.io/org/app on an instance whose agent holds ghcr.io
// (new credentials) and ghcr.io/org (old ones) pulls with the old ones: the
// longer key on the host that prefixes the image wins (GetAuthconfig).
func TestAgentPullsWithTheLongerPrefixKey(t *testing.T) {
	f := newFixture(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	config := "ECS_CLUSTER=prod\nECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={" +
		`"ghcr.io":{"auth":"` + b64("robot:new") + `"},"https://ghcr.io/org":{"auth":"` + b64("robot:old") + `"}}` + "\n"
	ref := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL2023, ECSConfig: config})
	if a, _ := f.Agent(ref.InstanceID); a.Auth["ghcr.io"] != "robot:new" || a.Auth["ghcr.io/org"] != "robot:old" {
		t.Fatalf("agent loaded %v", a.Auth)
	}
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "app", Image: "ghcr.io/org/app:1"}}})

	// The registry takes the old credentials: the task runs.
	f.SetRegistryCredentials("ghcr.io", "robot", "old")
	f.CreateService(Service{Cluster: "prod", Name: "app", TaskDefinition: td, DesiredCount: 1})
	waitFor(t, 2*time.Second, "the task to run with the old credentials", func() bool {
		return f.describe(t, "prod", "app").RunningCount == 1
	})

	// The registry now takes only the new ones: a new task cannot pull.
	f.SetRegistryCredentials("ghcr.io", "robot", "new")
	dep := f.forceDeploy(t, "prod", "app")
	waitFor(t, 2*time.Second, "a pull denied to the old credentials", func() bool {
		for _, task := range f.tasksOf(t, "prod", dep, ecstypes.DesiredStatusStopped) {
			if strings.Contains(aws.ToString(task.StoppedReason), "pull access denied for ghcr.io/org/app") {
				return true
			}
		}
		return false
	})

	// The same agent pulls ghcr.io/other/app with the host's key.
	if key, _, pass, _ := AgentCredentials("dockercfg", strings.TrimSpace(strings.SplitN(config, "ECS_ENGINE_AUTH_DATA=", 2)[1]), "ghcr.io/other/app"); key != "ghcr.io" || pass != "new" {
		t.Errorf("ghcr.io/other/app pulls with %s (%s), want ghcr.io (new)", key, pass)
	}
}

// Without a key equal to the image's host, the agent's choice follows Go's
// map order; the fake's does too, and never leaves the keys that could win.
func TestAgentMapOrderChoice(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	data := `{"ghcr.io/org":{"auth":"` + b64("a:1") + `"},"ghcr.io/organisation":{"auth":"` + b64("b:2") + `"}}`
	seen := map[string]bool{}
	for range 200 {
		key, _, _, ok := AgentCredentials("dockercfg", data, "ghcr.io/org/app")
		if !ok || (key != "ghcr.io/org" && key != "ghcr.io/organisation") {
			t.Fatalf("picked %q (found %v)", key, ok)
		}
		seen[key] = true
	}
	if len(seen) != 2 {
		t.Logf("only %v in 200 tries (Go's map order is random, not uniform)", seen)
	}
}
