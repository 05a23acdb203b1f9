package testenv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SkipLogVar names a file that SkipMissing appends to: go test shows a
// passing package's skips only with -v, so .ci/run sets it and prints the
// file after the run, one line per test that a missing tool skipped.
const SkipLogVar = "ECS_REGISTRY_ROTATE_SKIP_LOG"

// skips are the tests SkipMissing skipped in this process, by message: the
// message names the missing tool and how to install it.
var skips struct {
	sync.Mutex
	order []string            // messages, in the order first seen
	tests map[string][]string // message → names of the tests it skipped
}

// SkipMissing skips a test that needs a tool this machine lacks, saying
// which and how to install it. The skip is recorded where SkipLogVar says,
// and Main ends the test binary's run with one line per missing tool.
func SkipMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	recordSkip(t.Name(), msg)
	if path := os.Getenv(SkipLogVar); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, "SKIP %s: %s\n", t.Name(), msg)
			f.Close()
		}
	}
	t.Skip(msg)
}

func recordSkip(test, msg string) {
	skips.Lock()
	defer skips.Unlock()
	if skips.tests == nil {
		skips.tests = map[string][]string{}
	}
	if _, seen := skips.tests[msg]; !seen {
		skips.order = append(skips.order, msg)
	}
	skips.tests[msg] = append(skips.tests[msg], test)
}

// namesShown bounds the test names on a summary line.
const namesShown = 3

// skipSummary is one line per missing tool: the package, how many tests
// the tool's absence skipped (naming the first few), and the message. It
// is empty when nothing was skipped for a missing tool.
func skipSummary(pkg string) string {
	skips.Lock()
	defer skips.Unlock()
	var b strings.Builder
	for _, msg := range skips.order {
		tests := skips.tests[msg]
		names := strings.Join(tests[:min(len(tests), namesShown)], ", ")
		if rest := len(tests) - namesShown; rest > 0 {
			names += fmt.Sprintf(" and %d more", rest)
		}
		noun := "tests"
		if len(tests) == 1 {
			noun = "test"
		}
		fmt.Fprintf(&b, "SKIP %s: %d %s skipped for a missing tool (%s): %s\n", pkg, len(tests), noun, names, msg)
	}
	return b.String()
}

// writeSkipSummary ends a test binary's run: the summary goes to stderr,
// and, when go test would hide it, to the terminal as well.
func writeSkipSummary(code int) {
	summary := skipSummary(packageName())
	if summary == "" {
		return
	}
	fmt.Fprint(os.Stderr, summary)
	if alsoToTerminal(code, testing.Verbose(), isTerminal(os.Stderr), os.Getenv(SkipLogVar) != "") {
		if tty, err := os.OpenFile(ttyPath, os.O_WRONLY, 0); err == nil {
			io.WriteString(tty, summary)
			tty.Close()
		}
	}
}

// ttyPath is the process's controlling terminal.
const ttyPath = "/dev/tty"

// alsoToTerminal says whether the summary must also go to the terminal.
// go test given packages (go test ./...) shows a passing package's output,
// stderr included, only with -v: a summary on stderr alone would be lost,
// as the skips themselves are. It is not lost when the package failed
// (go test then shows all of it), with -v or -json (verbose), when stderr
// is the terminal already (go test in a package's directory, or -bench,
// streams the output), or when .ci/run collects the skips (SkipLogVar) and
// lists them after the run.
func alsoToTerminal(code int, verbose, stderrIsTerminal, skipLog bool) bool {
	return code == 0 && !verbose && !stderrIsTerminal && !skipLog
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// packageName is the tested package's directory relative to the module
// root (go test runs a test binary in its package's directory), or the
// binary's name when that cannot be found.
func packageName() string {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	dir, err := os.Getwd()
	if err != nil {
		return name
	}
	for root := dir; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			if rel, err := filepath.Rel(root, dir); err == nil {
				return filepath.ToSlash(rel)
			}
			return name
		}
		parent := filepath.Dir(root)
		if parent == root {
			return name
		}
		root = parent
	}
}
