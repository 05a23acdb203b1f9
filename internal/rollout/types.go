// Package rollout forces new deployments of ECS services and watches them,
// together, until each is done or one of their tasks proves the credentials wrong.
package rollout

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS is the part of the ECS API the rollout calls; *ecs.Client satisfies it.
type ECS interface {
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// Target is one service to roll.
type Target struct {
	// DeploymentConfiguration is the service's current one, from the plan: an
	// UpdateService that sets minimumHealthyPercent sends it whole so that
	// nothing else in it changes.
	DeploymentConfiguration *ecstypes.DeploymentConfiguration
	Cluster                 string // cluster ARN
	Service                 string // service name
	ServiceArn              string
	// KnownDeployments are the ids of the service's deployments before
	// Deploy: after an UpdateService whose answer was lost, a PRIMARY
	// deployment that is none of them is the one the call started. The
	// Deployments Deploy returns add the one each started, so that a
	// redeploy from them (the rollback's) knows it too. nil: not known, and
	// a call whose answer was lost is sent again, which may start a second
	// deployment.
	KnownDeployments []string
}

// DeployOptions shape the UpdateService calls.
type DeployOptions struct {
	MinimumHealthyPercent *int32 // nil leaves the service's value alone
	// Pacer paces the calls under ECS's UpdateService limit. A run gives
	// the same one (NewPacer) to each of its Deploy calls; nil uses the
	// process's, shared by every Deploy that passes nil.
	Pacer *Pacer
	// Log, when set, is given one line before the first call when pacing
	// will make the calls take more than 5 seconds, saying how long.
	Log func(string)
}

// Deployment is a deployment that Deploy started and Watch follows by its id.
type Deployment struct {
	Target
	DeploymentID   string // ecs-svc/..., from UpdateService's response
	TaskDefinition string
	DesiredCount   int32
	StartedAt      time.Time
}

// State is where one service's new deployment stands.
type State string

const (
	StateInProgress State = "in-progress" // still rolling (or not waited for)
	StateSucceeded  State = "succeeded"   // COMPLETED, no task with a pull error
	StateFailed     State = "failed"      // a failed task (fail-fast), FAILED rollout, or the deployment vanished
	StateTimedOut   State = "timed-out"
	StateCancelled  State = "cancelled"
)

// ServiceResult is one service's line in the `services` output; the fields
// without JSON names feed the log and the summary.
type ServiceResult struct {
	Service      string `json:"service"`
	Cluster      string `json:"cluster"`
	DeploymentID string `json:"deploymentId"`
	RolloutState string `json:"rolloutState"`
	DesiredCount int32  `json:"desiredCount"`
	RunningCount int32  `json:"runningCount"`
	FailedTasks  int32  `json:"failedTasks"`

	PendingCount       int32         `json:"-"`
	RolloutStateReason string        `json:"-"`
	State              State         `json:"-"`
	Reason             string        `json:"-"` // why State is what it is, in a sentence
	Elapsed            time.Duration `json:"-"` // since the deployment started
	RecentEvents       []string      `json:"-"` // the newest service events that report trouble
}

// Kind classifies a task of the new deployment.
type Kind string

const (
	KindRunning      Kind = "running"
	KindPending      Kind = "pending"
	KindPullFailed   Kind = "pull-failed"   // stopped: CannotPull*Error
	KindSecretFailed Kind = "secret-failed" // stopped: the registry secret could not be read
	KindStaleImage   Kind = "stale-image"   // RUNNING on a cached image, its pull failed
	KindOtherFailure Kind = "other-failure" // stopped for another reason (exit code, health check, ...)
	KindStopped      Kind = "stopped"       // stopped on purpose (scaling, deployment), not a failure
)

// FailedTask is one entry of the `failed-tasks` output.
type FailedTask struct {
	Service       string            `json:"service"`
	TaskArn       string            `json:"taskArn"`
	LastStatus    string            `json:"lastStatus"`
	StopCode      string            `json:"stopCode"`
	StoppedReason string            `json:"stoppedReason"`
	Containers    []FailedContainer `json:"containers"`

	Kind Kind `json:"-"`
}

// FailedContainer is a container of a failed task, with ECS's own reason.
type FailedContainer struct {
	Name     string `json:"name"`
	Image    string `json:"image"`
	Reason   string `json:"reason"`
	ExitCode *int32 `json:"exitCode"`
}

// WatchOptions control the wait.
type WatchOptions struct {
	Timeout      time.Duration
	PollInterval time.Duration
	FailFast     bool
	// Once looks a single time and reports what it saw: deployments still
	// rolling stay StateInProgress. A run that does not wait uses it to check
	// deployments an earlier run started.
	Once bool
	// OnChange is called (from the watching goroutine) whenever a service's
	// counts or state change, not on every poll.
	OnChange func(ServiceResult)
}

// Result is what the watch saw, for the report.
type Result struct {
	Services    []ServiceResult // in the order of the deployments given
	FailedTasks []FailedTask
	Polls       int
}
