// Package skipdemo is a test binary for testenv's own tests: two tests that
// a missing tool-a skips, one that a missing tool-b skips, one that runs
// and leaves something for the end of the run (AtExit).
package skipdemo

import (
	"fmt"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestNeedsToolA(t *testing.T) {
	testenv.SkipMissing(t, "tool-a is not installed (apt-get install tool-a)")
}

func TestAlsoNeedsToolA(t *testing.T) {
	t.Parallel()
	testenv.SkipMissing(t, "tool-a is not installed (apt-get install tool-a)")
}

func TestNeedsToolB(t *testing.T) {
	testenv.SkipMissing(t, "tool-b is not installed (go install example.com/tool-b@v1)")
}

func TestRuns(t *testing.T) {
	testenv.AtExit(func() { fmt.Println("AtExit ran") })
}
