package awsfake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// dockerHub is the registry key Docker and the ECS agent use for Docker
// Hub, whichever alias an image reference spells.
const dockerHub = "index.docker.io"

type registryCred struct{ username, password string }

// normalizeRegistryHost turns what a user might call a registry
// ("https://index.docker.io/v1/", "docker.io", "127.0.0.1:5000") into the
// host an image reference resolves to.
func normalizeRegistryHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "", "docker.io", "registry-1.docker.io", dockerHub:
		return dockerHub
	}
	return h
}

// SetRegistryCredentials makes pulls from host require exactly these
// credentials. Hosts never configured pull anonymously, like public
// images. For RegistryHost() it also gates the fake registry's HTTP API.
func (s *Server) SetRegistryCredentials(host, username, password string) {
	// Pulls already due happened with the old credentials.
	s.lock()
	defer s.unlock()
	s.regCreds[normalizeRegistryHost(host)] = registryCred{username, password}
}

// RegistryHost is the fake registry's "127.0.0.1:PORT".
func (s *Server) RegistryHost() string { return s.regHost }

// PushImage stores a small random image under repoTag ("repo:tag") in the
// fake registry and returns its full reference. It panics on failure, as a
// test helper that cannot fail short of a bug.
func (s *Server) PushImage(repoTag string) string {
	// Pulls already due happened before this image existed.
	s.lock()
	s.unlock()
	ref, err := name.ParseReference(s.regHost+"/"+repoTag, name.Insecure)
	if err != nil {
		panic(fmt.Sprintf("awsfake: PushImage(%q): %v", repoTag, err))
	}
	img, err := random.Image(256, 1)
	if err != nil {
		panic(fmt.Sprintf("awsfake: PushImage: %v", err))
	}
	// In process, past the auth gate: pushing is setup, not a pull under test.
	if err := remote.Write(ref, img, remote.WithTransport(handlerTransport{s.registry})); err != nil {
		panic(fmt.Sprintf("awsfake: PushImage(%q): %v", repoTag, err))
	}
	return ref.Name()
}

// serveRegistry puts HTTP basic auth in front of the in-memory registry
// when credentials are set for its host, answering 401 with a Basic
// challenge as a private registry does, so that go-containerregistry and
// Docker clients go through their real login dance.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cred, private := s.regCreds[s.regHost]
	s.mu.Unlock()
	if private {
		u, p, ok := r.BasicAuth()
		if !ok || u != cred.username || p != cred.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="awsfake"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(s.denyBody())
			return
		}
	}
	s.registry.ServeHTTP(w, r)
}

// manifestExists asks the in-memory registry directly, bypassing auth: the
// world calls it under the server lock, and the question is only whether
// the image was ever pushed.
func (s *Server) manifestExists(repo, identifier string) bool {
	req := httptest.NewRequest(http.MethodHead, "/v2/"+repo+"/manifests/"+identifier, nil)
	rec := httptest.NewRecorder()
	s.registry.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

// handlerTransport serves HTTP requests from a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
