package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify/verifytest"
)

// TestDistribution runs against the real CNCF registry with htpasswd basic
// auth. The subtests share one registry and run in order: the last stops it.
func TestDistribution(t *testing.T) {
	host, user, pass, stop := verifytest.StartDistribution(t)
	digest := verifytest.PushImage(t, host+"/team/app:v1", user, pass)
	good := verify.Credentials{Username: user, Password: pass}
	ctx := context.Background()

	t.Run("good credentials", func(t *testing.T) {
		images := []string{host + "/team/app:v1", host + "/team/app@" + digest, host + "/team/app:v1@" + digest, host + "/team/app:v1"}
		results := verify.Images(ctx, images, good, verify.Options{})
		assertNoSecret(t, results, user, pass)
		if len(results) != len(images) {
			t.Fatalf("got %d results for %d images", len(results), len(images))
		}
		for i, r := range results {
			want(t, r, verify.StatusOK, digest)
			if r.Image != images[i] || r.Registry != host || r.Digest != digest {
				t.Errorf("result %d = %+v, want image %s on %s with digest %s", i, r, images[i], host, digest)
			}
		}
		if failed := verify.Failed(results); len(failed) != 0 {
			t.Errorf("Failed() = %+v, want none", failed)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		bad := verify.Credentials{Username: user, Password: pass + "-old"}
		results := verify.Images(ctx, []string{host + "/team/app:v1", host + "/team/app:v2"}, bad, verify.Options{})
		assertNoSecret(t, results, bad.Username, bad.Password)
		assertNoSecret(t, results, user, pass)
		for _, r := range results {
			want(t, r, verify.StatusUnauthorized, "rejected the login", "HTTP 401", user)
		}
	})

	t.Run("missing tag and repository", func(t *testing.T) {
		images := []string{host + "/team/app:v1", host + "/team/app:nope", host + "/team/nothing:v1"}
		results := verify.Images(ctx, images, good, verify.Options{})
		assertNoSecret(t, results, user, pass)
		want(t, results[0], verify.StatusOK)
		want(t, results[1], verify.StatusNotFound, "HTTP 404 MANIFEST_UNKNOWN", "credentials work")
		// distribution 2.8 answers MANIFEST_UNKNOWN for a missing repository too.
		want(t, results[2], verify.StatusNotFound, "HTTP 404")
		if failed := verify.Failed(results); len(failed) != 2 {
			t.Errorf("Failed() = %+v, want the two missing images", failed)
		}
	})

	t.Run("stopped registry", func(t *testing.T) {
		stop()
		start := time.Now()
		results := verify.Images(ctx, []string{host + "/team/app:v1", host + "/team/app:v2"}, good, verify.Options{})
		elapsed := time.Since(start)
		assertNoSecret(t, results, user, pass)
		for _, r := range results {
			want(t, r, verify.StatusUnreachable, "connection refused", "verify-credentials: false")
		}
		if elapsed > 5*time.Second {
			t.Errorf("a stopped registry took %s to report, want a few seconds at most", elapsed)
		}
	})
}
