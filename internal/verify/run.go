package verify

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// check is one distinct image reference; inputs that resolve to the same
// reference share it, so a duplicate costs nothing and reports the same.
type check struct {
	ref    name.Reference // nil when the input is not a valid reference
	result ImageResult
}

type run struct {
	creds Credentials
	auth  authn.Authenticator
	base  http.RoundTripper
	opts  Options
	scrub scrubber
}

func newRun(creds Credentials, opts Options) *run {
	base := opts.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	return &run{
		creds: creds,
		auth:  &authn.Basic{Username: creds.Username, Password: creds.Password},
		base:  base,
		opts:  opts,
		scrub: newScrubber(creds),
	}
}

// plan parses the images the way Docker does (go-containerregistry's default
// rules: "nginx" is index.docker.io/library/nginx:latest) and returns the
// distinct checks plus, for each input, the check that answers it.
func (r *run) plan(images []string) (checks, order []*check) {
	byName := make(map[string]*check)
	for _, image := range images {
		ref, err := name.ParseReference(image)
		if err != nil {
			order = append(order, &check{result: badReference(err)})
			continue
		}
		c, seen := byName[ref.Name()]
		if !seen {
			c = &check{ref: ref, result: ImageResult{Registry: ref.Context().RegistryStr()}}
			byName[ref.Name()] = c
			checks = append(checks, c)
		}
		order = append(order, c)
	}
	return checks, order
}

// checkAll logs in to every registry at once, then checks its images.
func (r *run) checkAll(ctx context.Context, checks []*check) {
	if r.creds.Username == "" || r.creds.Password == "" {
		for _, c := range checks {
			c.result.Status, c.result.Detail = StatusError, missingCredentials
		}
		return
	}
	var wg sync.WaitGroup
	for _, group := range batch.GroupBy(checks, func(c *check) string { return c.ref.Context().Registry.Name() }) {
		wg.Go(func() { r.checkRegistry(ctx, group) })
	}
	wg.Wait()
}

// checkRegistry logs in once before touching any manifest: rejected or
// unreachable credentials then cost one attempt, not one per image, which
// matters to registries that lock an account after repeated failed logins.
func (r *run) checkRegistry(ctx context.Context, checks []*check) {
	reg := checks[0].ref.Context().Registry
	start := time.Now()
	if err := r.login(ctx, reg); err != nil {
		status, detail := r.explainLogin(ctx, reg.RegistryStr(), err)
		for _, c := range checks {
			c.result.Status, c.result.Detail = status, detail
			c.result.Duration = time.Since(start)
		}
		return
	}
	// Every image gets its own result: a failed check stops none of the others.
	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	for _, c := range checks {
		if ctx.Err() != nil {
			c.result.Status, c.result.Detail = StatusError, cancelled(c.ref, ctx.Err())
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil { // cancelled while it waited for a slot
				c.result.Status, c.result.Detail = StatusError, cancelled(c.ref, ctx.Err())
				return nil
			}
			r.checkImage(ctx, c)
			return nil
		})
	}
	_ = g.Wait() // no check returns an error
}

func (r *run) checkImage(parent context.Context, c *check) {
	ctx, cancel := context.WithTimeout(parent, r.opts.Timeout)
	defer cancel()
	start := time.Now()
	digest, err := r.fetchManifest(ctx, c.ref)
	c.result.Duration = time.Since(start)
	if err != nil {
		c.result.Status, c.result.Detail = r.explainManifest(parent, c.ref, err)
		return
	}
	c.result.Status, c.result.Digest = StatusOK, digest
	c.result.Detail = found(c.ref, digest)
}
