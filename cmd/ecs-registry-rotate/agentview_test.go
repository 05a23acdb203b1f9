package main

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

// agentCase is one reading of ECS_ENGINE_AUTH_TYPE / ECS_ENGINE_AUTH_DATA and
// one image, with what the real agent hands Docker
// (aws/amazon-ecs-agent agent/dockerclient/dockerauth/dockerauth.go,
// parseAuthData then GetAuthconfig).
type agentCase struct {
	name, authType, data, image string
	key                         string   // "" = anonymous
	user                        string   // "user:pass" under key
	mayUse                      []string // the keys map order picks among; key is then ""
}

func agentCases() []agentCase {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// The agent's own TestDockerCfgAuth data (dockerauth_test.go).
	cfg := `{"example.tld/user2":{"auth":"` + b64("test:dragon") + `","email":"test@test.test"},` +
		`"example.tld":{"auth":"` + b64("user:swordfish") + `","email":"user2@example.com"},` +
		`"https://aregistry.tld":{"auth":"` + b64("user:swordfish") + `"},` +
		`"http://anotherregistry.tld":{"auth":"` + b64("user:swordfish") + `"},` +
		`"https://index.docker.io/v1/":{"auth":"` + b64("dockerhub:password") + `"}}`
	paths := `{"ghcr.io":{"auth":"` + b64("robot:new") + `"},"https://ghcr.io/org":{"auth":"` + b64("robot:old") + `"}}`
	docker := `{"ghcr.io":{"username":"robot","password":"new"},"ghcr.io/org":{"username":"robot","password":"old"}}`
	namespaced := `{"ghcr.io/org":{"auth":"` + b64("a:1") + `"},"ghcr.io/organisation":{"auth":"` + b64("b:2") + `"}}`
	return []agentCase{
		{"namespace key", "dockercfg", cfg, "example.tld/user2/image", "example.tld/user2", "test:dragon", nil},
		{"host key", "dockercfg", cfg, "example.tld/my/image", "example.tld", "user:swordfish", nil},
		{"no key", "dockercfg", cfg, "registry.tld/image", "", "", nil},
		{"hub bare", "dockercfg", cfg, "nginx", "index.docker.io/v1/", "dockerhub:password", nil},
		{"hub namespaced", "dockercfg", cfg, "amazon/amazon-ecs-agent", "index.docker.io/v1/", "dockerhub:password", nil},
		{"https stripped", "dockercfg", cfg, "aregistry.tld/foo/bar", "aregistry.tld", "user:swordfish", nil},
		{"http stripped", "dockercfg", cfg, "anotherregistry.tld/foo", "anotherregistry.tld", "user:swordfish", nil},
		{"subdomain", "dockercfg", cfg, "foo.aregistry.tld/foo", "", "", nil},
		{"longer host", "dockercfg", cfg, "aregistry.tld2/foo", "", "", nil},
		{"path key beats the host key", "dockercfg", paths, "ghcr.io/org/app:1", "ghcr.io/org", "robot:old", nil},
		{"string prefix", "dockercfg", paths, "ghcr.io/orgx/app", "ghcr.io/org", "robot:old", nil},
		{"outside the prefix", "dockercfg", paths, "ghcr.io/other/app", "ghcr.io", "robot:new", nil},
		{"docker type path key", "docker", docker, "ghcr.io/org/app@sha256:0123", "ghcr.io/org", "robot:old", nil},
		{"map order", "dockercfg", namespaced, "ghcr.io/org/app", "", "", []string{"ghcr.io/org", "ghcr.io/organisation"}},
		{"only key of the host", "dockercfg", `{"ghcr.io/org":{"auth":"` + b64("a:1") + `"}}`, "ghcr.io/else/app", "ghcr.io/org", "a:1", nil},
		{"one bad member drops all (docker)", "docker", strings.TrimSuffix(docker, "}") + `,"quay.io":{"email":5}}`, "ghcr.io/org/app", "", "", nil},
		{"one bad member drops all (dockercfg)", "dockercfg", strings.TrimSuffix(paths, "}") + `,"quay.io":"x"}`, "ghcr.io/org/app", "", "", nil},
		{"quoted value", "dockercfg", `"` + strings.ReplaceAll(paths, `"`, `\"`) + `"`, "ghcr.io/org/app", "", "", nil},
		{"bad base64 drops one member", "dockercfg", strings.TrimSuffix(paths, "}") + `,"ghcr.io/org/app":{"auth":"%%"}}`, "ghcr.io/org/app", "ghcr.io/org", "robot:old", nil},
		{"no type", "", paths, "ghcr.io/org/app", "", "", nil},
	}
}

// TestAgentViewProductAndFake: the product's reading of the agent
// (registryauth.Parse, then registryauth.Resolve) and the fake agent's
// (awsfake.AgentCredentials) each give what the table, taken from the
// agent's code, says. awsfake imports no product package: the two are
// separate copies, held to one table here.
func TestAgentViewProductAndFake(t *testing.T) {
	for _, tc := range agentCases() {
		t.Run(tc.name, func(t *testing.T) {
			auths := registryauth.Parse(tc.authType, tc.data)
			keys := make([]string, 0, len(auths))
			for k := range auths {
				keys = append(keys, k)
			}
			r := registryauth.Resolve(keys, tc.image)
			if r.Key != tc.key || !slices.Equal(r.Ambiguous, tc.mayUse) {
				t.Errorf("product: Resolve = %+v, want key %q, map order among %q", r, tc.key, tc.mayUse)
			}
			if r.Found() {
				if c := auths[r.Key]; c.Username+":"+c.Password != tc.user {
					t.Errorf("product: %s holds %s:%s, want %s", r.Key, c.Username, c.Password, tc.user)
				}
			}
			for range 20 { // map order varies between calls
				key, user, pass, ok := awsfake.AgentCredentials(tc.authType, tc.data, tc.image)
				switch {
				case tc.mayUse != nil:
					if !slices.Contains(tc.mayUse, key) {
						t.Fatalf("fake: picked %q, want one of %q", key, tc.mayUse)
					}
				case ok != (tc.key != "") || key != tc.key || (ok && user+":"+pass != tc.user):
					t.Fatalf("fake: %q %s:%s (found %v), want %q %s", key, user, pass, ok, tc.key, tc.user)
				}
			}
		})
	}
}
