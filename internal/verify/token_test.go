package verify_test

import (
	"context"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify/verifytest"
)

// TestTokenRegistry covers the Docker Hub style flow: a Bearer challenge on
// /v2/, a token from the realm for the basic credentials, scoped per
// repository.
func TestTokenRegistry(t *testing.T) {
	host, user, pass, _ := verifytest.StartTokenRegistry(t)
	digest := verifytest.PushImage(t, host+"/library/nginx:1.27", user, pass)
	good := verify.Credentials{Username: user, Password: pass}
	ctx := context.Background()

	t.Run("good credentials", func(t *testing.T) {
		images := []string{host + "/library/nginx:1.27", host + "/library/nginx:1.27@" + digest}
		results := verify.Images(ctx, images, good, verify.Options{})
		assertNoSecret(t, results, user, pass)
		for _, r := range results {
			want(t, r, verify.StatusOK)
			if r.Digest != digest || r.Registry != host {
				t.Errorf("%+v: want digest %s on %s", r, digest, host)
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		bad := verify.Credentials{Username: user, Password: "not-" + pass}
		results := verify.Images(ctx, []string{host + "/library/nginx:1.27"}, bad, verify.Options{})
		assertNoSecret(t, results, bad.Username, bad.Password)
		assertNoSecret(t, results, user, pass)
		want(t, results[0], verify.StatusUnauthorized, "rejected the login", "HTTP 401")
	})

	t.Run("wrong user", func(t *testing.T) {
		bad := verify.Credentials{Username: "someone-else", Password: pass}
		results := verify.Images(ctx, []string{host + "/library/nginx:1.27"}, bad, verify.Options{})
		assertNoSecret(t, results, bad.Username, pass)
		want(t, results[0], verify.StatusUnauthorized, `"someone-else"`)
	})

	t.Run("missing tag", func(t *testing.T) {
		images := []string{host + "/library/nginx:0.0-missing", host + "/library/nginx:1.27"}
		results := verify.Images(ctx, images, good, verify.Options{})
		assertNoSecret(t, results, user, pass)
		want(t, results[0], verify.StatusNotFound, "HTTP 404", "credentials work")
		want(t, results[1], verify.StatusOK)
	})
}
