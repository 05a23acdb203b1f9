package verifytest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushImage pushes a tiny random image (one 256-byte layer) to image, e.g.
// "127.0.0.1:5000/team/app:v1", and returns its manifest digest.
func PushImage(t testing.TB, image, user, pass string) string {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatalf("parse %s: %v", image, err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatalf("make image: %v", err)
	}
	auth := &authn.Basic{Username: user, Password: pass}
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", image, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatalf("digest of %s: %v", image, err)
	}
	return digest.String()
}
