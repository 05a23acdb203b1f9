package verify_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startScripted serves a basic-auth registry on 127.0.0.1 whose login works
// for user/pass and whose manifest answers are the test's manifest handler.
func startScripted(t *testing.T, user, pass string, manifest http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="scripted"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v2/" {
			return
		}
		manifest(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// registryError answers in the registry error format.
func registryError(status int, code, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"` + message + `"}]}`))
	}
}

// hang answers nothing until the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// dialTo sends every connection to addr, whatever host the request names, so
// that a test can use a real-looking (https-only) registry name.
func dialTo(addr string) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
}

// failDial fails every connection with err, counting the attempts.
type failDial struct {
	err   error
	calls atomic.Int32
}

func (f *failDial) transport() *http.Transport {
	return &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		f.calls.Add(1)
		return nil, f.err
	}}
}

// handlerTransport serves every request, for any host and scheme, from h
// without a network: it lets a test stand in for Docker Hub itself.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	in := *r
	if in.Body == nil {
		in.Body = http.NoBody // a server's handler may assume a body
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, &in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

var errNoNetwork = errors.New("this test must not reach the network")
