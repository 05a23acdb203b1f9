package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// Changes says, in one sentence a person can act on, what the run changed
// in AWS: each resource by name. It is true also for a run that failed or was
// cancelled half-way, which is when it matters.
func (run Run) Changes() string {
	parts := run.stored().changes()
	if len(run.Deployments) > 0 {
		parts = append(parts, fmt.Sprintf("services %s were redeployed", strings.Join(deployedNames(run.Deployments), ", ")))
	}
	if rb := run.Rollback; rb != nil {
		if restored, ok := run.stored().restored(); ok && rb.Err == nil {
			parts = append(parts, restored)
		} else {
			parts = append(parts, "then the rollback stopped: "+run.rollbackState())
		}
	}
	if len(parts) == 0 {
		return "nothing was changed"
	}
	return strings.Join(parts, "; ")
}

// Changed reports whether the run changed anything in AWS, or may have.
func (run Run) Changed() bool { return run.Changes() != "nothing was changed" }

// rollbackState says where a rollback left each resource, for the
// annotation: which version is current, which services run what.
func (run Run) rollbackState() string {
	rb := run.Rollback
	parts := run.stored().rollbackState()
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

// deployedNames name the services deployed, as cluster/service when they
// are of several clusters.
func deployedNames(deployments []rollout.Deployment) []string {
	names := make([]string, len(deployments))
	several := slices.ContainsFunc(deployments, func(d rollout.Deployment) bool {
		return awsname.Short(d.Cluster) != awsname.Short(deployments[0].Cluster)
	})
	for i, d := range deployments {
		names[i] = d.Service
		if several {
			names[i] = awsname.Short(d.Cluster) + "/" + d.Service
		}
	}
	return names
}
