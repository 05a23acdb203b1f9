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
	if names := run.uncertainInstances(); len(names) > 0 {
		parts = append(parts, fmt.Sprintf("instances %s may have had their ecs.config rewritten: the run stopped while their command ran", strings.Join(names, ", ")))
	}
	if len(run.Deployments) > 0 {
		names := make([]string, len(run.Deployments))
		for i, d := range run.Deployments {
			names[i] = d.Service
		}
		parts = append(parts, fmt.Sprintf("services %s were redeployed", strings.Join(names, ", ")))
	}
	if rb := run.Rollback; rb != nil && rb.Secret != nil && rb.Err == nil {
		parts = append(parts, fmt.Sprintf("then the rollback made version %s AWSCURRENT again and redeployed the services", rb.Secret.VersionID))
	} else if rb != nil {
		parts = append(parts, "then the rollback stopped: "+rb.state())
	}
	if len(parts) == 0 {
		return "nothing was changed"
	}
	return strings.Join(parts, "; ")
}

// Changed reports whether the run changed anything in AWS, or may have.
func (run Run) Changed() bool { return run.Changes() != "nothing was changed" }

func (run Run) uncertainInstances() []string {
	var names []string
	for _, in := range run.Instances {
		if in.MaybeChanged && !in.FileChanged {
			names = append(names, in.EC2InstanceID)
		}
	}
	return names
}

func (run Run) changedInstances() []string {
	var names []string
	for _, in := range run.Instances {
		if in.FileChanged || in.Status == "restored" {
			names = append(names, in.EC2InstanceID)
		}
	}
	return names
}

// rollbackState says where a rollback left each resource, for the
// annotation: which version is current, which services run what.
func (rb Rollback) state() string {
	var parts []string
	if s := rb.Secret; s != nil {
		switch {
		case s.Unknown:
			parts = append(parts, fmt.Sprintf("secret %s: which version is AWSCURRENT could not be read back", s.Name))
		default:
			parts = append(parts, fmt.Sprintf("secret %s: AWSCURRENT is version %s", s.Name, s.VersionID))
		}
	}
	if rb.Watch != nil {
		for _, sv := range rb.Watch.Services {
			parts = append(parts, fmt.Sprintf("service %s runs deployment %s (%s, %d/%d running)", sv.Service, sv.DeploymentID, sv.State, sv.RunningCount, sv.DesiredCount))
		}
	} else if len(rb.Deployments) > 0 {
		names := make([]string, len(rb.Deployments))
		for i, d := range rb.Deployments {
			names[i] = d.Service + " (" + d.DeploymentID + ")"
		}
		parts = append(parts, "services redeployed on the previous credentials, not waited for: "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}
