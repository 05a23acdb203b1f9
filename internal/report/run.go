package report

import (
	"errors"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// Result values of the `result` output.
const (
	ResultSuccess    = "success"
	ResultFailed     = "failed"
	ResultRolledBack = "rolled-back"
	ResultUnchanged  = "unchanged"
	ResultDryRun     = "dry-run"
)

// Run is everything one run did, as the report renders it. Fields stay nil
// or empty for steps that did not happen.
type Run struct {
	Result      string
	Mode        string
	Cluster     string // as given
	Plan        *plan.Plan
	Verify      []verify.ImageResult
	Store       Stored // what the run did to the store of credentials
	Deployments []rollout.Deployment
	Watch       *rollout.Result
	Failure     *Failure
	Rollback    *Rollback // set when a failed rollout was rolled back
	// BadInput: the run stopped before any change on what the plan found
	// wrong with an input (max-services, a service name two clusters
	// have): the exit status is bad input's.
	BadInput bool
}

// Rollback is what rollback-on-failure did after the rollout failed; what it
// did to the store, the store's part of the run (Run.Store) says.
type Rollback struct {
	Deployments []rollout.Deployment
	Watch       *rollout.Result
	Err         error // where the rollback itself stopped; nil when it finished
}

// Instance is one entry of the `instances` output: a container instance and
// its own outcome.
type Instance struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	EC2InstanceID        string `json:"ec2InstanceId"`
	CommandID            string `json:"commandId"`
	Status               string `json:"status"` // updated, unchanged, failed, skipped, restored
	AgentReconnected     bool   `json:"agentReconnected"`

	FileChanged  bool   `json:"-"` // its ecs.config was rewritten, whatever its status
	MaybeChanged bool   `json:"-"` // the run stopped while its command ran: it may have been rewritten
	Detail       string `json:"-"` // why it failed or was skipped; may quote the instance's output
}

// ErrNotRolledOut is the rollout failure whose causes the services'
// own annotations give.
var ErrNotRolledOut = errors.New("did not roll out on the new credentials")

// Failure is the step that failed and why.
type Failure struct {
	Step     string // "plan", "verify", "update secret", "deploy", "rollout", "cancelled"
	Resource string
	Err      error
}

// services is the `services` output: what the watch saw, or, when it did not
// run, the deployments started or planned.
func (run Run) services() []rollout.ServiceResult {
	if run.Watch != nil {
		return run.Watch.Services
	}
	if len(run.Deployments) > 0 {
		results := make([]rollout.ServiceResult, 0, len(run.Deployments))
		for _, d := range run.Deployments {
			results = append(results, rollout.ServiceResult{
				Service: d.Service, Cluster: d.Cluster, DeploymentID: d.DeploymentID,
				RolloutState: "IN_PROGRESS", DesiredCount: d.DesiredCount, State: rollout.StateInProgress,
			})
		}
		return results
	}
	if run.Plan == nil {
		return []rollout.ServiceResult{}
	}
	results := make([]rollout.ServiceResult, 0, len(run.Plan.Services))
	for _, s := range run.Plan.Services {
		results = append(results, rollout.ServiceResult{
			Service: s.Name, Cluster: s.ClusterARN,
			DesiredCount: s.DesiredCount, RunningCount: s.RunningCount,
		})
	}
	return results
}

func (run Run) failedTasks() []rollout.FailedTask {
	if run.Watch == nil || run.Watch.FailedTasks == nil {
		return []rollout.FailedTask{}
	}
	return run.Watch.FailedTasks
}
