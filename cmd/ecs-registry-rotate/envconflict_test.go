package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Under Actions, a job-level ECS_REGISTRY_ROTATE_<NAME> that differs from the
// step's with: input wins and is warned of, naming both variables; for the
// password neither value is printed, the losing one not even to mask it.
func TestBinaryWarnsWhenEnvOverridesStepInput(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	const losing = "with-input-Pa55word"
	cmd, out := w.command(t)
	cmd.Env = append(cmd.Env, "GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT="+filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"),
		"INPUT_CLUSTER=prod", "INPUT_SECRET-ID=prod/registry", "INPUT_USERNAME="+user, "INPUT_REGISTRY="+w.fake.RegistryHost(),
		"INPUT_DRY-RUN=true",
		"INPUT_PASSWORD="+losing, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword,
		"INPUT_TIMEOUT=15m", "ECS_REGISTRY_ROTATE_TIMEOUT=20m")
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	log := out.String()
	for _, want := range []string{
		"::warning::ECS_REGISTRY_ROTATE_PASSWORD and INPUT_PASSWORD (the step's with: password) differ; ECS_REGISTRY_ROTATE_PASSWORD wins (the values are not shown)",
		`::warning::ECS_REGISTRY_ROTATE_TIMEOUT is "20m" but INPUT_TIMEOUT (the step's with: timeout, or its default) is "15m"; ECS_REGISTRY_ROTATE_TIMEOUT wins`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
	if strings.Contains(log, losing) {
		t.Errorf("the step's password shows in the log")
	}
	written := readFile(filepath.Join(dir, "output")) + readFile(filepath.Join(dir, "summary"))
	if strings.Contains(written, losing) || strings.Contains(written, newPassword) {
		t.Errorf("a password shows in the outputs or the summary")
	}
	assertNoPassword(t, result{stdout: log}, newPassword)
}
