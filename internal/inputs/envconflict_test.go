package inputs

import (
	"strings"
	"testing"
)

// Under Actions, an ECS_REGISTRY_ROTATE_<NAME> that differs from the step's
// INPUT_<NAME> wins, with a warning naming both variables; for the password
// the warning shows neither value.
func TestEnvVariableThatOverridesTheStepInputIsWarned(t *testing.T) {
	const other = "with-input-P4ssword"
	env := with(requiredEnv(), "GITHUB_ACTIONS", "true",
		"INPUT_TIMEOUT", "15m", "ECS_REGISTRY_ROTATE_TIMEOUT", "20m",
		"INPUT_PASSWORD", other, "ECS_REGISTRY_ROTATE_PASSWORD", testPassword,
		"INPUT_WAIT", "true", "ECS_REGISTRY_ROTATE_WAIT", "true", // the same: nothing to say
		"INPUT_REGISTRY", "ghcr.io", "ECS_REGISTRY_ROTATE_REGISTRY", "ghcr.io/"+other) // holds the losing password
	cfg := mustLoad(t, nil, env)
	if cfg.Timeout.String() != "20m0s" || cfg.Password != testPassword {
		t.Fatalf("ECS_REGISTRY_ROTATE_* did not win: timeout %s", cfg.Timeout)
	}
	warnings := strings.Join(cfg.Warnings, "\n")
	for _, want := range []string{
		`ECS_REGISTRY_ROTATE_TIMEOUT is "20m" but INPUT_TIMEOUT (the step's with: timeout, or its default) is "15m"; ECS_REGISTRY_ROTATE_TIMEOUT wins`,
		"ECS_REGISTRY_ROTATE_PASSWORD and INPUT_PASSWORD (the step's with: password) differ; ECS_REGISTRY_ROTATE_PASSWORD wins (the values are not shown)",
		`ECS_REGISTRY_ROTATE_REGISTRY is (value not shown: it contains the password) but INPUT_REGISTRY`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("no warning %q in:\n%s", want, warnings)
		}
	}
	if len(cfg.Warnings) != 3 {
		t.Errorf("%d warnings, want 3:\n%s", len(cfg.Warnings), warnings)
	}
	if strings.Contains(warnings, testPassword) || strings.Contains(warnings, other) {
		t.Errorf("a password shows in the warnings:\n%s", warnings)
	}

	// A flag overrides both: nothing to warn about. Outside Actions neither.
	if cfg := mustLoad(t, []string{"--timeout", "5m"}, env); strings.Contains(strings.Join(cfg.Warnings, "\n"), "TIMEOUT") {
		t.Errorf("warned despite the flag: %q", cfg.Warnings)
	}
	delete(env, "GITHUB_ACTIONS")
	if cfg := mustLoad(t, nil, env); len(cfg.Warnings) != 0 {
		t.Errorf("warned outside Actions: %q", cfg.Warnings)
	}
}
