package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliRotate runs the real binary as a CLI rotation onto newPassword, with
// extra flags, and returns its exit status and output.
func (w *world) cliRotate(t *testing.T, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", w.fake.RegistryHost(), "--poll-interval", "1s"}, extra...)
	cmd, out := w.command(t, args...)
	cmd.Env = append(cmd.Env, "GITHUB_ACTIONS=", "ECS_REGISTRY_ROTATE_PASSWORD="+newPassword)
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String()
}

// A bad --output-file is bad input: exit 2 naming it, before AWS is asked
// anything, and nothing is written anywhere.
func TestBinaryOutputFileCheckedBeforeAnyChange(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "outputs.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing", "outputs.json"), "cannot be written"},
		{link, "is a symbolic link"},
	} {
		code, out := w.cliRotate(t, "--output-file", tc.path)
		errLine := lineWith(out, "error: ")
		if code != 2 || !strings.Contains(errLine, "--output-file") || !strings.Contains(errLine, tc.want) {
			t.Errorf("--output-file %s: exit %d, want 2 with an error naming --output-file that says %q:\n%s", tc.path, code, tc.want, out)
		}
		if calls := w.fake.Calls(); len(calls) != 0 {
			t.Errorf("--output-file %s: AWS was called: %v", tc.path, calls)
		}
	}
	if got := w.fake.SecretString("prod/registry"); !strings.Contains(got, oldPassword) {
		t.Errorf("the secret changed")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
}

// The outputs file is mode 0600, also when it existed with another mode,
// and holds the outputs as one JSON object.
func TestBinaryOutputFileIsPrivate(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "outputs.json")
	if err := os.WriteFile(existing, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := w.cliRotate(t, "--output-file", existing)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	fi, err := os.Lstat(existing)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("outputs file %v, %v; want a regular file of mode 0600", fi.Mode(), err)
	}
	var outputs map[string]any
	b, _ := os.ReadFile(existing)
	if err := json.Unmarshal(b, &outputs); err != nil || outputs["result"] != "success" {
		t.Errorf("outputs file: %v, %s", err, b)
	}
	if strings.Contains(out, `"result"`) {
		t.Errorf("the outputs went to stdout as well:\n%s", out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left beside the outputs: %d entries", len(entries))
	}
}
