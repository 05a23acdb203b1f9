package inputs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// actionInputs reads the inputs and their defaults from the repository's
// action.yml (its own simple layout: two-space keys under `inputs:`).
func actionInputs(t *testing.T) (names []string, defaults map[string]string) {
	t.Helper()
	f, err := os.Open("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defaults = map[string]string{}
	section, current := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":"):
			section = strings.TrimSuffix(line, ":")
		case section == "inputs" && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			current = strings.TrimSuffix(strings.TrimSpace(line), ":")
			names = append(names, current)
		case section == "inputs" && strings.HasPrefix(strings.TrimSpace(line), "default:"):
			v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "default:"))
			defaults[current] = strings.Trim(v, `"`)
		}
	}
	return names, defaults
}

func TestActionYAMLMatchesReadme(t *testing.T) {
	want, wantDefaults := contractInputs(t)
	got, gotDefaults := actionInputs(t)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("action.yml inputs differ from the README:\n action.yml %q\n contract   %q", got, want)
	}
	for _, name := range want {
		if gotDefaults[name] != wantDefaults[name] {
			t.Errorf("action.yml default of %s is %q, the README says %q", name, gotDefaults[name], wantDefaults[name])
		}
	}
}

// actionInputsBlock is action.yml's inputs section as the spec generates it.
func actionInputsBlock() string {
	var b strings.Builder
	b.WriteString("inputs:\n")
	for _, s := range specs {
		desc := s.meaning
		if s.required != "" {
			desc += " (" + s.required + ")"
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", s.name, strconv.Quote(desc))
		if s.def != "" {
			fmt.Fprintf(&b, "    default: %s\n", strconv.Quote(s.def))
		}
	}
	return b.String()
}

// TestActionYAMLInputsGenerated keeps every input's name, default and
// description in action.yml the spec's.
func TestActionYAMLInputsGenerated(t *testing.T) {
	testenv.KeepGenerated(t, "../../action.yml", "\ninputs:\n", "\noutputs:\n", strings.TrimSuffix(strings.TrimPrefix(actionInputsBlock(), "inputs:\n"), "\n"))
}
