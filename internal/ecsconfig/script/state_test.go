package script_test

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

func backupFile(in *instance, run string) string {
	return in.cfg + ".ecs-registry-rotate-" + run + ".bak"
}
func stateFile(in *instance, run string) string {
	return in.cfg + ".ecs-registry-rotate-" + run + ".state"
}

func applyParams(run, init string, pl string) script.Params {
	return script.Params{Mode: script.ModeApply, RunID: run, Transport: script.TransportInline, InlineB64: b64(pl),
		AuthType: "dockercfg", RegistryKey: hubKey, Init: init, Restart: true}
}

func rollbackParams(run, init string) script.Params {
	return script.Params{Mode: script.ModeRollback, RunID: run, Init: init, Restart: true}
}

// hex64 is what a printed checksum would look like.
var hex64 = regexp.MustCompile(`[0-9a-f]{64}`)

// TestRerunSameRun: each mode delivered twice (SSM may) lands once: the
// second apply reports the run's own write (updated), takes no new backup
// and does not restart an agent restarted since; the second rollback
// reports the restore and does not restart again. Upstart included, where
// systemd's start time is not there to tell.
func TestRerunSameRun(t *testing.T) {
	f := newFakeAWS(t)
	for _, init := range []string{script.InitSystemd, script.InitUpstart} {
		t.Run(init, func(t *testing.T) {
			in := newInstance(t, f, init, anyAwk())
			in.write(fileWithVars, 0o644)
			pl := payload(t, "dockercfg", hubKey, cred{"u", "rerun-pass"}, true)
			for _, c := range []struct {
				p    script.Params
				file string
			}{{applyParams(runID, init, pl), script.FileUpdated}, {rollbackParams(runID, init), script.FileRestored}} {
				in.clearLog()
				if r := in.run(c.p); r.res.File != c.file || r.res.Agent != script.AgentRestarted || len(in.restarts()) == 0 {
					t.Fatalf("first %s: %+v %v\n%s%s", c.p.Mode, r.res, in.restarts(), r.stdout, r.stderr)
				}
				in.clearLog()
				state := in.dirState()
				r := in.run(c.p)
				if !r.res.OK || r.res.File != c.file || r.res.Agent != script.AgentRestartNotNeeded {
					t.Errorf("second %s: %+v\n%s%s", c.p.Mode, r.res, r.stdout, r.stderr)
				}
				if len(in.restarts()) > 0 {
					t.Errorf("second %s restarted: %v", c.p.Mode, in.restarts())
				}
				if got := in.dirState(); got != state {
					t.Errorf("second %s changed the directory:\n%s\n%s", c.p.Mode, state, got)
				}
			}
			if got := in.read(); string(got) != fileWithVars {
				t.Errorf("after rollback: %q", got)
			}
		})
	}
}

// TestBackupOwnerModeAndRestore: the backup is 0600 with the original's
// owner whatever the config's mode; rollback gives the config back the
// original's mode and owner, even when they changed since.
func TestBackupOwnerModeAndRestore(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	uid0, gid0 := os.Getuid(), os.Getgid()
	if uid0 == 0 {
		// As root, give the config an owner that is not the script's.
		uid0, gid0 = 1234, 5678
		if err := os.Chown(in.cfg, uid0, gid0); err != nil {
			t.Fatal(err)
		}
	}
	pl := payload(t, "dockercfg", hubKey, cred{"u", "owner-pass"}, true)
	if r := in.run(applyParams(runID, script.InitSystemd, pl)); r.res.File != script.FileUpdated {
		t.Fatalf("%+v\n%s%s", r.res, r.stdout, r.stderr)
	}
	if mode, uid, gid := fileMode(t, backupFile(in, runID)); mode != 0o600 || int(uid) != uid0 || int(gid) != gid0 {
		t.Errorf("backup %v %d:%d, want 0600 %d:%d", mode, uid, gid, uid0, gid0)
	}
	if mode, uid, gid := fileMode(t, in.cfg); mode != 0o644 || int(uid) != uid0 || int(gid) != gid0 {
		t.Errorf("config %v %d:%d, want 0644 %d:%d", mode, uid, gid, uid0, gid0)
	}
	// Someone changes the config's mode (and, as root, owner) since.
	_ = os.Chmod(in.cfg, 0o600)
	if os.Getuid() == 0 {
		_ = os.Chown(in.cfg, 0, 0)
	}
	r := in.run(rollbackParams(runID, script.InitSystemd))
	if r.res.File != script.FileRestored {
		t.Fatalf("%+v\n%s%s", r.res, r.stdout, r.stderr)
	}
	if mode, uid, gid := fileMode(t, in.cfg); mode != 0o644 || int(uid) != uid0 || int(gid) != gid0 {
		t.Errorf("restored config %v %d:%d, want 0644 %d:%d", mode, uid, gid, uid0, gid0)
	}
	if got := in.read(); string(got) != fileWithVars {
		t.Errorf("restored %q", got)
	}
}

// TestBackupWrittenOnce: a later apply of the same run, after a rollback
// and someone else's edit, keeps the first backup.
func TestBackupWrittenOnce(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	pl := payload(t, "dockercfg", hubKey, cred{"u", "once-pass"}, true)
	for _, p := range []script.Params{applyParams(runID, script.InitSystemd, pl), rollbackParams(runID, script.InitSystemd)} {
		if r := in.run(p); !r.res.OK {
			t.Fatalf("%+v", r.res)
		}
	}
	in.write(fileWithVars+"\nECS_LOGLEVEL=debug\n", 0o644)
	r := in.run(applyParams(runID, script.InitSystemd, pl))
	if r.res.File != script.FileUpdated {
		t.Fatalf("%+v", r.res)
	}
	if b, _ := os.ReadFile(backupFile(in, runID)); string(b) != fileWithVars {
		t.Errorf("the backup was overwritten: %q", b)
	}
}

// TestBackupMismatch: rollback refuses a backup that is not the file it
// was taken from, or whose checksum was never recorded, and prints no
// checksum.
func TestBackupMismatch(t *testing.T) {
	f := newFakeAWS(t)
	for name, spoil := range map[string]func(in *instance){
		"edited": func(in *instance) {
			b, _ := os.ReadFile(backupFile(in, runID))
			_ = os.WriteFile(backupFile(in, runID), bytes.Replace(b, []byte("prod-cluster"), []byte("prod-clustex"), 1), 0o600)
		},
		"state-missing": func(in *instance) { _ = os.Remove(stateFile(in, runID)) },
	} {
		t.Run(name, func(t *testing.T) {
			in := newInstance(t, f, script.InitSystemd, anyAwk())
			in.write(fileWithVars, 0o644)
			pl := payload(t, "dockercfg", hubKey, cred{"u", "mismatch-pass"}, true)
			if r := in.run(applyParams(runID, script.InitSystemd, pl)); !r.res.OK {
				t.Fatalf("%+v", r.res)
			}
			spoil(in)
			in.clearLog()
			state := in.dirState()
			r := in.run(rollbackParams(runID, script.InitSystemd))
			if r.res.Code != script.CodeBackupMismatch {
				t.Errorf("%+v\n%s%s", r.res, r.stdout, r.stderr)
			}
			if hex64.MatchString(r.stdout + r.stderr) {
				t.Errorf("the output holds a checksum:\n%s%s", r.stdout, r.stderr)
			}
			if got := in.dirState(); got != state || len(in.restarts()) > 0 {
				t.Errorf("changed or restarted: %v\n%s\n%s", in.restarts(), state, got)
			}
		})
	}
}
