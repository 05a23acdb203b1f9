package main

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// The action's image is the binary and a CA bundle on an otherwise empty
// root (Dockerfile: FROM scratch). This test builds the binary with the
// release flags (.goreleaser.yaml, Dockerfile) and runs it the way the image
// does: no libc, no shell, no /etc but the CA bundle, no /tmp, no /dev.

// releaseImageBudget is what the whole image may weigh, 15 MB (issue #10):
// the binary alone must fit in it, with room for the CA bundle.
const releaseImageBudget = 15_000_000

// caBundle is where Debian, and distroless static, keep the CA certificates.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

func TestReleaseBinaryRunsFromAnEmptyRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: builds the release binary")
	}
	bin := filepath.Join(t.TempDir(), "ecs-registry-rotate")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with the release flags: %v\n%s", err, out)
	}

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			switch p.Type {
			case elf.PT_INTERP:
				t.Error("the binary names a program interpreter (PT_INTERP): it needs a libc the image does not have")
			case elf.PT_DYNAMIC:
				t.Error("the binary has a dynamic section (PT_DYNAMIC): it is not statically linked")
			}
		}
		if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
			t.Error("the binary has an .interp or .dynamic section: it is not statically linked")
		}
	})

	t.Run("size", func(t *testing.T) {
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("release binary: %d bytes (%.1f MB)", st.Size(), float64(st.Size())/1e6)
		if st.Size() >= releaseImageBudget {
			t.Errorf("release binary is %d bytes, want under %d: the image must stay within 15 MB", st.Size(), releaseImageBudget)
		}
	})

	root := emptyRootWith(t, bin)

	t.Run("help", func(t *testing.T) {
		cmd := chrootCommand(t, root, nil, "--help")
		out, err := cmd.CombinedOutput()
		skipIfChrootDenied(t, err)
		if err != nil {
			t.Fatalf("--help from an empty root: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Usage") {
			t.Errorf("--help from an empty root does not print Usage:\n%s", out)
		}
	})

	// A dry run against the fake, as GitHub runs the container: inputs from
	// INPUT_*, outputs to a file under /github/file_commands (the runner
	// mounts that directory into the container).
	t.Run("dry run", func(t *testing.T) {
		w := newWorld(t)
		commands := filepath.Join(root, "github", "file_commands")
		if err := os.MkdirAll(commands, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(filepath.Join(root, "github")) })
		for _, name := range []string{"output", "summary"} {
			if err := os.WriteFile(filepath.Join(commands, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := append(w.fake.Env(),
			"GITHUB_ACTIONS=true",
			"GITHUB_OUTPUT=/github/file_commands/output",
			"GITHUB_STEP_SUMMARY=/github/file_commands/summary",
		)
		inputs := w.defaultInputs()
		inputs["dry-run"] = "true"
		inputs["poll-interval"] = "1s" // the binary's floor; a dry run does not poll
		for k, v := range inputs {
			env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
		}
		cmd := chrootCommand(t, root, env)
		out, err := cmd.CombinedOutput()
		skipIfChrootDenied(t, err)
		r := result{code: cmd.ProcessState.ExitCode(), stdout: string(out),
			outputs: parseOutputs(t, readFile(filepath.Join(commands, "output"))),
			summary: readFile(filepath.Join(commands, "summary"))}
		assertNoPassword(t, r, inputs["password"])
		if r.code != 0 || r.outputs["result"] != "dry-run" {
			t.Fatalf("dry run from an empty root: exit %d, result %q, want 0 and dry-run\n%s", r.code, r.outputs["result"], out)
		}
		if n := w.fake.CallCount("DescribeServices"); n == 0 {
			t.Errorf("the dry run never reached the fake (no DescribeServices)\n%s", out)
		}
		if m := w.mutations(); len(m) != 0 {
			t.Errorf("the dry run changed things: %v", m)
		}
	})
}

// emptyRootWith makes a directory that holds only the binary, at
// /ecs-registry-rotate as in the image, and the host's CA bundle. It skips
// the test when chroot cannot be used here.
func emptyRootWith(t *testing.T, bin string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipMissing(t, "skipping the empty-root runs: chroot needs root (run the tests as root, as .ci/run does under sudo)")
	}
	bundle, err := os.ReadFile(caBundle)
	if err != nil {
		testenv.SkipMissing(t, "skipping the empty-root runs: no CA bundle to copy (%v); Debian's ca-certificates package has it", err)
	}
	root := t.TempDir()
	// The root must be traversable by the process once it is inside.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "ecs-registry-rotate"), binary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(caBundle)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, caBundle), bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// chrootCommand runs /ecs-registry-rotate inside root with only env (the
// house rule's fake credentials when env is nil): nothing of the host's
// environment reaches it, as nothing reaches a container.
func chrootCommand(t *testing.T, root string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	if env == nil {
		env = []string{
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_ACCESS_KEY_ID=" + testenv.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + testenv.SecretAccessKey,
			"AWS_REGION=us-east-1",
		}
	}
	cmd := exec.Command("/ecs-registry-rotate", args...)
	cmd.Path = "/ecs-registry-rotate" // resolved inside the root, not on the host's PATH
	cmd.Dir = "/"
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	return cmd
}

// skipIfChrootDenied skips when the kernel refused the chroot itself (a
// container without CAP_SYS_CHROOT), which says nothing about the binary.
func skipIfChrootDenied(t *testing.T, err error) {
	t.Helper()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && errors.Is(err, syscall.EPERM) {
		testenv.SkipMissing(t, "skipping the empty-root run: chroot is not permitted here (%v)", err)
	}
}
