package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify/verifytest"
)

// slowNetwork delays every round trip, as a distant registry would, and
// records how many manifest requests were in flight at once, per host and
// in total.
type slowNetwork struct {
	delay time.Duration
	next  *http.Transport

	mu                  sync.Mutex
	perHost, maxPerHost map[string]int
	total, maxTotal     int
}

func newSlowNetwork(tb testing.TB, delay time.Duration) *slowNetwork {
	next := http.DefaultTransport.(*http.Transport).Clone()
	next.MaxIdleConnsPerHost = 64
	tb.Cleanup(next.CloseIdleConnections)
	return &slowNetwork{delay: delay, next: next, perHost: map[string]int{}, maxPerHost: map[string]int{}}
}

func (s *slowNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/manifests/") {
		s.enter(r.URL.Host)
		defer s.leave(r.URL.Host)
	}
	select {
	case <-time.After(s.delay):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return s.next.RoundTrip(r)
}

func (s *slowNetwork) enter(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perHost[host]++
	s.total++
	s.maxPerHost[host] = max(s.maxPerHost[host], s.perHost[host])
	s.maxTotal = max(s.maxTotal, s.total)
}

func (s *slowNetwork) leave(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perHost[host]--
	s.total--
}

// spreadImages pushes n images spread over the given number of token-auth
// registries that share one account.
func spreadImages(tb testing.TB, n, registries int) ([]string, verify.Credentials) {
	tb.Helper()
	creds := verify.Credentials{Username: "rotator", Password: "shared-Secret-42"}
	hosts := make([]string, registries)
	for i := range hosts {
		hosts[i], _ = verifytest.StartTokenRegistryFor(tb, creds.Username, creds.Password)
	}
	images := make([]string, n)
	for i := range images {
		images[i] = fmt.Sprintf("%s/team/app%d:v1", hosts[i%registries], i)
		verifytest.PushImage(tb, images[i], creds.Username, creds.Password)
	}
	return images, creds
}

func timeImages(t *testing.T, images []string, creds verify.Credentials, opts verify.Options) time.Duration {
	t.Helper()
	start := time.Now()
	results := verify.Images(context.Background(), images, creds, opts)
	elapsed := time.Since(start)
	assertNoSecret(t, results, creds.Username, creds.Password)
	if failed := verify.Failed(results); len(failed) != 0 {
		t.Fatalf("failed: %+v", failed)
	}
	return elapsed
}

// TestTwentyImagesTakeAboutOneCheck: with every round trip slowed down, 20
// images on 3 registries finish in about the time of one image's check,
// far from the sum of the checks.
func TestTwentyImagesTakeAboutOneCheck(t *testing.T) {
	images, creds := spreadImages(t, 20, 3)
	slow := newSlowNetwork(t, 50*time.Millisecond)
	one := timeImages(t, images[:1], creds, verify.Options{Transport: slow})
	all := timeImages(t, images, creds, verify.Options{Transport: slow})
	t.Logf("one image: %s; 20 images on 3 registries: %s; at most %d manifest requests at once", one, all, slow.maxTotal)
	if all > 3*one {
		t.Errorf("20 images took %s, one took %s: the checks do not overlap", all, one)
	}
	if slow.maxTotal < 8 {
		t.Errorf("at most %d manifest requests at once, want the registries checked side by side", slow.maxTotal)
	}
}

func TestConcurrencyIsBoundedPerRegistry(t *testing.T) {
	images, creds := spreadImages(t, 8, 1)
	slow := newSlowNetwork(t, 30*time.Millisecond)
	timeImages(t, images, creds, verify.Options{Transport: slow, Concurrency: 2})
	for host, n := range slow.maxPerHost {
		if n != 2 {
			t.Errorf("%s: at most %d manifest requests at once, want the bound, 2", host, n)
		}
	}
}

// BenchmarkTwentyImagesOnThreeRegistries compares the wall time per run
// (ns/op) with the sum of the single checks' durations (sum-ns/op), which is
// what checking one image after another would cost.
func BenchmarkTwentyImagesOnThreeRegistries(b *testing.B) {
	images, creds := spreadImages(b, 20, 3)
	for _, concurrency := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			opts := verify.Options{Transport: newSlowNetwork(b, 10*time.Millisecond), Concurrency: concurrency}
			var sum time.Duration
			for b.Loop() {
				for _, r := range verify.Images(context.Background(), images, creds, opts) {
					if r.Status != verify.StatusOK {
						b.Fatalf("%s: %s", r.Image, r.Detail)
					}
					sum += r.Duration
				}
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(b.N), "sum-ns/op")
		})
	}
}

// manifestGate passes every request on to next and counts the requests that
// reached it, and the manifest requests in flight and by image path.
type manifestGate struct {
	next http.RoundTripper

	mu       sync.Mutex
	requests int
	inFlight int
	paths    map[string]int
}

func (g *manifestGate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	g.requests++
	g.mu.Unlock()
	if strings.Contains(r.URL.Path, "/manifests/") {
		g.mu.Lock()
		g.inFlight++
		g.paths[r.URL.Path]++
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.inFlight--
			g.mu.Unlock()
		}()
	}
	return g.next.RoundTrip(r)
}

func (g *manifestGate) counts() (requests, inFlight, images int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests, g.inFlight, len(g.paths)
}

// TestCancelStartsNoQueuedCheck: with the registry's slots taken by checks
// that hang, a cancel stops the images waiting for a slot from being checked
// at all; every image still gets its own result, in order, and Images
// returns promptly.
func TestCancelStartsNoQueuedCheck(t *testing.T) {
	host := startScripted(t, scriptedCreds.Username, scriptedCreds.Password, hang)
	next := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(next.CloseIdleConnections)
	gate := &manifestGate{next: next, paths: map[string]int{}}
	images := make([]string, 6)
	for i := range images {
		images[i] = fmt.Sprintf("%s/team/app%d:v1", host, i)
	}
	const concurrency = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan []verify.ImageResult, 1)
	go func() {
		done <- verify.Images(ctx, images, scriptedCreds, verify.Options{Transport: gate, Concurrency: concurrency, Timeout: time.Minute})
	}()
	for deadline := time.Now().Add(testenv.Scale(10 * time.Second)); ; {
		if _, inFlight, _ := gate.counts(); inFlight >= concurrency {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checks did not reach the registry")
		}
		time.Sleep(time.Millisecond)
	}
	before, _, _ := gate.counts()
	cancel()
	var results []verify.ImageResult
	select {
	case results = <-done:
	case <-time.After(testenv.Scale(3 * time.Second)):
		t.Fatalf("Images did not return within %s of the cancel", testenv.Scale(3*time.Second))
	}
	assertNoSecret(t, results, scriptedCreds.Username, scriptedCreds.Password)
	after, _, checked := gate.counts()
	if checked != concurrency {
		t.Errorf("manifests of %d images requested, want only the %d in flight at the cancel", checked, concurrency)
	}
	if after != before {
		t.Errorf("%d requests after the cancel, want none: no queued check may start", after-before)
	}
	if len(results) != len(images) {
		t.Fatalf("%d results for %d images", len(results), len(images))
	}
	for i, r := range results {
		wantDetail := fmt.Sprintf("verification was cancelled before %s was checked (context canceled).", images[i])
		if r.Image != images[i] || r.Status != verify.StatusError || r.Detail != wantDetail {
			t.Errorf("result %d: %s %s %q, want %s error %q", i, r.Image, r.Status, r.Detail, images[i], wantDetail)
		}
	}
}
