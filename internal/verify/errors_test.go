package verify_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

var scriptedCreds = verify.Credentials{Username: "ci", Password: "s3cret-Pa55/w@rd"}

func checkScripted(t *testing.T, manifest http.HandlerFunc, opts verify.Options) verify.ImageResult {
	t.Helper()
	host := startScripted(t, scriptedCreds.Username, scriptedCreds.Password, manifest)
	results := verify.Images(context.Background(), []string{host + "/team/app:v1"}, scriptedCreds, opts)
	assertNoSecret(t, results, scriptedCreds.Username, scriptedCreds.Password)
	return results[0]
}

func TestManifestRefusedAfterLogin(t *testing.T) {
	r := checkScripted(t, registryError(http.StatusForbidden, "DENIED", "requested access to the resource is denied"), verify.Options{})
	want(t, r, verify.StatusUnauthorized, "accepted the login", "HTTP 403 DENIED", "pull access")
}

func TestServerErrorIsReportedQuickly(t *testing.T) {
	var calls atomic.Int32
	failing := func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		registryError(http.StatusServiceUnavailable, "UNAVAILABLE", "maintenance")(w, r)
	}
	start := time.Now()
	r := checkScripted(t, failing, verify.Options{})
	want(t, r, verify.StatusError, "HTTP 503", "try again later")
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("a failing registry took %s to report; the library's default backoff is back?", elapsed)
	}
	if n := calls.Load(); n > 4 {
		t.Errorf("%d manifest requests, want at most two tries each of HEAD and GET", n)
	}
}

func TestRateLimitIsNotBlamedOnCredentials(t *testing.T) {
	r := checkScripted(t, registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS", "slow down"), verify.Options{})
	want(t, r, verify.StatusError, "HTTP 429", "not rejecting the credentials")
}

func TestTimeout(t *testing.T) {
	start := time.Now()
	r := checkScripted(t, hang, verify.Options{Timeout: 300 * time.Millisecond})
	want(t, r, verify.StatusUnreachable, "no answer within 300ms", "verify-credentials: false")
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("took %s with a 300ms timeout", elapsed)
	}
}

func TestCancellation(t *testing.T) {
	host := startScripted(t, scriptedCreds.Username, scriptedCreds.Password, hang)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	images := []string{host + "/a:1", host + "/b:1", host + "/c:1"}
	results := verify.Images(ctx, images, scriptedCreds, verify.Options{Concurrency: 1, Timeout: time.Minute})
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("took %s to honour cancellation", elapsed)
	}
	for _, r := range results {
		want(t, r, verify.StatusError, "cancelled")
	}
}

// TestTLSFailureIsUnreachable uses a name that is not loopback, so the
// library speaks https only, as it would to a real registry.
func TestTLSFailureIsUnreachable(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	opts := verify.Options{Transport: dialTo(srv.Listener.Addr().String())}
	results := verify.Images(context.Background(), []string{"registry.example.com/team/app:v1"}, scriptedCreds, opts)
	assertNoSecret(t, results, scriptedCreds.Username, scriptedCreds.Password)
	want(t, results[0], verify.StatusUnreachable, "certificate", "verify-credentials: false")
	if results[0].Registry != "registry.example.com" {
		t.Errorf("registry %q, want registry.example.com", results[0].Registry)
	}
}

func TestDNSFailureIsUnreachable(t *testing.T) {
	dns := &failDial{err: &net.DNSError{Err: "no such host", Name: "registry.internal", IsNotFound: true}}
	images := []string{"registry.internal/a:1", "registry.internal/b:1", "registry.internal/c:1"}
	results := verify.Images(context.Background(), images, scriptedCreds, verify.Options{Transport: dns.transport()})
	for _, r := range results {
		want(t, r, verify.StatusUnreachable, "no such host", "verify-credentials: false")
	}
	// One failed login answers for the whole registry.
	if n := dns.calls.Load(); n > 2 {
		t.Errorf("%d connection attempts for one unreachable registry, want the login's only", n)
	}
}

func TestMissingCredentialsTouchNothing(t *testing.T) {
	offline := &failDial{err: errNoNetwork}
	for _, creds := range []verify.Credentials{{Username: "ci"}, {Password: "x"}} {
		results := verify.Images(context.Background(), []string{"nginx"}, creds, verify.Options{Transport: offline.transport()})
		want(t, results[0], verify.StatusError, "verify-credentials: false")
	}
	if n := offline.calls.Load(); n != 0 {
		t.Errorf("%d connection attempts without credentials", n)
	}
}
