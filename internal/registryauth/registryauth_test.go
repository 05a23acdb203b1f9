package registryauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		changed  bool
	}{
		{"https://index.docker.io/v1/", DockerHubKey, false},
		{"index.docker.io/v1/", DockerHubKey, true},
		{"http://index.docker.io/v1/", DockerHubKey, true},
		{"docker.io", DockerHubKey, true},
		{"DOCKER.IO", DockerHubKey, true},
		{"https://registry-1.docker.io", DockerHubKey, true},
		{"index.docker.io", DockerHubKey, true},
		{"docker.io:443/library", DockerHubKey, true},
		{"ghcr.io", "ghcr.io", false},
		{"https://ghcr.io", "ghcr.io", true},
		{"HTTPS://Registry.Example.com:5000/Team/App", "registry.example.com:5000/team/app", true},
		{"registry.example.com/", "registry.example.com", true},
		{"ghcr.io/org", "ghcr.io/org", false}, // a path key: the agent prefers it for images it prefixes
		{"https://ghcr.io/org/", "ghcr.io/org", true},
		{"ghcr.io/org//", "ghcr.io/org", true},
		{"docker.io/myorg", DockerHubKey, true}, // the agent never looks up a Docker Hub path
		{"registry.example.com?x#y", "registry.example.com", true},
		{"http://localhost:5000", "localhost:5000", true},
		{"[::1]:5000", "[::1]:5000", false},
		{"registry.hub.docker.com", "registry.hub.docker.com", false}, // not one of the agent's Docker Hub names
	} {
		got, changed := Key(tc.in)
		if got != tc.want || changed != tc.changed {
			t.Errorf("Key(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
		}
		if again, changed := Key(got); again != got || changed {
			t.Errorf("Key(Key(%q)) = %q, %v; want %q, false", tc.in, again, changed, got)
		}
	}
}

func TestImageKey(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                          "index.docker.io/v1/",
		"nginx:1.27":                     "index.docker.io/v1/",
		"library/busybox":                "index.docker.io/v1/",
		"amazon/amazon-ecs-agent:latest": "index.docker.io/v1/",
		"docker.io/library/nginx":        "index.docker.io/v1/",
		"index.docker.io/team/app:1":     "index.docker.io/v1/",
		"registry-1.docker.io/team/app":  "index.docker.io/v1/",
		"myhost/app":                     "index.docker.io/v1/", // no "." or ":": a Docker Hub user
		"example.tld/my/image":           "example.tld",
		"localhost/app":                  "localhost",
		"localhost:5000/app:1":           "localhost:5000",
		"reg.tld/app@sha256:0123abcd":    "reg.tld",
		"Docker.io/nginx":                "Docker.io", // the agent compares byte for byte
		"ghcr.io/org/app:v1":             "ghcr.io",
	} {
		if got := ImageKey(image); got != want {
			t.Errorf("ImageKey(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		key, image string
		want       bool
	}{
		{DockerHubKey, "nginx", true},
		{DockerHubKey, "docker.io/library/nginx:1", true},
		{"index.docker.io/v1/", "registry-1.docker.io/team/app", true},
		{"docker.io", "nginx", false}, // the agent never looks this key up
		{"https://docker.io", "docker.io/library/nginx", false},
		{DockerHubKey, "ghcr.io/org/app", false},
		{"registry.example.com", "registry.example.com/app:1", true},
		{"registry.example.com", "registry.example.com:5000/app", false},
		{"registry.example.com:5000", "registry.example.com:5000/app", true},
		{"https://ghcr.io", "ghcr.io/org/app", true},
		{"ghcr.io", "nginx", false},
		{"reg.tld/team", "reg.tld/other/app", true}, // a host's only key serves all of it
		{"reg.tld", "foo.reg.tld/app", false},
		{"", "nginx", false},
	} {
		if got := Matches(tc.key, tc.image); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.key, tc.image, got, tc.want)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAgentCases replays the agent's own TestDockerCfgAuth,
// TestAuthAppliesToOnlyRegistry and TestAuthErrors
// (agent/dockerclient/dockerauth/dockerauth_test.go) through Parse and Lookup.
func TestAgentCases(t *testing.T) {
	secret, dragon, hub := b64("user:swordfish"), b64("test:dragon"), b64("dockerhub:password")
	dockercfg := `{"example.tld/user2":{"auth":"` + dragon + `","email":"test@test.test"},` +
		`"example.tld":{"auth":"` + secret + `","email":"user2@example.com"},` +
		`"https://aregistry.tld":{"auth":"` + secret + `"},` +
		`"http://anotherregistry.tld":{"auth":"` + secret + `"},` +
		`"https://index.docker.io/v1/":{"auth":"` + hub + `"}}`
	docker := `{"example.tld/user2":{"username":"test","password":"dragon","email":"foo@bar"},` +
		`"example.tld":{"username":"user","password":"swordfish"},` +
		`"https://aregistry.tld":{"username":"user","password":"swordfish"},` +
		`"http://anotherregistry.tld":{"username":"user","password":"swordfish"},` +
		`"https://index.docker.io/v1/":{"username":"dockerhub","password":"password"}}`
	user := Credentials{"user", "swordfish"}
	want := map[string]Credentials{
		"example.tld/my/image":        user,
		"example.tld/user2/image":     {"test", "dragon"},
		"registry.tld/image":          {},
		"nginx":                       {"dockerhub", "password"},
		"busybox":                     {"dockerhub", "password"},
		"library/busybox":             {"dockerhub", "password"},
		"amazon/amazon-ecs-agent":     {"dockerhub", "password"},
		"aregistry.tld/foo/bar":       user,
		"aregistry.tld/foo":           user,
		"aregistry.tld2/foo":          {},
		"foo.aregistry.tld/foo":       {},
		"anotherregistry.tld/foo/bar": user,
		"anotherregistry.tld/foo":     user,
		"anotherregistry.tld2/foo":    {},
		"foo.anotherregistry.tld/foo": {},
	}
	for authType, data := range map[string]string{TypeDockercfg: dockercfg, TypeDocker: docker} {
		auths := Parse(authType, data)
		for image, w := range want {
			var got Credentials
			if k, ok := Lookup(auths, image); ok {
				got = auths[k]
			}
			if got != w {
				t.Errorf("%s: %s pulls with %+v, want %+v", authType, image, got, w)
			}
		}
	}

	only := Parse(TypeDockercfg, `{"example.tld/user2":{"auth":"`+secret+`","email":"test@test.test"}}`)
	for image, w := range map[string]Credentials{"example.tld/foo": user, "registry.tld": {}, "nginx": {}} {
		var got Credentials
		if k, ok := Lookup(only, image); ok {
			got = only[k]
		}
		if got != w {
			t.Errorf("only example.tld/user2: %s pulls with %+v, want %+v", image, got, w)
		}
	}

	for _, bad := range []struct{ authType, data string }{
		{TypeDocker, `{"registry.tld":{"auth":"` + secret + `"}}`}, // docker reads no "auth": empty credentials
		{TypeDocker, `{"registry.tld":{"username":true}}`},
		{TypeDockercfg, `{"registry.tld":{"auth":"malformedbase64"}}`},
		{TypeDockercfg, `{"registry.tld":{"auth":true}}`},
		{TypeDockercfg, `{"registry.tld":{"auth":"` + b64("noColon") + `"}}`},
		{"invalid", ""},
		{"", `{"registry.tld":{"auth":"` + secret + `"}}`},
		{TypeDockercfg, `{"registry.tld":{"auth":"` + secret + `"},"other.tld":{"auth":5}}`}, // one bad entry drops all
	} {
		for k, c := range Parse(bad.authType, bad.data) {
			if c != (Credentials{}) {
				t.Errorf("Parse(%q, %s) gave %q credentials %+v; the agent pulls anonymously", bad.authType, bad.data, k, c)
			}
		}
	}
}

func TestEntry(t *testing.T) {
	for _, tc := range []struct {
		authType, user, pass, want string
	}{
		{TypeDockercfg, "user", "pass", `{"auth":"dXNlcjpwYXNz","email":""}`},
		{TypeDockercfg, "user", "pa:ss", `{"auth":"` + b64("user:pa:ss") + `","email":""}`},
		{TypeDocker, "u", "p", `{"username":"u","password":"p","email":""}`},
		{TypeDocker, "robot:ci", `a"b\c<&>`, `{"username":"robot:ci","password":"a\"b\\c\u003c\u0026\u003e","email":""}`},
	} {
		got, err := Entry(tc.authType, tc.user, tc.pass)
		if err != nil || string(got) != tc.want {
			t.Errorf("Entry(%s) = %s, %v; want %s", tc.authType, got, err, tc.want)
		}
	}
	const pass = "hunter2-secret"
	for _, tc := range []struct{ authType, user, pass string }{
		{TypeDockercfg, "robot:ci", pass},
		{TypeDockercfg, "", pass},
		{TypeDocker, "user", ""},
		{TypeDocker, "user", pass + "\xff"},
		{"basic", "user", pass},
	} {
		_, err := Entry(tc.authType, tc.user, tc.pass)
		if err == nil {
			t.Errorf("Entry(%q, %q, ...) succeeded; want an error", tc.authType, tc.user)
		} else if strings.Contains(err.Error(), pass) {
			t.Errorf("Entry's error quotes the password: %v", err)
		}
	}
}

func TestPayload(t *testing.T) {
	got, err := Payload(TypeDockercfg, DockerHubKey, "user", "pass")
	if want := `{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz","email":""}}`; err != nil || string(got) != want {
		t.Errorf("Payload = %s, %v; want %s", got, err, want)
	}
	got, err = Payload(TypeDocker, "reg.example.com", "u", "p")
	if want := `{"reg.example.com":{"username":"u","password":"p","email":""}}`; err != nil || string(got) != want {
		t.Errorf("Payload = %s, %v; want %s", got, err, want)
	}
	b, err := PayloadB64(TypeDocker, "reg.example.com", "u", "p")
	if dec, _ := base64.StdEncoding.DecodeString(b); err != nil || string(dec) != string(got) {
		t.Errorf("PayloadB64 = %s, %v; want base64 of %s", b, err, got)
	}
	if _, err := Payload(TypeDocker, "reg.example.com/team", "u", "p"); err != nil {
		t.Errorf("Payload with a path key: %v", err)
	}
	for _, key := range []string{"", "docker.io", "https://ghcr.io", "Reg.example.com", "reg.example.com/Team", "reg.example.com/team/"} {
		if _, err := Payload(TypeDocker, key, "u", "p"); err == nil {
			t.Errorf("Payload with key %q succeeded; want an error: only Key's result is written", key)
		}
	}
}

// TestHostilePasswords: shell, sed and JSON metacharacters survive byte for
// byte, on one line.
func TestHostilePasswords(t *testing.T) {
	for _, pass := range []string{
		"$(reboot)`id`$HOME", `a&b/c\d\\e`, `"quoted" 'single'`, "tab\there", "new\nline\r\n", "pa:ss:word",
		"ünïcødé-密码-🔑", "\u2028\u2029", `{"auth":"x"}`, "%s%v%%", "=ECS_ENGINE_AUTH_TYPE=docker",
	} {
		for _, authType := range []string{TypeDockercfg, TypeDocker} {
			for _, key := range []string{DockerHubKey, "registry.example.com:5000"} {
				p, err := Payload(authType, key, "robot", pass)
				if err != nil {
					t.Fatalf("Payload: %v", err)
				}
				if strings.ContainsAny(string(p), "\n\r") {
					t.Errorf("%s payload is not one line: %q", authType, p)
				}
				auths := Parse(authType, string(p))
				image := "registry.example.com:5000/team/app:1"
				if key == DockerHubKey {
					image = "nginx:latest"
				}
				k, ok := Lookup(auths, image)
				if got := auths[k]; !ok || got != (Credentials{"robot", pass}) {
					t.Errorf("%s %s: %q came back as %q (found %v)", authType, key, pass, got.Password, ok)
				}
			}
		}
	}
}

func TestIsECR(t *testing.T) {
	for key, want := range map[string]bool{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com":          true,
		"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com":  true,
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com": true,
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":      true,
		"123456789012.dkr-ecr.us-east-1.on.aws":                 true,
		"public.ecr.aws":                                        false,
		"ghcr.io":                                               false,
		DockerHubKey:                                            false,
	} {
		if got := IsECR(key); got != want {
			t.Errorf("IsECR(%q) = %v, want %v", key, got, want)
		}
	}
}
