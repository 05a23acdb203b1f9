package testenv

import (
	"os"
	"strings"
	"testing"
)

// KeepGenerated checks that the text between the markers start and end in
// the file at path is want: the README's tables and policies, and
// action.yml's inputs and outputs, are generated from the code's own specs.
// With UPDATE_GENERATED=1 in the environment it rewrites the block instead.
func KeepGenerated(t *testing.T, path, start, end, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, start)
	j := strings.Index(text[max(i, 0):], end) + max(i, 0)
	if i < 0 || j < i+len(start) {
		t.Fatalf("%s has no block from %q to %q", path, start, end)
	}
	if text[i+len(start):j] == want {
		return
	}
	if os.Getenv("UPDATE_GENERATED") == "1" {
		if err := os.WriteFile(path, []byte(text[:i+len(start)]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale between %q and %q; run UPDATE_GENERATED=1 go test ./... to regenerate it. Want:\n%s", path, start, end, want)
}
