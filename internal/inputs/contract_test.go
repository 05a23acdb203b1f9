package inputs

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

const contractPath = "../../../shared/CONTRACT.md"

// contractInputs reads the name and default of each row of CONTRACT.md's
// inputs table, in order.
func contractInputs(t *testing.T) (names []string, defaults map[string]string) {
	t.Helper()
	f, err := os.Open(contractPath)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent", contractPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defaults = map[string]string{}
	inTable := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "## "):
			inTable = line == "## Inputs"
		case inTable && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			name := strings.Trim(strings.TrimSpace(cells[1]), "`")
			def := strings.Trim(strings.TrimSpace(cells[2]), "`")
			if def == "empty" {
				def = ""
			}
			names = append(names, name)
			defaults[name] = def
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no inputs table found in %s", contractPath)
	}
	return names, defaults
}

func TestFlagsMatchContract(t *testing.T) {
	names, defaults := contractInputs(t)
	fs := newFlagSet()
	for _, name := range names {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("CONTRACT.md input %q has no flag", name)
			continue
		}
		if f.DefValue != defaults[name] {
			t.Errorf("--%s defaults to %q, CONTRACT.md says %q", name, f.DefValue, defaults[name])
		}
	}
	var flags []string
	for _, s := range specs {
		flags = append(flags, s.name)
	}
	if strings.Join(flags, " ") != strings.Join(names, " ") {
		t.Errorf("flags and CONTRACT.md's inputs differ (or are in another order):\n flags    %q\n contract %q", flags, names)
	}
}

func TestLoadDefaultsMatchContract(t *testing.T) {
	names, defaults := contractInputs(t)
	cfg := mustLoad(t, nil, requiredEnv())
	// The text each Config field was parsed from, for the inputs that have a default.
	got := map[string]string{
		inAuthMode: string(cfg.AuthMode), inRegistry: cfg.Registry, inECSConfigAuthType: cfg.ECSConfigAuthType,
		inTimeout: cfg.Timeout.String(), inPollInterval: cfg.PollInterval.String(),
	}
	parsed := map[string]string{"15m": "15m0s", "5s": "5s"}
	for _, name := range names {
		g, ok := got[name]
		if !ok {
			continue
		}
		want := defaults[name]
		if p, ok := parsed[want]; ok {
			want = p
		}
		if g != want {
			t.Errorf("Load's default for %s is %q, CONTRACT.md says %q", name, g, defaults[name])
		}
	}
}
