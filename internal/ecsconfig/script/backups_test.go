package script_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// TestPruneBackups: apply keeps the newest two backups (this run's
// included) with their state files, deletes the older ones, their state
// files and state files without a backup, and leaves files that are not
// its own alone; every mode names the newest other run as prior.
func TestPruneBackups(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	const (
		r1, r2, r3 = "20240101t000000-aaaaaaaa", "20240102t000000-bbbbbbbb", "20240103t000000-cccccccc"
		orphan     = "20231231t000000-eeeeeeee"
		this       = "20240104t000000-dddddddd"
	)
	for _, run := range []string{r1, r2, r3} {
		for _, p := range []string{backupFile(in, run), stateFile(in, run)} {
			if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	foreign := []string{in.cfg + ".ecs-registry-rotate-NOT_OURS.bak", in.cfg + ".rpmsave", filepath.Join(in.dir, "notes.txt")}
	for _, p := range append([]string{stateFile(in, orphan)}, foreign...) {
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pl := payload(t, "dockercfg", hubKey, cred{"u", "prune-pass"}, true)

	pre := applyParams(this, script.InitSystemd, pl)
	pre.Mode = script.ModePreflight
	r := in.run(pre)
	if !r.res.OK || r.res.Prior != r3 || r.res.Backup != backupFile(in, this) || r.res.Pruned != 0 {
		t.Errorf("preflight: %+v\n%s", r.res, r.stdout)
	}

	r = in.run(applyParams(this, script.InitSystemd, pl))
	if !r.res.OK || r.res.Pruned != 2 || r.res.Prior != r3 || r.res.Backup != backupFile(in, this) {
		t.Fatalf("apply: %+v\n%s%s", r.res, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, " pruned=2") || !strings.Contains(r.stdout, " prior="+r3) {
		t.Errorf("ok line: %s", r.stdout)
	}
	var got []string
	entries, _ := os.ReadDir(in.dir)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{lockName, "ecs.config", filepath.Base(backupFile(in, r3)), filepath.Base(stateFile(in, r3)),
		filepath.Base(backupFile(in, this)), filepath.Base(stateFile(in, this))}
	for _, p := range foreign {
		want = append(want, filepath.Base(p))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files\n got %q\nwant %q", got, want)
	}

	// A run that writes nothing takes no backup: the newest two stay.
	next := "20240105t000000-ffffffff"
	r = in.run(applyParams(next, script.InitSystemd, pl))
	if !r.res.OK || r.res.File != script.FileUnchanged || r.res.Pruned != 0 || r.res.Prior != this {
		t.Errorf("next run: %+v", r.res)
	}
	// A run that writes keeps its own and the newest other.
	in.write(fileWithVars, 0o644)
	last := "20240106t000000-00000000"
	if r = in.run(applyParams(last, script.InitSystemd, pl)); !r.res.OK || r.res.Pruned != 1 || r.res.Prior != this {
		t.Errorf("last run: %+v", r.res)
	}
	if _, err := os.Stat(backupFile(in, r3)); !os.IsNotExist(err) {
		t.Errorf("%s kept: %v", r3, err)
	}
	if r = in.run(rollbackParams(this, script.InitSystemd)); !r.res.OK || r.res.Prior != last || r.res.File != script.FileRestored {
		t.Errorf("rollback: %+v\n%s%s", r.res, r.stdout, r.stderr)
	}
}

// TestBackupPathField: backup= names the real file behind a symlinked
// config, encoded so that a blank does not split the ok line.
func TestBackupPathField(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	realDir := filepath.Join(filepath.Dir(in.dir), "real dir%")
	if err := os.Mkdir(realDir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(realDir, "ecs config")
	if err := os.WriteFile(target, []byte(fileWithVars), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, in.cfg); err != nil {
		t.Fatal(err)
	}
	pl := payload(t, "dockercfg", hubKey, cred{"u", "path-pass"}, true)
	r := in.run(applyParams(runID, script.InitSystemd, pl))
	want := target + ".ecs-registry-rotate-" + runID + ".bak"
	if !r.res.OK || r.res.Backup != want {
		t.Fatalf("%+v, want backup %q\n%s%s", r.res, want, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "real dir") {
		t.Errorf("a blank in the ok line: %s", r.stdout)
	}
	if _, err := os.Stat(want); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(realDir, lockName)); err != nil {
		t.Errorf("no lock next to the real file: %v", err)
	}
}

func TestParseResultFields(t *testing.T) {
	r := script.ParseResult("ecs-registry-rotate: ok mode=apply file=updated agent=restarted written=1 prior=20240103t000000-cccccccc "+
		"backup=/etc/ecs/my%20dir/ecs.config.ecs-registry-rotate-r.bak pruned=3\n", "")
	if !r.OK || r.Prior != "20240103t000000-cccccccc" || r.Backup != "/etc/ecs/my dir/ecs.config.ecs-registry-rotate-r.bak" || r.Pruned != 3 {
		t.Errorf("%+v", r)
	}
	if r = script.ParseResult("ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted prior=- backup=/b\n", ""); r.Prior != "" || r.Backup != "/b" {
		t.Errorf("%+v", r)
	}
}
