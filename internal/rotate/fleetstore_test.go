package rotate

import (
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
)

// A cancelled run's by-hand restore names each instance's own backup and
// config: where /etc/ecs/ecs.config is a symlink, the file the backup sits
// beside is its target, which may differ from one instance to the next.
// An instance whose backup is unknown (stopped mid-command) gets the
// default path; one the run never changed is not named.
func TestUndoByHandNamesEachInstancesRealPath(t *testing.T) {
	const run = "20261206t101010-0a1b2c3d"
	suffix := ".ecs-registry-rotate-" + run + ".bak"
	f := &fleetStore{env: env{runID: run}, out: &report.FleetStored{}}
	for _, in := range []struct {
		id, backup     string
		changed, maybe bool
	}{
		{"i-1", "/var/lib/ecs/ecs.config" + suffix, true, false},
		{"i-2", "/etc/ecs/ecs.config" + suffix, true, false},
		{"i-3", "/var/lib/ecs/ecs.config" + suffix, true, false},
		{"i-4", "", false, true},
		{"i-5", "/etc/ecs/ecs.config.ecs-registry-rotate-another-run.bak", false, false},
	} {
		f.res.Instances = append(f.res.Instances, ecsconfig.Outcome{Instance: ecsconfig.Instance{EC2InstanceID: in.id}, Backup: in.backup})
		f.out.Instances = append(f.out.Instances, report.Instance{EC2InstanceID: in.id, FileChanged: in.changed, MaybeChanged: in.maybe})
	}
	got := f.undoByHand(nil, nil)
	for _, want := range []string{
		"on instances i-1, i-3, where /var/lib/ecs/ecs.config" + suffix + " exists, copy it over /var/lib/ecs/ecs.config",
		"on instances i-2, i-4, where /etc/ecs/ecs.config" + suffix + " exists, copy it over /etc/ecs/ecs.config ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the by-hand text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "i-5") {
		t.Errorf("names an instance this run did not change:\n%s", got)
	}
	f.out.Instances = nil
	if got := f.undoByHand(nil, nil); got != "" {
		t.Errorf("nothing changed, yet: %q", got)
	}
}
