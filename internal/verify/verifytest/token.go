package verifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// StartTokenRegistry serves an in-memory registry behind the Docker Hub style
// token flow on 127.0.0.1, for a fresh user and password: /v2/ answers 401
// with a `Bearer realm=...,service=...,scope=...` challenge, and the realm (on
// the same host, as the library's SSRF guard requires for a loopback address)
// issues tokens only for the right basic credentials, scoped to the
// repositories asked for. stop ends it before the test does.
func StartTokenRegistry(t testing.TB) (host, user, pass string, stop func()) {
	t.Helper()
	user, pass = "rotator", "tok-"+randomHex(t)
	host, stop = StartTokenRegistryFor(t, user, pass)
	return host, user, pass, stop
}

// StartTokenRegistryFor is StartTokenRegistry with given credentials, for
// tests that need several registries sharing one account.
func StartTokenRegistryFor(t testing.TB, user, pass string) (host string, stop func()) {
	t.Helper()
	ta := &tokenAuth{user: user, pass: pass, service: "verifytest", tokens: map[string]map[string]bool{}}
	ta.next = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(ta)
	ta.realm = srv.URL + "/token"
	var once sync.Once
	stop = func() { once.Do(srv.Close) }
	t.Cleanup(stop)
	return strings.TrimPrefix(srv.URL, "http://"), stop
}

type tokenAuth struct {
	user, pass, realm, service string
	next                       http.Handler

	mu     sync.Mutex
	tokens map[string]map[string]bool // token -> repositories it may use
}

func (ta *tokenAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		ta.issue(w, r)
		return
	}
	repo := repository(r.URL.Path)
	if !ta.allowed(r, repo) {
		ta.challenge(w, r, repo)
		return
	}
	ta.next.ServeHTTP(w, r)
}

// allowed accepts /v2/ itself with any token, as Docker Hub does after a
// login, and a repository path only with a token scoped to it.
func (ta *tokenAuth) allowed(r *http.Request, repo string) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	ta.mu.Lock()
	defer ta.mu.Unlock()
	repos, known := ta.tokens[token]
	return known && (repo == "" || repos[repo])
}

func (ta *tokenAuth) challenge(w http.ResponseWriter, r *http.Request, repo string) {
	value := fmt.Sprintf("Bearer realm=%q,service=%q", ta.realm, ta.service)
	if repo != "" {
		actions := "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			actions = "pull,push"
		}
		value += fmt.Sprintf(",scope=%q", "repository:"+repo+":"+actions)
	}
	w.Header().Set("WWW-Authenticate", value)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

func (ta *tokenAuth) issue(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != ta.user || pass != ta.pass {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"details":"incorrect username or password"}`)
		return
	}
	if r.URL.Query().Get("service") != ta.service {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	token := ta.grant(r.URL.Query()["scope"])
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": token, "access_token": token, "expires_in": 300})
}

// grant remembers which repositories a new token covers. Scopes look like
// "repository:team/app:pull,push"; one parameter may hold several.
func (ta *tokenAuth) grant(scopes []string) string {
	repos := map[string]bool{}
	for _, param := range scopes {
		for _, scope := range strings.Fields(param) {
			parts := strings.Split(scope, ":")
			if len(parts) == 3 && parts[0] == "repository" {
				repos[parts[1]] = true
			}
		}
	}
	ta.mu.Lock()
	defer ta.mu.Unlock()
	token := fmt.Sprintf("token-%d", len(ta.tokens)+1)
	ta.tokens[token] = repos
	return token
}

// repository extracts the repository name from a /v2/<name>/<kind>/... path;
// "" for /v2/ itself.
func repository(path string) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return ""
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.Index(rest, kind); i > 0 {
			return rest[:i]
		}
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}
