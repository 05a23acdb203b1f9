package registryauth

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// agentGetAuthconfig is the key choice of aws/amazon-ecs-agent
// agent/dockerclient/dockerauth/dockerauth.go GetAuthconfig (commit
// 8dfceca6cf380a83c3007349317566f2862f0673, Apache-2.0), copied line for
// line with one change: `for registry := range authDataMap` walks the keys
// in the order given, so that a test can try every order Go's map may
// yield. authDataMap's keys are already schema-stripped, as parseAuthData
// leaves them; it returns the key instead of its AuthConfig.
func agentGetAuthconfig(image string, order []string) string {
	authDataMap := map[string]bool{}
	for _, k := range order {
		authDataMap[k] = true
	}
	// Ignore 'tag', not used in auth determination
	repository := parseRepositoryTag(image) // utils.ParseRepositoryTag
	// Ignore repo/image name for some auth checks (see use of 'image' below for where it's not ignored.
	indexName := indexName(repository) // splitReposName

	if isDockerHubHost(indexName) { // isDockerhubHostname
		if authDataMap[dockerHubLookupKey] {
			return dockerHubLookupKey
		}
		return ""
	}

	// Try to find the longest match that at least matches the hostname
	// This is to support e.g. 'registry.tld: auth1, registry.tld/username:
	// auth2' for multiple different auths on the same registry.
	longestKey := ""
	authConfigKey := indexName

	// Take a direct match of the index hostname as a sane default
	if _, found := authDataMap[authConfigKey]; found && len(authConfigKey) > len(longestKey) {
		longestKey = authConfigKey
	}

	for _, registry := range order {
		nameParts := strings.SplitN(registry, "/", 2)
		hostname := nameParts[0]

		// Only ever take a new key if the hostname matches in normal cases
		if authConfigKey == hostname {
			if longestKey == "" {
				longestKey = registry
			} else if len(registry) > len(longestKey) && strings.HasPrefix(image, registry) {
				// If we have a longer match, that indicates a username / namespace appended
				longestKey = registry
			}
		}
	}
	return longestKey
}

// agentOutcomes runs agentGetAuthconfig over every order of keys (schema
// stripped and made distinct first, as parseAuthData's output map does) and
// returns the distinct answers, sorted.
func agentOutcomes(keys []string, image string) []string {
	var set []string
	for _, k := range keys {
		if k = stripScheme(k); !slices.Contains(set, k) {
			set = append(set, k)
		}
	}
	seen := map[string]bool{}
	permute(set, 0, func(order []string) { seen[agentGetAuthconfig(image, order)] = true })
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func permute(a []string, i int, visit func([]string)) {
	if i == len(a) {
		visit(a)
		return
	}
	for j := i; j < len(a); j++ {
		a[i], a[j] = a[j], a[i]
		permute(a, i+1, visit)
		a[i], a[j] = a[j], a[i]
	}
}

// wantOf is what Resolve must say, given every answer the agent can give.
func wantOf(outcomes []string) Resolution {
	switch {
	case len(outcomes) == 1:
		return Resolution{Key: outcomes[0]}
	case len(outcomes) > 1:
		return Resolution{Ambiguous: outcomes}
	}
	return Resolution{}
}

func sameResolution(a, b Resolution) bool {
	return a.Key == b.Key && slices.Equal(a.Ambiguous, b.Ambiguous)
}

// TestResolve: each row follows one path through the agent's code, named in
// its comment (dockerauth.go unless said otherwise); each is also checked
// against agentGetAuthconfig over every key order.
func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keys  []string
		image string
		want  Resolution
	}{
		// GetAuthconfig: isDockerhubHostname → authDataMap[dockerRegistryKey] only.
		{"hub bare name", []string{DockerHubKey, "docker.io"}, "nginx", Resolution{Key: "index.docker.io/v1/"}},
		{"hub library path", []string{DockerHubKey}, "library/busybox:1", Resolution{Key: "index.docker.io/v1/"}},
		{"hub registry-1", []string{"http://index.docker.io/v1/"}, "registry-1.docker.io/team/app", Resolution{Key: "index.docker.io/v1/"}},
		{"hub docker.io key never used", []string{"docker.io", "https://docker.io", "index.docker.io"}, "docker.io/library/nginx", Resolution{}},
		// splitReposName: no "." or ":" and not localhost → Docker Hub.
		{"hub user named like a host", []string{"myhost"}, "myhost/app", Resolution{}},
		// isDockerhubHostname compares byte for byte.
		{"Docker.io is not hub", []string{"Docker.io"}, "Docker.io/nginx", Resolution{Key: "Docker.io"}},
		{"localhost", []string{"localhost"}, "localhost/app", Resolution{Key: "localhost"}},
		// stripRegistrySchema: lower-case http:// and https:// only.
		{"https stripped", []string{"https://ghcr.io"}, "ghcr.io/org/app", Resolution{Key: "ghcr.io"}},
		{"HTTPS kept", []string{"HTTPS://ghcr.io"}, "ghcr.io/org/app", Resolution{}},
		{"scheme variants are one key", []string{"http://ghcr.io", "https://ghcr.io", "ghcr.io"}, "ghcr.io/a", Resolution{Key: "ghcr.io"}},
		// ParseRepositoryTag drops the tag; the port stays in indexName.
		{"port is part of the host", []string{"reg.tld:5000"}, "reg.tld:5000/app:1", Resolution{Key: "reg.tld:5000"}},
		{"other port", []string{"reg.tld"}, "reg.tld:5000/app:1", Resolution{}},
		{"digest", []string{"reg.tld"}, "reg.tld/app@sha256:0123abcd", Resolution{Key: "reg.tld"}},
		{"subdomain", []string{"aregistry.tld"}, "foo.aregistry.tld/foo", Resolution{}},
		{"longer host", []string{"aregistry.tld"}, "aregistry.tld2/foo", Resolution{}},
		// Direct match, then a longer key that is a string prefix of the image.
		{"path key beats host", []string{"ghcr.io", "ghcr.io/org"}, "ghcr.io/org/app", Resolution{Key: "ghcr.io/org"}},
		{"string prefix, not path prefix", []string{"ghcr.io", "ghcr.io/org"}, "ghcr.io/orgx/app", Resolution{Key: "ghcr.io/org"}},
		{"host key outside the prefix", []string{"ghcr.io", "ghcr.io/org"}, "ghcr.io/other/app", Resolution{Key: "ghcr.io"}},
		{"longest prefix wins", []string{"ghcr.io/org/app", "ghcr.io", "ghcr.io/org"}, "ghcr.io/org/app:1", Resolution{Key: "ghcr.io/org/app"}},
		{"trailing slash captures the host", []string{"ghcr.io", "ghcr.io/"}, "ghcr.io/org/app", Resolution{Key: "ghcr.io/"}},
		{"prefix includes the tag", []string{"ghcr.io", "ghcr.io/org/app:1"}, "ghcr.io/org/app:10", Resolution{Key: "ghcr.io/org/app:1"}},
		// No direct match: `if longestKey == ""` takes the first key the map yields.
		{"only key serves the whole host", []string{"example.tld/user2"}, "example.tld/foo", Resolution{Key: "example.tld/user2"}},
		{"first key beaten by a longer prefix", []string{"ghcr.io/a", "ghcr.io/abc"}, "ghcr.io/abc/x", Resolution{Key: "ghcr.io/abc"}},
		{"map order: longer key not a prefix", []string{"ghcr.io/org", "ghcr.io/organisation"}, "ghcr.io/org/app", Resolution{Ambiguous: []string{"ghcr.io/org", "ghcr.io/organisation"}}},
		{"map order: no prefix at all", []string{"ghcr.io/b", "ghcr.io/a"}, "ghcr.io/c/x", Resolution{Ambiguous: []string{"ghcr.io/a", "ghcr.io/b"}}},
		{"other hosts ignored", []string{"quay.io", "ghcr.io/org", DockerHubKey}, "ghcr.io/x/y", Resolution{Key: "ghcr.io/org"}},
		{"no keys", nil, "ghcr.io/x/y", Resolution{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Resolve(tc.keys, tc.image)
			if !sameResolution(got, tc.want) {
				t.Errorf("Resolve(%q, %q) = %+v, want %+v", tc.keys, tc.image, got, tc.want)
			}
			if agent := wantOf(agentOutcomes(tc.keys, tc.image)); !sameResolution(agent, tc.want) {
				t.Errorf("the agent's own code gives %+v over every key order; the table says %+v", agent, tc.want)
			}
		})
	}
}

// TestResolveAgainstAgentCode: keys and images drawn from spellings that
// share prefixes; Resolve says exactly what the agent's loop gives over
// every key order.
func TestResolveAgainstAgentCode(t *testing.T) {
	keyParts := []string{"ghcr.io", "ghcr.io/", "ghcr.io/o", "ghcr.io/org", "ghcr.io/org/", "ghcr.io/orgx", "ghcr.io/org/app",
		"https://ghcr.io/org", "reg.tld:5000", "reg.tld:5000/t", "index.docker.io/v1/", "docker.io", "GHCR.io"}
	images := []string{"ghcr.io/org/app", "ghcr.io/org/app:1", "ghcr.io/orgx/app", "ghcr.io/o/x@sha256:ab", "ghcr.io/other/a",
		"reg.tld:5000/t/app", "reg.tld:5000/u", "nginx", "docker.io/x/y", "GHCR.io/a/b"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := rng.IntN(5)
		var keys []string
		for range n {
			keys = append(keys, keyParts[rng.IntN(len(keyParts))])
		}
		image := images[rng.IntN(len(images))]
		if got, want := Resolve(keys, image), wantOf(agentOutcomes(keys, image)); !sameResolution(got, want) {
			t.Fatalf("Resolve(%q, %q) = %+v; the agent's code gives %+v", keys, image, got, want)
		}
	}
}

func TestAffects(t *testing.T) {
	for _, tc := range []struct {
		key, image string
		want       bool
	}{
		{DockerHubKey, "nginx", true},
		{DockerHubKey, "docker.io/library/nginx:1", true},
		{DockerHubKey, "ghcr.io/org/app", false},
		{"ghcr.io", "ghcr.io/org/app", true},
		{"https://ghcr.io", "ghcr.io/any/app", true},
		{"ghcr.io", "ghcr.io:443/org/app", false},
		{"ghcr.io/org", "ghcr.io/org/app:1", true},
		{"ghcr.io/org", "ghcr.io/orgx/app", true}, // a string prefix, as the agent compares
		{"ghcr.io/org", "ghcr.io/other/app", false},
		{"ghcr.io/org", "ghcr.io/or", false},
		{"ghcr.io/org", "quay.io/org/app", false},
		{"reg.tld:5000/team", "reg.tld:5000/team/app", true},
		{"reg.tld:5000/team", "reg.tld/team/app", false},
		{"", "nginx", false},
	} {
		if got := Affects(tc.key, tc.image); got != tc.want {
			t.Errorf("Affects(%q, %q) = %v, want %v", tc.key, tc.image, got, tc.want)
		}
	}
}

func TestCaptured(t *testing.T) {
	keys := []string{"ghcr.io", "ghcr.io/org", "quay.io"}
	images := []string{"ghcr.io/org/app", "ghcr.io/orgx/api:2", "ghcr.io/other/web", "ghcr.io/org/app"}
	got := Captured(keys, "ghcr.io", images)
	if len(got) != 1 || !slices.Equal(got["ghcr.io/org"], []string{"ghcr.io/org/app", "ghcr.io/orgx/api:2"}) {
		t.Errorf("Captured = %v, want ghcr.io/org → [ghcr.io/org/app ghcr.io/orgx/api:2]", got)
	}
	if got := Captured(keys, "ghcr.io/org", images); len(got) != 1 || !slices.Equal(got["ghcr.io"], []string{"ghcr.io/other/web"}) {
		t.Errorf("Captured for the path key = %v", got)
	}
	if got := Captured(append(keys, "ghcr.io/org/app"), "ghcr.io/org", []string{"ghcr.io/org/app:1", "ghcr.io/org/api"}); len(got) != 1 || len(got["ghcr.io/org/app"]) != 1 {
		t.Errorf("a longer key under the rotated one: %v", got)
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keys     []string
		rotated  string
		images   []string
		wantErr  []string // parts of the error; nil: no error
		captured map[string][]string
	}{
		{"the rotated key serves every image", []string{"ghcr.io", "quay.io", DockerHubKey}, "ghcr.io", []string{"ghcr.io/a/b", "ghcr.io/c:1"}, nil, nil},
		{"hub", []string{DockerHubKey, "docker.io"}, DockerHubKey, []string{"nginx", "library/redis:7"}, nil, nil},
		{"path key rotated, host key kept", []string{"ghcr.io", "ghcr.io/org"}, "ghcr.io/org", []string{"ghcr.io/org/app", "ghcr.io/orgx/app"}, nil, nil},
		{"a path key captures images of the rotated host key",
			[]string{"ghcr.io", "ghcr.io/org"}, "ghcr.io", []string{"ghcr.io/org/app", "ghcr.io/orgx/api", "ghcr.io/other/web"},
			[]string{"key ghcr.io/org captures images ghcr.io/org/app, ghcr.io/orgx/api; the rotated key ghcr.io is not the one the agent will use"},
			map[string][]string{"ghcr.io/org": {"ghcr.io/org/app", "ghcr.io/orgx/api"}}},
		{"a trailing-slash key captures everything", []string{"reg.tld", "reg.tld/"}, "reg.tld", []string{"reg.tld/a"},
			[]string{"key reg.tld/ captures image reg.tld/a"}, map[string][]string{"reg.tld/": {"reg.tld/a"}}},
		{"the whole value would not parse: no keys", nil, "ghcr.io", []string{"ghcr.io/a/b"},
			[]string{"the rotated key ghcr.io is not among the keys", "no key matches image ghcr.io/a/b: the agent would pull anonymously"}, nil},
		{"map order decides", []string{"ghcr.io/org", "ghcr.io/organisation"}, "ghcr.io/org", []string{"ghcr.io/org/app"},
			[]string{"for image ghcr.io/org/app the agent picks at random (Go map order) among keys ghcr.io/org, ghcr.io/organisation, since no key equals its host ghcr.io"}, nil},
		{"a scheme spelling of the rotated key", []string{"ghcr.io", "https://ghcr.io"}, "ghcr.io", []string{"ghcr.io/a/b"},
			[]string{"members https://ghcr.io and ghcr.io are one key to the ECS agent"}, nil},
		{"many captured images are counted", []string{"r.tld", "r.tld/t"}, "r.tld",
			[]string{"r.tld/t/1", "r.tld/t/2", "r.tld/t/3", "r.tld/t/4", "r.tld/t/5", "r.tld/t/6", "r.tld/t/7"},
			[]string{"key r.tld/t captures images r.tld/t/1, r.tld/t/2, r.tld/t/3, r.tld/t/4, r.tld/t/5 and 2 more;"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Judge(tc.keys, tc.rotated, tc.images)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Judge = %v, want nil", err)
				}
				return
			}
			var je *JudgeError
			if !errors.As(err, &je) {
				t.Fatalf("Judge = %v, want a *JudgeError", err)
			}
			for _, part := range tc.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not say %q:\n%v", part, err)
				}
			}
			for k, v := range tc.captured {
				if !slices.Equal(je.Captured[k], v) {
					t.Errorf("Captured[%s] = %v, want %v", k, je.Captured[k], v)
				}
			}
		})
	}
}

// A path key with no key for its host beside it is the agent's fallback for
// every image of the host outside the path; a host key, Docker Hub's key or
// a host key beside the path key keep it to its prefix.
func TestBeyondPrefix(t *testing.T) {
	for _, c := range []struct {
		keys []string
		key  string
		want bool
	}{
		{[]string{"ghcr.io/org"}, "ghcr.io/org", true},
		{[]string{"https://ghcr.io/org", "ghcr.io/other"}, "https://ghcr.io/org", true},
		{[]string{"ghcr.io", "ghcr.io/org"}, "ghcr.io/org", false},
		{[]string{"https://ghcr.io", "ghcr.io/org"}, "ghcr.io/org", false},
		{[]string{"ghcr.io"}, "ghcr.io", false},
		{[]string{"https://index.docker.io/v1/"}, "https://index.docker.io/v1/", false},
		{[]string{"registry.example.com:5000/team"}, "registry.example.com:5000/team", true},
	} {
		if got := BeyondPrefix(c.keys, c.key); got != c.want {
			t.Errorf("BeyondPrefix(%q, %q) = %v, want %v", c.keys, c.key, got, c.want)
		}
		// For a path key the table agrees with the agent's lookup of an
		// image outside the prefix.
		k := strings.TrimPrefix(c.key, "https://")
		host, _, isPath := strings.Cut(k, "/")
		if !isPath || host == "index.docker.io" {
			continue
		}
		r := Resolve(c.keys, host+"/outside-every-prefix/app:1")
		if uses := r.Key == k || slices.Contains(r.Ambiguous, k); uses != c.want {
			t.Errorf("%q, %q: Resolve of an image outside the prefix gives %+v, BeyondPrefix %v", c.keys, c.key, r, c.want)
		}
	}
}
