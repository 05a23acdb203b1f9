package inputs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
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
// description in action.yml the spec's; UPDATE_ACTION=1 rewrites them.
func TestActionYAMLInputsGenerated(t *testing.T) {
	const path = "../../action.yml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, "\ninputs:\n"), strings.Index(text, "\noutputs:\n")
	if i < 0 || j < i {
		t.Fatal("action.yml has no inputs: section followed by outputs:")
	}
	want := actionInputsBlock()
	if text[i+1:j+1] == want {
		return
	}
	if os.Getenv("UPDATE_ACTION") == "1" {
		if err := os.WriteFile(path, []byte(text[:i+1]+want+text[j+1:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("action.yml's inputs differ from the spec; run UPDATE_ACTION=1 go test ./internal/inputs/ -run TestActionYAMLInputsGenerated. Want:\n%s", want)
}
