package awsfake

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRegistryAuth(t *testing.T) {
	f := newFixture(t)
	ref := f.PushImage("team/app:1.0")
	if ref != f.RegistryHost()+"/team/app:1.0" {
		t.Fatalf("PushImage = %q", ref)
	}
	f.SetRegistryCredentials(f.RegistryHost(), "robot", "s3cret")

	head := func(ref, user, pass string) error {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		_, err = remote.Head(r, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
		return err
	}
	if err := head(ref, "robot", "s3cret"); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	var te *transport.Error
	if err := head(ref, "robot", "old"); !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong credentials: %v, want a 401 transport error", err)
	}
	if err := head(f.RegistryHost()+"/team/app:missing", "robot", "s3cret"); !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown tag: %v, want a 404 transport error", err)
	}
}

func TestRegistryHostNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": "index.docker.io",
		"docker.io":                   "index.docker.io",
		"registry-1.docker.io":        "index.docker.io",
		"ghcr.io":                     "ghcr.io",
		"http://127.0.0.1:5000/":      "127.0.0.1:5000",
	} {
		if got := normalizeRegistryHost(in); got != want {
			t.Errorf("normalizeRegistryHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// Docker Hub images need Hub credentials, whatever alias names the image.
func TestDockerHubPullNeedsCredentials(t *testing.T) {
	f := newFixture(t)
	f.SetRegistryCredentials("https://index.docker.io/v1/", "me", "tok")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, img := range []string{"nginx", "myorg/app:2", "docker.io/myorg/app:2"} {
		if f.pullError(img, &registryCred{"me", "tok"}, "EC2") != "" {
			t.Errorf("%s with Hub credentials failed", img)
		}
	}
	if got, want := f.pullError("myorg/app:2", nil, "EC2"),
		"CannotPullContainerError: Error response from daemon: pull access denied for myorg/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"; got != want {
		t.Errorf("EC2 = %q", got)
	}
	if got, want := f.pullError("nginx", nil, "FARGATE"),
		"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref docker.io/library/nginx:latest: pulling from host registry-1.docker.io failed with status code [manifests latest]: 401 Unauthorized"; got != want {
		t.Errorf("FARGATE = %q", got)
	}
	if f.pullError("ghcr.io/public/app:1", nil, "EC2") != "" {
		t.Error("a host without credentials is public")
	}
}
