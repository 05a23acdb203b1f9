package verify

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

const userAgent = "ecs-registry-rotate"

// retryBackoff replaces the library's default (1s, 3s, 9s), which would keep a
// run against a stopped or flaky registry waiting for many seconds per image.
// Two attempts still ride out a single dropped connection.
var retryBackoff = remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}

// login does what `docker login` does: the library pings /v2/ and, for a
// Bearer challenge, exchanges the credentials for a token at the realm; then
// GET /v2/ with them must answer 200. The GET is what rejects a wrong password
// on a basic-auth registry, where the ping alone proves nothing.
func (r *run) login(parent context.Context, reg name.Registry) error {
	ctx, cancel := context.WithTimeout(parent, r.opts.Timeout)
	defer cancel()
	rt := transport.NewUserAgent(transport.NewRetry(r.base, transport.WithRetryBackoff(retryBackoff)), userAgent)
	tr, err := transport.NewWithContext(ctx, reg, r.auth, rt, nil)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", reg, err)
	}
	url := fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", reg, err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", reg, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return fmt.Errorf("log in to %s: %w", reg, err)
	}
	return nil
}

// fetchManifest asks with HEAD first: it is cheap and, on Docker Hub, does not
// count against the pull rate limit. A HEAD error has no body, so a GET is
// made to learn why, unless the registry could not be reached at all, where
// a second attempt would only double the wait.
func (r *run) fetchManifest(ctx context.Context, ref name.Reference) (string, error) {
	opts := r.remoteOptions(ctx)
	desc, err := remote.Head(ref, opts...)
	if err == nil {
		return desc.Digest.String(), nil
	}
	if ctx.Err() != nil || classify(err) == StatusUnreachable {
		return "", fmt.Errorf("HEAD manifest %s: %w", ref, err)
	}
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("GET manifest %s: %w", ref, err)
	}
	return got.Digest.String(), nil
}

func (r *run) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(r.auth),
		remote.WithTransport(r.base),
		remote.WithRetryBackoff(retryBackoff),
		remote.WithUserAgent(userAgent),
	}
}
