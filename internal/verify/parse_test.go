package verify_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// offlineHub stands in for Docker Hub (any host, no network) and counts
// manifest requests.
func offlineHub(t *testing.T, repos ...string) (http.RoundTripper, *atomic.Int32, map[string]string) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var manifests atomic.Int32
	rt := handlerTransport{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			manifests.Add(1)
		}
		reg.ServeHTTP(w, r)
	})}
	digests := map[string]string{}
	for _, repo := range repos {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithTransport(rt), remote.WithAuth(authn.Anonymous)); err != nil {
			t.Fatalf("push %s: %v", repo, err)
		}
		d, _ := img.Digest()
		digests[repo] = d.String()
	}
	manifests.Store(0)
	return rt, &manifests, digests
}

// TestParsesLikeDocker: short names are Docker Hub (library/ for one
// component), spellings of one image are checked once, and every input gets
// its own result, in order.
func TestParsesLikeDocker(t *testing.T) {
	rt, manifests, digests := offlineHub(t, "library/nginx:latest", "user/repo:latest", "user/repo:1.0")
	images := []string{
		"nginx",
		"user/repo",
		"Not/Valid",
		"docker.io/library/nginx:latest",
		"index.docker.io/nginx",
		"user/repo:1.0@" + digests["user/repo:1.0"],
		"nginx",
	}
	creds := verify.Credentials{Username: "u", Password: "p4ss-word"}
	results := verify.Images(context.Background(), images, creds, verify.Options{Transport: rt})
	assertNoSecret(t, results, creds.Username, creds.Password)
	if len(results) != len(images) {
		t.Fatalf("%d results for %d images", len(results), len(images))
	}
	for i, r := range results {
		if r.Image != images[i] {
			t.Errorf("result %d is for %q, want %q", i, r.Image, images[i])
		}
	}
	want(t, results[2], verify.StatusError, "not a valid image reference")
	for _, i := range []int{0, 3, 4, 6} {
		want(t, results[i], verify.StatusOK, "index.docker.io/library/nginx:latest")
		if results[i].Digest != digests["library/nginx:latest"] || results[i].Registry != "index.docker.io" {
			t.Errorf("%+v: want nginx's digest on index.docker.io", results[i])
		}
	}
	want(t, results[1], verify.StatusOK, "index.docker.io/user/repo:latest")
	want(t, results[5], verify.StatusOK)
	if results[5].Digest != digests["user/repo:1.0"] {
		t.Errorf("digest reference resolved to %s, want %s", results[5].Digest, digests["user/repo:1.0"])
	}
	// nginx, user/repo and user/repo@digest: three distinct images, one HEAD each.
	if n := manifests.Load(); n != 3 {
		t.Errorf("%d manifest requests, want 3 (duplicates checked once)", n)
	}
	if failed := verify.Failed(results); len(failed) != 1 || failed[0].Image != "Not/Valid" {
		t.Errorf("Failed() = %+v, want only Not/Valid", failed)
	}
}

func TestNoImages(t *testing.T) {
	results := verify.Images(context.Background(), nil, verify.Credentials{Username: "u", Password: "p"}, verify.Options{})
	if len(results) != 0 || verify.Failed(results) != nil {
		t.Errorf("got %+v for no images", results)
	}
}
