package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// An instance that holds the backups of three earlier runs: the rotation
// keeps its own backup and the newest earlier one, deletes the other two
// (they hold old credentials) and says so, naming the instance; the
// instances without older backups are not named. Every backup left is
// 0600.
func TestECSConfigPrunesOlderBackups(t *testing.T) {
	t.Parallel() // each has a fake of its own; the instance scripts wait as much as they work
	w := newECSWorld(t)
	host := w.fake.RegistryHost()
	pruned := w.refs[1]
	older := []string{"20240101t000000-aaaaaaaa", "20240102t000000-bbbbbbbb", "20240103t000000-cccccccc"}
	backupOf := func(runID string) string { return pruned.ConfigPath + ".ecs-registry-rotate-" + runID + ".bak" }
	for _, id := range older {
		if err := os.WriteFile(backupOf(id), []byte(ecsConfigText(host, "older-"+id)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := w.configs(t)

	r := w.run(t, w.inputs())
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success", r.code, r.outputs["result"])
	}
	var said []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "older ecs.config backups") {
			said = append(said, line)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], pruned.InstanceID) || !strings.Contains(said[0], "deleted 2 older ecs.config backups") {
		t.Errorf("the log says %q, want one line that %s's 2 older backups were deleted:\n%s", said, pruned.InstanceID, r.stdout)
	}

	paths, err := filepath.Glob(pruned.ConfigPath + ".ecs-registry-rotate-*.bak")
	if err != nil {
		t.Fatal(err)
	}
	var mine string // this run's backup: the one not among the older
	for _, p := range paths {
		if !slices.ContainsFunc(older, func(id string) bool { return p == backupOf(id) }) {
			mine = p
		}
	}
	if len(paths) != 2 || !slices.Contains(paths, backupOf(older[2])) || mine == "" {
		t.Fatalf("backups left %q, want this run's and the newest earlier one (%s)", paths, older[2])
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != before[1] {
		t.Errorf("this run's backup %s does not hold the original ecs.config (%v)", mine, err)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	for i, ref := range w.refs {
		if i == 1 {
			continue
		}
		if b := w.backups(t, i); len(b) != 1 || b[0] != before[i] {
			t.Errorf("%s: backups %q, want only this run's", ref.InstanceID, b)
		}
	}
}
