package script_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// TestNoFlock: on an instance without flock (util-linux) the script cannot
// keep a second delivery of its command out, so every mode stops before it
// reads or changes anything, with code "locked" and a message that names
// flock: ecs.config, its backup and state stay as they were and the agent
// is not restarted.
func TestNoFlock(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	// An apply with flock leaves a backup, so that a rollback has one.
	if r := in.run(applyParams(runID, script.InitSystemd, payload(t, "dockercfg", hubKey, cred{"u", "first-pass"}, true))); !r.res.OK {
		t.Fatalf("apply with flock: %+v\n%s%s", r.res, r.stdout, r.stderr)
	}
	// newInstance links scriptTools into sysbin, next to the config's directory.
	if err := os.Remove(filepath.Join(filepath.Dir(in.dir), "sysbin", "flock")); err != nil {
		t.Fatal(err)
	}
	in.clearLog()
	state := in.dirState()
	pl := payload(t, "dockercfg", hubKey, cred{"u", "second-pass"}, true)
	preflight := applyParams(runID, script.InitSystemd, pl)
	preflight.Mode = script.ModePreflight
	for _, p := range []script.Params{
		preflight,
		applyParams(runID, script.InitSystemd, pl),
		applyParams("run-2", script.InitSystemd, pl),
		rollbackParams(runID, script.InitSystemd),
	} {
		r := in.run(p)
		// The message names flock as the tool, not only in a path.
		if r.res.OK || r.res.Code != script.CodeLocked || !strings.Contains(strings.ReplaceAll(r.res.Message, in.dir, ""), "flock") {
			t.Errorf("%s of %s: %+v, want %s naming flock\n%s%s", p.Mode, p.RunID, r.res, script.CodeLocked, r.stdout, r.stderr)
		}
		if got := in.dirState(); got != state {
			t.Errorf("%s of %s changed the config's directory:\n%s\nwant:\n%s", p.Mode, p.RunID, got, state)
		}
		if len(in.restarts()) > 0 {
			t.Errorf("%s of %s restarted the agent: %v", p.Mode, p.RunID, in.restarts())
		}
	}
}
