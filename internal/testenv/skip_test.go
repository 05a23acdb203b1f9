package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkipSummaryEndsTheRun runs a test binary whose tests a missing tool
// skips: its run ends with one line per tool on stderr, naming the package,
// the number of tests and the message, and the skip log that .ci/run reads
// still gets one line per test.
func TestSkipSummaryEndsTheRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "skipdemo.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, "./testdata/skipdemo").CombinedOutput(); err != nil {
		t.Fatalf("build the test binary: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "skips.log")
	cmd := exec.Command(bin)
	cmd.Dir = "testdata/skipdemo"
	cmd.Env = append(os.Environ(), SkipLogVar+"="+log)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the test binary failed: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	want := "SKIP internal/testenv/testdata/skipdemo: 2 tests skipped for a missing tool (TestNeedsToolA, TestAlsoNeedsToolA): tool-a is not installed (apt-get install tool-a)\n" +
		"SKIP internal/testenv/testdata/skipdemo: 1 test skipped for a missing tool (TestNeedsToolB): tool-b is not installed (go install example.com/tool-b@v1)\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasSuffix(stdout.String(), "PASS\nAtExit ran\n") {
		t.Errorf("what AtExit was given did not run after the tests; stdout:\n%s", stdout.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SKIP TestNeedsToolA: tool-a is not installed") {
		t.Errorf("the skip log has %d lines, want 3, one per test:\n%s", len(lines), b)
	}
}

// TestSkipSummaryNamesAFewTests keeps a line short however many tests one
// tool skipped.
func TestSkipSummaryNamesAFewTests(t *testing.T) {
	skips.Lock()
	saved := skips.order
	savedTests := skips.tests
	skips.order, skips.tests = nil, nil
	skips.Unlock()
	t.Cleanup(func() {
		skips.Lock()
		skips.order, skips.tests = saved, savedTests
		skips.Unlock()
	})
	for _, name := range []string{"TestA", "TestB", "TestC", "TestD", "TestE"} {
		recordSkip(name, "tool-x is not installed")
	}
	want := "SKIP pkg: 5 tests skipped for a missing tool (TestA, TestB, TestC and 2 more): tool-x is not installed\n"
	if got := skipSummary("pkg"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestSkipSummaryReachesTheTerminal: go test ./... hides a passing
// package's stderr, so the summary also goes to the terminal then, and only
// then.
func TestSkipSummaryReachesTheTerminal(t *testing.T) {
	for _, c := range []struct {
		name                               string
		code                               int
		verbose, stderrIsTerminal, skipLog bool
		want                               bool
	}{
		{"go test ./..., passing", 0, false, false, false, true},
		{"failing: go test shows stderr", 1, false, false, false, false},
		{"-v or -json: go test shows stderr", 0, true, false, false, false},
		{"in the package's directory: stderr is the terminal", 0, false, true, false, false},
		{".ci/run: the skip log lists them", 0, false, false, true, false},
	} {
		if got := alsoToTerminal(c.code, c.verbose, c.stderrIsTerminal, c.skipLog); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
