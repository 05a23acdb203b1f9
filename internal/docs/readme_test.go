package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// yamlBlocks are the README's ```yaml snippets.
func yamlBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatal("an unclosed ```yaml block")
		}
		blocks = append(blocks, block)
	}
	if len(blocks) < 5 {
		t.Fatalf("found %d yaml blocks, want the README's workflows", len(blocks))
	}
	return blocks
}

// TestReadmeWorkflowsPassActionlint runs actionlint on every snippet: each
// is a whole workflow a user can copy.
func TestReadmeWorkflowsPassActionlint(t *testing.T) {
	actionlint, err := exec.LookPath("actionlint")
	if err != nil {
		if home, herr := os.UserHomeDir(); herr == nil {
			actionlint = filepath.Join(home, "go", "bin", "actionlint")
			_, err = os.Stat(actionlint)
		}
	}
	if err != nil {
		testenv.SkipMissing(t, "actionlint is not installed (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12): the README's workflows are not linted")
	}
	dir := t.TempDir()
	for i, block := range yamlBlocks(t) {
		path := filepath.Join(dir, "readme-"+string(rune('a'+i))+".yml")
		if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(actionlint, "-no-color", path).CombinedOutput(); err != nil {
			t.Errorf("README workflow %d fails actionlint: %v\n%s\n%s", i+1, err, out, block)
		}
	}
}

var runKey = regexp.MustCompile(`^(\s*)(- )?run:`)

// TestReadmeWorkflowsKeepExpressionsOutOfShell: an output pasted into run:
// is shell code (ECS's own "'docker login'" breaks the quoting, a crafted
// reason runs commands); values go through env:.
func TestReadmeWorkflowsKeepExpressionsOutOfShell(t *testing.T) {
	for i, block := range yamlBlocks(t) {
		lines := strings.Split(block, "\n")
		for j := 0; j < len(lines); j++ {
			m := runKey.FindStringSubmatch(lines[j])
			if m == nil {
				continue
			}
			indent := len(m[1]) + len(m[2])
			script := []string{strings.SplitN(lines[j], "run:", 2)[1]}
			for k := j + 1; k < len(lines); k++ {
				if strings.TrimSpace(lines[k]) != "" && len(lines[k])-len(strings.TrimLeft(lines[k], " ")) <= indent {
					break
				}
				script = append(script, lines[k])
			}
			if s := strings.Join(script, "\n"); strings.Contains(s, "${{") {
				t.Errorf("README workflow %d puts an expression into run:, pass it through env: instead:\n%s", i+1, s)
			}
		}
	}
}
