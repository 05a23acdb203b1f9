package docs

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// CommandsVar turns on TestReadmeCommands: it runs the demo and the
// benchmarks, which take a minute, so .ci/run sets it and a plain go test
// ./... does not.
const CommandsVar = "ECS_REGISTRY_ROTATE_README_COMMANDS"

// commandSections are the README's sections whose commands a developer
// copies: every ```sh block and every `go test …` or `go run …` quoted there.
var commandSections = []string{"Development", "Benchmarks"}

var (
	heading    = regexp.MustCompile(`^(#{1,6}) +(.*?)\s*$`)
	inlineCode = regexp.MustCompile("`([^`]+)`")
)

// readmeCommands are the commands of commandSections, in order, each once.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	add := func(c string) {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	// A code span may run over a line break, not over a paragraph.
	var paragraph []string
	flush := func() {
		for _, m := range inlineCode.FindAllStringSubmatch(strings.Join(paragraph, " "), -1) {
			if strings.HasPrefix(m[1], "go test ") || strings.HasPrefix(m[1], "go run ") {
				add(m[1])
			}
		}
		paragraph = nil
	}
	inSection, level, inFence, fenceSh := false, 0, false, false
	var cont string // a ```sh line ending in a backslash, continued
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			flush()
			inFence, fenceSh = !inFence, !inFence && strings.TrimSpace(strings.TrimPrefix(line, "```")) == "sh"
			continue
		}
		if inFence {
			if inSection && fenceSh && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				if c, ok := strings.CutSuffix(line, "\\"); ok {
					cont += c
					continue
				}
				add(cont + line)
				cont = ""
			}
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			flush()
			switch {
			case slices.Contains(commandSections, m[2]):
				if !inSection {
					inSection, level = true, len(m[1])
				}
			case len(m[1]) <= level:
				inSection = false
			}
			continue
		}
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case inSection:
			paragraph = append(paragraph, line)
		}
	}
	flush()
	return cmds
}

// wholeSuite is a go test of every package (./...): the suite this test
// is part of, which it must not start again.
func wholeSuite(cmd string) bool {
	f := strings.Fields(cmd)
	return len(f) > 1 && f[0] == "go" && f[1] == "test" && slices.Contains(f, "./...")
}

var (
	benchtime = regexp.MustCompile(`\s-benchtime[= ]\S+`)
	runFlag   = regexp.MustCompile(`\s-run[= ]`)
)

// once makes a benchmark command run each benchmark once and no test.
func once(cmd string) string {
	if !strings.HasPrefix(cmd, "go test ") || !strings.Contains(cmd, " -bench") {
		return cmd
	}
	cmd = benchtime.ReplaceAllString(cmd, "")
	rest := strings.TrimPrefix(cmd, "go test ")
	if !runFlag.MatchString(" " + rest) {
		rest = "-run '^$' " + rest
	}
	return "go test -benchtime 1x " + rest
}

// TestReadmeCommandsAreFound keeps the extraction honest: the commands a
// reader of Development and Benchmarks sees are the ones TestReadmeCommands
// runs.
func TestReadmeCommandsAreFound(t *testing.T) {
	cmds := readmeCommands(t)
	var run, benchmarks []string
	for _, c := range cmds {
		if !wholeSuite(c) {
			run = append(run, c)
		}
		if strings.Contains(c, " -bench") {
			benchmarks = append(benchmarks, c)
		}
	}
	if !slices.Contains(run, "go run ./cmd/demo") || len(benchmarks) < 3 || !slices.ContainsFunc(cmds, wholeSuite) {
		t.Errorf("from Development and Benchmarks: %q; want the demo, the whole suite and at least 3 benchmarks", cmds)
	}
	for _, c := range benchmarks {
		o := once(c)
		if !strings.Contains(o, " -benchtime 1x ") || !runFlag.MatchString(o) || strings.Count(o, "-benchtime") != 1 {
			t.Errorf("%q runs as %q: not once, or with tests", c, o)
		}
	}
}

// TestReadmeCommands runs every command the README's Development and
// Benchmarks sections show (benchmarks once each), from the repository's
// root, as a reader would: each must succeed. The whole suite is left out:
// this test is part of it.
func TestReadmeCommands(t *testing.T) {
	if os.Getenv(CommandsVar) != "1" {
		t.Skipf("runs the README's demo and benchmarks (a minute): set %s=1, as .ci/run does", CommandsVar)
	}
	for _, c := range readmeCommands(t) {
		if wholeSuite(c) {
			continue
		}
		c := once(c)
		t.Run(c, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", c)
			cmd.Dir = "../.."
			cmd.Env = withoutVar(os.Environ(), CommandsVar)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("%s: %s", c, time.Since(start).Round(100*time.Millisecond))
			if err != nil {
				t.Errorf("%s: %v\n%s", c, err, tail(string(out), 4000))
			}
		})
	}
}

func withoutVar(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
