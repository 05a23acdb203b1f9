package docs

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ecs-registry-rotate/ecs-registry-rotate/"

// pipeline is the steps of a rotation in order. A step is one or more units,
// a unit a package with its sub-packages; apply is one unit per auth mode.
// rotate, last, runs the others.
var pipeline = [][]string{
	{"internal/inputs"},
	{"internal/plan"},
	{"internal/verify"},
	{"internal/secret", "internal/ecsconfig"}, // apply
	{"internal/rollout"},
	{"internal/report"},
	{"internal/rotate"},
}

// shared are the packages outside the pipeline, which any step may import:
// they import no step themselves. docs is this test's package.
var shared = []string{
	"internal/awsclient", "internal/awserr", "internal/awsfake", "internal/awsname",
	"internal/batch", "internal/docs", "internal/iam", "internal/lock",
	"internal/registryauth", "internal/testenv", "internal/version",
}

// stepOf is the unit rel belongs to and its step's index in pipeline.
func stepOf(rel string) (unit string, step int, ok bool) {
	for i, units := range pipeline {
		for _, u := range units {
			if rel == u || strings.HasPrefix(rel, u+"/") {
				return u, i, true
			}
		}
	}
	return "", 0, false
}

func isShared(rel string) bool {
	return slices.ContainsFunc(shared, func(s string) bool { return rel == s || strings.HasPrefix(rel, s+"/") })
}

func pipelineOrder() string {
	steps := make([]string, len(pipeline))
	for i, units := range pipeline {
		steps[i] = strings.Join(units, " + ")
	}
	return strings.Join(steps, " → ")
}

// TestBoundaries keeps the fake out of the product and the product out of
// the fake, as go-containerregistry's depcheck does: no package of the
// action's binary imports awsfake (only the demo and tests may), and
// awsfake imports no product package, so it fakes AWS as AWS behaves, not
// as the product expects. The steps of the pipeline own their types: the
// plan and the rollout know nothing of each other, and a step, its tests
// included, imports only earlier steps and shared packages, never a later
// step nor the other unit of its own step.
func TestBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Deps " "}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`,
		"../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err) // a package that does not build must not turn the rules off
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "|")
		if len(fields) != 4 {
			t.Fatalf("go list line %q", line)
		}
		pkg, deps, imports, testImports := fields[0], fields[1], fields[2], fields[3]
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
		for _, problem := range stepProblems(rel, internal(imports), internal(testImports)) {
			t.Error(problem)
		}
	}
}

// internal lists the module's internal packages among the import paths.
func internal(paths string) []string {
	var out []string
	for _, p := range strings.Fields(paths) {
		if rel, ok := strings.CutPrefix(p, module); ok && strings.HasPrefix(rel, "internal/") {
			out = append(out, rel)
		}
	}
	return out
}

// stepProblems checks the direct imports of the package rel against the
// pipeline's order. A shared package's tests may import what they need.
func stepProblems(rel string, imports, testImports []string) []string {
	if !strings.HasPrefix(rel, "internal/") {
		return nil
	}
	unit, step, inPipeline := stepOf(rel)
	if !inPipeline && !isShared(rel) {
		return []string{fmt.Sprintf("%s is neither a step of the pipeline nor shared: add it to pipeline or shared in boundaries_test.go", rel)}
	}
	var problems []string
	check := func(dep, where string) {
		depUnit, depStep, depInPipeline := stepOf(dep)
		switch {
		case !inPipeline && depInPipeline:
			problems = append(problems, fmt.Sprintf("the shared package %s imports the step %s: a shared package imports only shared packages", rel, dep))
		case !depInPipeline, depUnit == unit:
		case depStep == step:
			problems = append(problems, fmt.Sprintf("%s%s imports %s: the units of one step know nothing of each other", rel, where, dep))
		case depStep > step:
			problems = append(problems, fmt.Sprintf("%s%s imports %s: a step imports only earlier steps and shared packages (%s)", rel, where, dep, pipelineOrder()))
		}
	}
	for _, dep := range imports {
		check(dep, "")
	}
	if inPipeline {
		for _, dep := range testImports {
			check(dep, " (in its tests)")
		}
	}
	return problems
}
