package docs

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ecs-registry-rotate/ecs-registry-rotate/"

// TestBoundaries keeps the fake out of the product and the product out of
// the fake, as go-containerregistry's depcheck does: no package of the
// action's binary imports awsfake (only the demo and tests may), and
// awsfake imports no product package, so it fakes AWS as AWS behaves, not
// as the product expects. The steps of the pipeline own their types: the
// plan and the rollout know nothing of each other.
func TestBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Deps \" \"}}", "../../...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(pkg, module)
		for _, d := range strings.Fields(deps) {
			dep, ok := strings.CutPrefix(d, module)
			if !ok {
				continue
			}
			switch {
			case rel == "cmd/ecs-registry-rotate" && dep == "internal/awsfake":
				t.Errorf("the action's binary links awsfake")
			case rel == "internal/awsfake" && dep != "internal/awsfake":
				t.Errorf("awsfake imports the product package %s", dep)
			case rel == "internal/plan" && dep == "internal/rollout", rel == "internal/rollout" && dep == "internal/plan":
				t.Errorf("%s imports %s: the steps own their types, and rotate converts between them", rel, dep)
			}
		}
	}
}
