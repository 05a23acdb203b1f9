package verify_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// assertNoSecret fails when the password, in clear or in a basic-auth
// encoding, appears anywhere in the results.
func assertNoSecret(t *testing.T, results []verify.ImageResult, user, pass string) {
	t.Helper()
	all := fmt.Sprintf("%#v", results)
	for _, form := range []string{
		pass,
		base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)),
		base64.StdEncoding.EncodeToString([]byte(pass)),
	} {
		if strings.Contains(all, form) {
			t.Fatalf("results contain the password (form %q): %s", form, all)
		}
	}
}

// want checks one result's status and that its detail says what it should.
func want(t *testing.T, r verify.ImageResult, status verify.Status, detailHas ...string) {
	t.Helper()
	t.Logf("%s -> %s: %s", r.Image, r.Status, r.Detail)
	if r.Status != status {
		t.Fatalf("%s: status %q, want %q; detail: %s", r.Image, r.Status, status, r.Detail)
	}
	for _, s := range detailHas {
		if !strings.Contains(r.Detail, s) {
			t.Errorf("%s: detail %q does not mention %q", r.Image, r.Detail, s)
		}
	}
	if r.Detail == "" {
		t.Errorf("%s: empty detail", r.Image)
	}
}
