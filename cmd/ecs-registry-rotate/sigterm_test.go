package main

import (
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// Issue #9, point 9: SIGTERM at each step. The runner sends it when a job is
// cancelled and kills the process soon after: the binary exits within 2 s,
// with exit 1, and says what it had changed, by name, as the fake shows it.
func TestBinarySIGTERMAtEachStep(t *testing.T) {
	cases := []struct {
		name string
		// setup arranges the step to be under way when ready holds.
		setup func(w *world, cmd *exec.Cmd)
		ready func(w *world, out string) bool
		// check compares the cancellation error with what the fake shows.
		check func(t *testing.T, w *world, errLine string)
	}{
		{
			name:  "before the write (plan)",
			setup: func(w *world, _ *exec.Cmd) { w.fake.Latency("DescribeTaskDefinition", 10*time.Second) },
			ready: func(w *world, _ string) bool { return w.fake.CallCount("DescribeServices") > 0 },
			check: func(t *testing.T, w *world, errLine string) {
				if len(w.mutations()) != 0 || !strings.Contains(errLine, "nothing was changed") {
					t.Errorf("mutations %v; the error should say nothing was changed: %s", w.mutations(), errLine)
				}
			},
		},
		{
			// The write takes effect, its answer never comes back in time.
			name:  "during the write",
			setup: func(w *world, _ *exec.Cmd) { w.fake.SlowReply("PutSecretValue", 10*time.Second) },
			ready: func(w *world, _ string) bool { return len(w.fake.SecretVersions(w.secretARN)) > 1 },
			check: func(t *testing.T, w *world, errLine string) {
				wantSecret(t, w, errLine)
				wantServices(t, w, errLine)
			},
		},
		{
			// The secret is written; UpdateService hangs before it takes
			// effect, so no service is redeployed.
			name:  "between the write and the deploy",
			setup: func(w *world, _ *exec.Cmd) { w.fake.Latency("UpdateService", 10*time.Second) },
			ready: func(w *world, out string) bool { return strings.Contains(out, "== Deploy") },
			check: func(t *testing.T, w *world, errLine string) {
				wantSecret(t, w, errLine)
				wantServices(t, w, errLine)
				if !strings.Contains(errLine, "aws secretsmanager update-secret-version-stage") {
					t.Errorf("no command to undo the write: %s", errLine)
				}
			},
		},
		{
			name: "during the watch",
			setup: func(w *world, cmd *exec.Cmd) {
				cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_FAIL_FAST=false", "ECS_REGISTRY_ROTATE_VERIFY_CREDENTIALS=false")
				w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword) // never completes
			},
			ready: func(w *world, out string) bool { return strings.Contains(out, "== Wait for") },
			check: func(t *testing.T, w *world, errLine string) {
				wantSecret(t, w, errLine)
				wantServices(t, w, errLine)
			},
		},
		{
			// The registry takes only the old password: the rollout fails,
			// the rollback moves AWSCURRENT back and rolls again, and the
			// job is cancelled while that roll is watched.
			name: "during the rollback",
			setup: func(w *world, cmd *exec.Cmd) {
				cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_ROLLBACK_ON_FAILURE=true", "ECS_REGISTRY_ROTATE_VERIFY_CREDENTIALS=false")
				w.fake.SetRegistryCredentials(w.fake.RegistryHost(), user, oldPassword)
			},
			ready: func(w *world, out string) bool {
				return slices.Contains(w.mutations(), "UpdateSecretVersionStage") && strings.Count(strings.Join(w.mutations(), " "), "UpdateService") == 4
			},
			check: func(t *testing.T, w *world, errLine string) {
				vs := w.fake.SecretVersions(w.secretARN)
				if !hasStage(vs, vs[0].VersionID, "AWSCURRENT") {
					t.Fatalf("the rollback did not move AWSCURRENT back: %+v", vs)
				}
				for _, want := range []string{"cancelled during the rollback", "then the rollback stopped", "AWSCURRENT is version " + vs[0].VersionID, "service web", "service worker"} {
					if !strings.Contains(errLine, want) {
						t.Errorf("the error lacks %q: %s", want, errLine)
					}
				}
				// The rollback already moved AWSCURRENT back and rolled every
				// service again: nothing of it is left to do by hand.
				if strings.Contains(errLine, "by hand") {
					t.Errorf("the error asks to redo by hand what the rollback did: %s", errLine)
				}
				wantServices(t, w, errLine)
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
				"--registry", w.fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "30s")
			cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword)
			c.setup(w, cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()
			deadline := time.Now().Add(20 * time.Second)
			for !c.ready(w, out.String()) {
				if time.Now().After(deadline) {
					t.Fatalf("the step was never reached:\n%s", out)
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // well inside the step
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if took := time.Since(sent); took > testenv.Scale(2*time.Second) {
				t.Errorf("exited %s after SIGTERM, want within 2 s", took)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d after SIGTERM, want 1", code)
			}
			text := out.String()
			if n := strings.Count(text, "error: run cancelled"); n != 1 {
				t.Errorf("%d cancellation errors, want 1:\n%s", n, text)
			}
			errLine := lineWith(text, "error: run cancelled")
			c.check(t, w, errLine)
			assertNoPassword(t, result{stdout: text}, newPassword)
			if t.Failed() || testing.Verbose() {
				t.Logf("output:\n%s", text)
			}
		})
	}
}

// wantSecret: the error says the secret holds the version AWSCURRENT is on
// when the run wrote one, and nothing of the secret when it did not.
func wantSecret(t *testing.T, w *world, errLine string) {
	t.Helper()
	vs := w.fake.SecretVersions(w.secretARN)
	if len(vs) < 2 {
		if strings.Contains(errLine, "now holds") {
			t.Errorf("the secret was not written, but the error says so: %s", errLine)
		}
		return
	}
	current := ""
	for _, v := range vs {
		if slices.Contains(v.Stages, "AWSCURRENT") {
			current = v.VersionID
		}
	}
	if !strings.Contains(errLine, "secret prod/registry now holds version "+current) {
		t.Errorf("the secret holds version %s, the error says: %s", current, errLine)
	}
}

// wantServices: the error names exactly the services that were redeployed.
func wantServices(t *testing.T, w *world, errLine string) {
	t.Helper()
	var deployed []string
	for _, s := range updatedServices(w) {
		if !slices.Contains(deployed, s) {
			deployed = append(deployed, s)
		}
	}
	slices.Sort(deployed)
	if len(deployed) == 0 {
		if strings.Contains(errLine, "were redeployed") {
			t.Errorf("no service was redeployed, but the error says so: %s", errLine)
		}
		return
	}
	if got := listIn(errLine, "services ", " were redeployed"); !slices.Equal(got, deployed) {
		t.Errorf("the error says %v were redeployed, the fake shows %v: %s", got, deployed, errLine)
	}
}
