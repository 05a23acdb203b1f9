// Package verify proves that new registry credentials work before anything is
// written: it logs in to each registry the images live on and fetches every
// image's manifest with those credentials, the way a container runtime would.
package verify

import (
	"context"
	"net/http"
	"time"
)

// Credentials are the new registry credentials under test.
type Credentials struct{ Username, Password string }

// Status classifies one image's check.
type Status string

const (
	StatusOK           Status = "ok"
	StatusUnauthorized Status = "unauthorized" // 401/403: credentials rejected
	StatusNotFound     Status = "not-found"    // 404: image or tag missing
	StatusUnreachable  Status = "unreachable"  // DNS, TLS, connect, timeout
	StatusError        Status = "error"        // anything else (bad reference, 5xx)
)

// ImageResult is the outcome for one input image.
type ImageResult struct {
	Image    string // as given
	Registry string // as go-containerregistry resolves it, e.g. "index.docker.io", "127.0.0.1:5000"
	Status   Status
	Digest   string        // when OK
	Detail   string        // one sentence for a human: what happened and what to do; never contains the password
	Duration time.Duration // the manifest check, or the login when the login decided the result
}

// Options tune a verification run. The zero value is ready to use.
type Options struct {
	// Concurrency bounds the checks in flight against each registry (default 8).
	// The bound is per registry because its purpose is to spare each registry
	// (rate limits, lockouts after failed logins), and it lets a slow registry
	// never hold up the checks against another.
	Concurrency int
	Timeout     time.Duration     // per image, and for each registry's login; default 20s
	Transport   http.RoundTripper // nil = remote.DefaultTransport; tests inject latency here
}

const (
	defaultConcurrency = 8
	defaultTimeout     = 20 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	return o
}

// Images checks every image (duplicates checked once, results in input order, one per input) with creds.
func Images(ctx context.Context, images []string, creds Credentials, opts Options) []ImageResult {
	r := newRun(creds, opts.withDefaults())
	checks, order := r.plan(images)
	r.checkAll(ctx, checks)
	results := make([]ImageResult, len(images))
	for i, image := range images {
		res := order[i].result
		res.Image = image
		res.Detail = r.scrub.String(res.Detail)
		results[i] = res
	}
	return results
}

// Failed returns the results that are not OK.
func Failed(results []ImageResult) []ImageResult {
	var failed []ImageResult
	for _, r := range results {
		if r.Status != StatusOK {
			failed = append(failed, r)
		}
	}
	return failed
}
