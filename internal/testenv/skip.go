package testenv

import (
	"fmt"
	"os"
	"testing"
)

// SkipLogVar names a file that SkipMissing appends to: go test shows a
// passing package's skips only with -v, so .ci/run sets it and prints the
// file after the run, one line per test that a missing tool skipped.
const SkipLogVar = "ECS_REGISTRY_ROTATE_SKIP_LOG"

// SkipMissing skips a test that needs a tool this machine lacks, saying
// which and how to install it, and records the skip where SkipLogVar says.
func SkipMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if path := os.Getenv(SkipLogVar); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, "SKIP %s: %s\n", t.Name(), msg)
			f.Close()
		}
	}
	t.Skip(msg)
}
