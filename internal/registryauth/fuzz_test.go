package registryauth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPayloadRoundTrip: for any registry and credentials that Payload
// accepts, the agent's reading of the payload (Parse, then Lookup) gives back
// exactly those credentials, for the registry's own images and for no image
// that Matches denies. Payload refuses exactly the credentials the agent
// would misread. Seed corpus: testdata/fuzz/FuzzPayloadRoundTrip.
func FuzzPayloadRoundTrip(f *testing.F) {
	f.Add("https://index.docker.io/v1/", "nginx:latest", "user", "pass")
	f.Add("registry.example.com:5000", "registry.example.com:5000/team/app:1", "robot$ci", `p&a/s\s"w'o`+"`rd")
	f.Fuzz(func(t *testing.T, registry, image, username, password string) {
		key, _ := Key(registry)
		want := Credentials{Username: username, Password: password}
		for _, authType := range []string{TypeDockercfg, TypeDocker} {
			payload, err := Payload(authType, key, username, password)
			refuse := key == "" || !utf8.ValidString(key) || username == "" || password == "" ||
				!utf8.ValidString(username) || !utf8.ValidString(password) ||
				(authType == TypeDockercfg && strings.Contains(username, ":"))
			if refuse != (err != nil) {
				t.Fatalf("%s: Payload error %v, want refusal %v", authType, err, refuse)
			}
			if err != nil {
				continue
			}
			if strings.ContainsAny(string(payload), "\r\n") {
				t.Fatalf("%s payload is not one line: %q", authType, payload)
			}
			auths := Parse(authType, string(payload))
			if len(auths) != 1 || auths[stripScheme(key)] != want {
				t.Fatalf("%s: Parse(Payload) = %+v, want only %q → %+v", authType, auths, stripScheme(key), want)
			}
			got, ok := Lookup(auths, image)
			if ok != Matches(key, image) {
				t.Fatalf("%s: Lookup(%q) found %v but Matches(%q) = %v", authType, image, ok, key, !ok)
			}
			if ok && auths[got] != want {
				t.Fatalf("%s: %q pulls with %+v, want %+v", authType, image, auths[got], want)
			}
			if own := imageOf(key); own != "" {
				if k, ok := Lookup(auths, own); !ok || !Matches(key, own) || auths[k] != want {
					t.Fatalf("%s: the registry's own image %q does not pull with the credentials (key %q)", authType, own, k)
				}
			}
		}
	})
}

// FuzzKey: Key is idempotent, never leaves a scheme, upper-case ASCII, a
// query, a fragment or a trailing slash (bar Docker Hub's key), and an image
// under the key is one the key affects and the agent, holding only that key,
// pulls with it. Seed corpus: testdata/fuzz/FuzzKey.
func FuzzKey(f *testing.F) {
	f.Add("docker.io")
	f.Add("HTTPS://Registry.Example.com:5000/team")
	f.Fuzz(func(t *testing.T, registry string) {
		key, changed := Key(registry)
		if changed != (key != registry) {
			t.Fatalf("Key(%q) = %q, changed %v", registry, key, changed)
		}
		again, changedAgain := Key(key)
		if again != key || changedAgain {
			t.Fatalf("Key(%q) = %q but Key(%q) = %q, %v", registry, key, key, again, changedAgain)
		}
		if key == DockerHubKey {
			if !Matches(key, "nginx") || !Matches(key, "docker.io/library/nginx:1") {
				t.Fatalf("Docker Hub key %q does not match Docker Hub images", key)
			}
			return
		}
		if strings.ContainsAny(key, "?#") || strings.HasSuffix(key, "/") || strings.ContainsAny(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ||
			strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://") {
			t.Fatalf("Key(%q) = %q keeps a scheme, query, fragment, trailing slash or upper-case letter", registry, key)
		}
		if own := imageOf(key); own != "" && (!Affects(key, own) || !Matches(key, own)) {
			t.Fatalf("image %q of key %q: Affects %v, Matches %v", own, key, Affects(key, own), Matches(key, own))
		}
	})
}

// imageOf is an image reference under the key, or "" where no image
// reference can name its host (the agent takes a first component without
// "." or ":" other than localhost for a Docker Hub user).
func imageOf(key string) string {
	if key == DockerHubKey {
		return "nginx:latest"
	}
	host, _, _ := strings.Cut(key, "/")
	if host == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") || isDockerHubHost(host) {
		return ""
	}
	return key + "/team/app:1"
}
