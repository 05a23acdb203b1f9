package verify_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// echoAuth answers every request with a registry error that quotes the
// Authorization header it got, decoded too: the worst a registry, a proxy
// or a token realm could do to an error message.
func echoAuth(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		decoded, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(header, "Basic "))
		msg := fmt.Sprintf("denied for %s (%s)", header, decoded)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":%q}]}`, msg)
	}
}

// TestPasswordIsScrubbedFromRegistryMessages proves the scrub: the registry
// echoes the credentials into its error, and the detail keeps the message
// but not the password.
func TestPasswordIsScrubbedFromRegistryMessages(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"manifest refused": echoAuth(http.StatusForbidden),
		"server error":     echoAuth(http.StatusInternalServerError),
	}
	for name, manifest := range cases {
		t.Run(name, func(t *testing.T) {
			r := checkScripted(t, manifest, verify.Options{})
			if !strings.Contains(r.Detail, "denied for Basic ***") || !strings.Contains(r.Detail, scriptedCreds.Username+":***") {
				t.Errorf("detail %q: want the echoed message with the password replaced", r.Detail)
			}
		})
	}
}

// TestPasswordIsScrubbedFromLoginMessages: the token realm echoes them.
func TestPasswordIsScrubbedFromLoginMessages(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			echoAuth(http.StatusUnauthorized)(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="echo"`, srv.URL))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	results := verify.Images(context.Background(), []string{host + "/team/app:v1"}, scriptedCreds, verify.Options{})
	assertNoSecret(t, results, scriptedCreds.Username, scriptedCreds.Password)
	want(t, results[0], verify.StatusUnauthorized, "rejected the login", "denied for Basic ***")
}
