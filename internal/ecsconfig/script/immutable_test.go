package script_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// stubLsattr puts an lsattr on the instance's PATH that prints flags for
// the paths in attrs, as e2fsprogs' lsattr -d prints them, and plain
// flags for any other path.
func (in *instance) stubLsattr(attrs map[string]string) {
	in.t.Helper()
	body := "#!" + in.bash + "\nfor a in \"$@\"; do case $a in -*) ;; *) p=$a ;; esac; done\ncase $p in\n"
	for path, flags := range attrs {
		body += shellWord(path) + ") printf '%s %s\\n' " + shellWord(flags) + " \"$p\" ;;\n"
	}
	body += "*) printf '%s %s\\n' --------------e------- \"$p\" ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(in.stubs, "lsattr"), []byte(body), 0o755); err != nil {
		in.t.Fatal(err)
	}
}

// TestConfigImmutable: preflight and apply refuse a config, or a config
// directory, that lsattr shows immutable or append-only (chattr +i, +a),
// naming it, before anything is written.
func TestConfigImmutable(t *testing.T) {
	f := newFakeAWS(t)
	pl := payload(t, "dockercfg", hubKey, cred{"u", "immutable-pass"}, true)
	for _, c := range []struct {
		name  string
		attrs func(in *instance) map[string]string
		named func(in *instance) string
		code  string
	}{
		{"file-immutable", func(in *instance) map[string]string { return map[string]string{in.cfg: "----i---------e-------"} },
			func(in *instance) string { return in.cfg }, script.CodeConfigImmutable},
		{"file-append-only", func(in *instance) map[string]string { return map[string]string{in.cfg: "-----a--------e-------"} },
			func(in *instance) string { return in.cfg }, script.CodeConfigImmutable},
		{"dir-immutable", func(in *instance) map[string]string { return map[string]string{in.dir: "----i---------e-------"} },
			func(in *instance) string { return in.dir }, script.CodeConfigImmutable},
		{"plain", func(in *instance) map[string]string { return nil }, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := newInstance(t, f, script.InitSystemd, anyAwk())
			in.write(fileWithVars, 0o644)
			in.stubLsattr(c.attrs(in))
			for _, mode := range []string{script.ModePreflight, script.ModeApply} {
				p := applyParams(runID, script.InitSystemd, pl)
				p.Mode = mode
				state := in.dirState()
				r := in.run(p)
				if c.code == "" {
					if !r.res.OK {
						t.Errorf("%s: %+v\n%s%s", mode, r.res, r.stdout, r.stderr)
					}
					continue
				}
				if r.res.Code != c.code || !strings.Contains(r.res.Message, c.named(in)) {
					t.Errorf("%s: %+v, want %s naming %s", mode, r.res, c.code, c.named(in))
				}
				if got := in.dirState(); got != state || len(in.restarts()) > 0 {
					t.Errorf("%s changed the directory or restarted", mode)
				}
			}
		})
	}
}

// TestConfigImmutableReal: with the real chattr (root on a file system
// that has the attributes), an immutable config is found by the real
// lsattr; with no lsattr at all, an append-only directory is found by the
// rename probe and an immutable or append-only config by the link probe.
func TestConfigImmutableReal(t *testing.T) {
	chattr, err1 := exec.LookPath("chattr")
	lsattr, err2 := exec.LookPath("lsattr")
	if err1 != nil || err2 != nil || os.Getuid() != 0 {
		t.Skip("needs root, chattr and lsattr")
	}
	f := newFakeAWS(t)
	pl := payload(t, "dockercfg", hubKey, cred{"u", "chattr-pass"}, true)
	for _, c := range []struct {
		name, flag string
		target     func(in *instance) string
		lsattr     bool
	}{
		{"file-immutable-lsattr", "+i", func(in *instance) string { return in.cfg }, true},
		{"dir-immutable-lsattr", "+i", func(in *instance) string { return in.dir }, true},
		{"dir-append-only-probe", "+a", func(in *instance) string { return in.dir }, false},
		{"file-immutable-probe", "+i", func(in *instance) string { return in.cfg }, false},
		{"file-append-only-probe", "+a", func(in *instance) string { return in.cfg }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := newInstance(t, f, script.InitSystemd, anyAwk())
			in.write(fileWithVars, 0o644)
			target := c.target(in)
			if out, err := exec.Command(chattr, c.flag, target).CombinedOutput(); err != nil {
				t.Skipf("chattr %s: %v %s", c.flag, err, out)
			}
			t.Cleanup(func() { _ = exec.Command(chattr, "-i", "-a", target).Run() })
			if c.lsattr {
				if err := os.Symlink(lsattr, filepath.Join(in.stubs, "lsattr")); err != nil {
					t.Fatal(err)
				}
			}
			p := applyParams(runID, script.InitSystemd, pl)
			r := in.run(p)
			if r.res.Code != script.CodeConfigImmutable || !strings.Contains(r.res.Message, target) {
				t.Errorf("%+v\n%s%s", r.res, r.stdout, r.stderr)
			}
			if got := in.read(); string(got) != fileWithVars {
				t.Errorf("the config changed: %q", got)
			}
			if _, err := os.Stat(backupFile(in, runID)); !os.IsNotExist(err) {
				t.Errorf("a backup was written: %v", err)
			}
		})
	}
}
