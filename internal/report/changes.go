package report

import (
	"fmt"
	"strings"
)

// Changes says, in one sentence a person can act on, what the run changed
// in AWS: each resource by name. It is true also for a run that failed or was
// cancelled half-way, which is when it matters.
func (run Run) Changes() string {
	var parts []string
	if s := run.Secret; s != nil {
		switch {
		case s.Unknown:
			parts = append(parts, fmt.Sprintf("secret %s may have been written: the write was sent, but its outcome could not be learned (list the secret's versions to see)", s.Name))
		case s.Changed:
			parts = append(parts, fmt.Sprintf("secret %s now holds version %s (AWSCURRENT; version %s is AWSPREVIOUS)", s.Name, s.VersionID, s.PreviousVersionID))
		}
	}
	if names := run.changedInstances(); len(names) > 0 {
		parts = append(parts, fmt.Sprintf("instances %s had their ecs.config rewritten or their agent restarted", strings.Join(names, ", ")))
	}
	if len(run.Deployments) > 0 {
		names := make([]string, len(run.Deployments))
		for i, d := range run.Deployments {
			names[i] = d.Service
		}
		parts = append(parts, fmt.Sprintf("services %s were redeployed", strings.Join(names, ", ")))
	}
	if len(parts) == 0 {
		return "nothing was changed"
	}
	return strings.Join(parts, "; ")
}

// Changed reports whether the run changed anything in AWS, or may have.
func (run Run) Changed() bool { return run.Changes() != "nothing was changed" }

func (run Run) changedInstances() []string {
	var names []string
	for _, in := range run.Instances {
		if in.Status == "updated" || in.Status == "restored" || (in.Status == "failed" && in.CommandID != "") {
			names = append(names, in.EC2InstanceID)
		}
	}
	return names
}
