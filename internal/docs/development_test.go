package docs

import (
	"regexp"
	"strings"
	"testing"
)

var goLine = regexp.MustCompile(`(?m)^go ([0-9.]+)\s*$`)

// Issue #15, point 9: Development says which Go go.mod needs, and what
// .ci/run needs of the machine.
func TestDevelopmentSaysWhatAMachineNeeds(t *testing.T) {
	m := goLine.FindStringSubmatch(readFile(t, "../../go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	dev := strings.Join(strings.Fields(section(t, readFile(t, "../../README.md"), "Development")), " ")
	for _, want := range []string{"needs Go " + m[1] + " or newer", "root", "`apt-get`"} {
		if !strings.Contains(dev, want) {
			t.Errorf("Development does not say %q", want)
		}
	}
}
