package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// realBinary builds ecs-registry-rotate once per test process: these tests
// run it as a user would, in its own process, reaching AWS only through
// AWS_ENDPOINT_URL.
func realBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ecs-registry-rotate-bin")
		if err != nil {
			buildErr = err
			return
		}
		testenv.AtExit(func() { os.RemoveAll(dir) }) // 20 MB a test process otherwise
		binary = filepath.Join(dir, "ecs-registry-rotate")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binary
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (w *world) command(t testing.TB, args ...string) (*exec.Cmd, *lockedBuffer) {
	cmd := exec.Command(realBinary(t), args...)
	cmd.Env = append(os.Environ(), w.fake.Env()...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

func TestBinaryHelpListsEveryInput(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--help")
	if err := cmd.Run(); err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, input := range []string{"auth-mode", "secret-id", "username", "password", "registry", "ecs-config-auth-type",
		"cluster", "services", "force-new-deployment", "minimum-healthy-percent", "wait", "timeout", "poll-interval",
		"fail-fast", "restart-agent", "verify-credentials", "dry-run", "rollback-on-failure", "role-to-assume", "aws-region"} {
		if !strings.Contains(out.String(), "-"+input) {
			t.Errorf("--help does not list %s", input)
		}
	}
}

func TestBinaryRotatesWithFlags(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", w.fake.RegistryHost(), "--poll-interval", "1s")
	cmd.Env = append(cmd.Env, "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword)
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), `"result": "success"`) {
		t.Errorf("the CLI does not print the outputs with result success:\n%s", out)
	}
	assertNoPassword(t, result{stdout: out.String()}, newPassword)
}

func TestBinaryBadInputExits2(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--password", newPassword, "--timeout", "soon")
	err := cmd.Run()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(out.String(), "timeout") {
		t.Fatalf("exit %v, want 2 naming timeout:\n%s", err, out)
	}
}

func TestBinaryCancelledBySIGTERM(t *testing.T) {
	w := newWorld(t)
	cmd, out := w.command(t, "--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", w.fake.RegistryHost(), "--poll-interval", "1s", "--fail-fast=false", "--verify-credentials=false")
	cmd.Env = append(cmd.Env, "INPUT_PASSWORD=typo-"+newPassword) // never completes: the watch is still waiting
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "== Wait for") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	took := time.Since(sent)
	if took > testenv.Scale(2*time.Second) {
		t.Errorf("exited %s after SIGTERM, want within 2 s", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d after SIGTERM, want 1", code)
	}
	errLine := lineWith(out.String(), "error: run cancelled")
	for _, want := range []string{"cancelled", "secret prod/registry now holds version", "services web, worker were redeployed"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the cancellation error lacks %q: %s", want, errLine)
		}
	}
}
