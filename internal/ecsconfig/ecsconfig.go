// Package ecsconfig is the apply step of ecs-config mode: it carries the new
// auth data to the container instances (a run-scoped SecureString parameter,
// or inline), runs the embedded script through SSM Run Command (a read-only
// preflight on every instance, then the change in batches of at most a
// quarter of each cluster's fleet), and waits for every restarted ECS agent
// to connect again before the next batch starts. One run may change the
// instances of several clusters. Rollback puts the instances' backups back
// the same way.
package ecsconfig

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// SSM is the part of Systems Manager the step calls; *ssm.Client satisfies it.
type SSM interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
	CancelCommand(ctx context.Context, in *ssm.CancelCommandInput, optFns ...func(*ssm.Options)) (*ssm.CancelCommandOutput, error)
	ListCommands(ctx context.Context, in *ssm.ListCommandsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
	DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
}

// ECS is the part of ECS the step calls; *ecs.Client satisfies it.
type ECS interface {
	DescribeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
}

// Clients are what the step talks to.
type Clients struct {
	SSM SSM
	ECS ECS
}

// Instance is one container instance to change.
type Instance struct {
	ContainerInstanceARN string
	EC2InstanceID        string
	// Cluster is the instance's cluster, its ARN or name as the plan found
	// it: its agent is described there, and its batches take at most a
	// quarter of that cluster's fleet. "" is Options.Cluster. An ARN and a
	// name of the same cluster are one cluster. Outcomes carry it filled in.
	Cluster string
	Init    string // "systemd" (AL2, AL2023) or "upstart" (AL1)
	// BackupRunID is, for a rollback, the run whose backup is put back
	// when it is not this one: an earlier run that changed the instance
	// and that this one continues. "" is this run.
	BackupRunID string
}

// runID is the run id the instance's script is given: its backup's run.
func (i Instance) runID(own string) string {
	if i.BackupRunID != "" {
		return i.BackupRunID
	}
	return own
}

// Transport is how the auth data reaches the instances.
type Transport string

const (
	// TransportParameter puts the data in a SecureString parameter that lives
	// only during the run; the commands carry only its name.
	TransportParameter Transport = "parameter"
	// TransportInline puts base64(data) in the command itself, where
	// ssm:ListCommands shows it: the caller warns about it.
	TransportInline Transport = "inline"
)

// Status is an instance's own outcome, as the instances output names it.
type Status string

const (
	StatusUpdated   Status = "updated"   // the file was rewritten
	StatusUnchanged Status = "unchanged" // the file already held the credentials
	StatusFailed    Status = "failed"    // the instance's command or agent failed
	StatusSkipped   Status = "skipped"   // not reached: another instance failed, or the run stopped
	StatusRestored  Status = "restored"  // rolled back from its backup
)

// ParameterPrefix starts the name of every run's parameter:
// /ecs-registry-rotate/<run id>. The runner's role needs ssm:PutParameter and
// ssm:DeleteParameter on it, the instances' roles ssm:GetParameter.
const ParameterPrefix = "/ecs-registry-rotate/"

// MaxParameterValue is the largest value a Standard-tier parameter holds.
const MaxParameterValue = 4096

// Defaults for the zero values of Options.
const (
	DefaultPollInterval     = 5 * time.Second
	DefaultExecutionTimeout = 2 * time.Minute
	DefaultAgentTimeout     = 5 * time.Minute
)

// Options say what to write and how long to wait.
type Options struct {
	Cluster     string    // the cluster of the instances whose Instance.Cluster is ""
	RunID       string    // [a-z0-9-]{1,64}: names the parameter and each instance's backup
	Transport   Transport // "" is TransportParameter
	AuthType    string    // "dockercfg" or "docker"
	RegistryKey string    // the key in ECS_ENGINE_AUTH_DATA
	// Payload is the JSON object with one member, RegistryKey → the entry.
	// It holds the credential: it goes only into the parameter (or, inline,
	// the command) and never into an error or a log line.
	Payload []byte
	Restart bool // restart the ECS agent after the change (the restart-agent input)

	// Timeout bounds the whole of Apply or Rollback (0: only ctx does). Every
	// wait inside ends by then.
	Timeout time.Duration
	// Deadline is when the whole run has certainly ended: the parameter's
	// description names it, so that a later run deletes a parameter that a
	// killed run left. Zero: a day after Timeout.
	Deadline time.Time
	// ExecutionTimeout is each command's executionTimeout on the instance.
	ExecutionTimeout time.Duration
	// AgentTimeout bounds each wait for a batch's agents to connect again.
	AgentTimeout time.Duration
	PollInterval time.Duration
	// FleetSizes is, by cluster (ARN or name), the number of instances in
	// that cluster's fleet: a batch takes at most a quarter of it (at least
	// one instance). A cluster it does not name (or names with 0) counts
	// the instances given of it. Rollback is given only the changed
	// instances: pass the fleets' sizes to roll back in the same batches.
	FleetSizes map[string]int
	// FleetSize is the fleet's size when every instance is of one cluster
	// that FleetSizes does not name; with instances of several clusters it
	// is refused unless FleetSizes names each of them.
	FleetSize int

	Log func(line string) // progress lines; nil drops them. They hold no instance output.
	// Warn receives what a person should read though the step goes on (keys
	// that the rewrite makes live); nil sends it to Log. It may quote
	// instance output: neutralise it before printing.
	Warn func(line string)
	// Judge, when set, is given each instance's registry keys as the
	// preflight reports them after the rewrite (names only), and fails the
	// preflight, before any change, with the error it returns: the keys the
	// agent will choose among are known only there.
	Judge func(keys []string) error
	// Setting words an input with a value as the user sets it (under
	// Actions `name: value`, elsewhere `--name value`), for the hints;
	// nil is the Actions wording.
	Setting func(name, value string) string
	Now     func() time.Time // nil is time.Now
}

var runIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// ParameterName is the run's parameter.
func ParameterName(runID string) string { return ParameterPrefix + runID }

func (o Options) withDefaults() (Options, error) {
	if o.Transport == "" {
		o.Transport = TransportParameter
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.ExecutionTimeout <= 0 {
		o.ExecutionTimeout = DefaultExecutionTimeout
	}
	if o.AgentTimeout <= 0 {
		o.AgentTimeout = DefaultAgentTimeout
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Warn == nil {
		o.Warn = o.Log
	}
	if o.Setting == nil {
		o.Setting = func(name, value string) string { return "`" + name + ": " + value + "`" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if !runIDPattern.MatchString(o.RunID) {
		return o, fmt.Errorf("ecs-config: run id %q is not [a-z0-9-]{1,64}", o.RunID)
	}
	if o.Transport != TransportParameter && o.Transport != TransportInline {
		return o, fmt.Errorf("ecs-config: transport %q is neither %q nor %q", o.Transport, TransportParameter, TransportInline)
	}
	return o, nil
}

// Outcome is one instance's outcome.
type Outcome struct {
	Instance
	CommandID        string // the last command sent to it ("" when none was)
	Status           Status
	AgentReconnected bool   // its agent was seen connected after its command ended
	Agent            string // what the script did to the agent: restarted, not-restarted, restart-not-needed ("" unknown)
	// ErrorCode is the script's error code (config-missing, parameter-denied,
	// ...) when it reported one.
	ErrorCode string
	// Detail says why a failed or skipped instance is so. It may quote the
	// instance's own output, which is untrusted: neutralise it before printing.
	Detail string
	// ConfigWritten is when the instance's ecs.config was last written, by
	// its own clock (zero when unknown): tasks started before it pulled
	// with what the agent had loaded before.
	ConfigWritten time.Time
	// MaybeChanged is set when the run stopped while the instance's apply
	// or rollback command ran: its file may or may not have been rewritten.
	MaybeChanged bool
	// Hint says what to do about a failure, when there is something to say.
	Hint string
	// At is when the outcome was settled (Options.Now).
	At time.Time
	// PriorRunID is the run whose backup is the newest on the instance
	// other than this run's ("" none): the run this one continues when the
	// file already held the credentials.
	PriorRunID string
	// Backup is the path of this run's backup on the instance (through a
	// symlinked ecs.config), "" when unknown. Untrusted.
	Backup string
}

// Result is what a step did, instance by instance, in the order given.
type Result struct {
	Instances []Outcome
	// Parameter is the run's parameter when the step created one.
	Parameter        string
	ParameterDeleted bool
	// CleanupErr is set when the parameter could not be deleted: it holds the
	// credential until someone deletes it, and the caller must say so.
	CleanupErr error
	// PreflightCommandIDs are the preflight's commands.
	PreflightCommandIDs []string
}

// Count is how many instances have status s.
func (r Result) Count(s Status) int {
	n := 0
	for _, o := range r.Instances {
		if o.Status == s {
			n++
		}
	}
	return n
}

// Changed are the instances whose file holds a backup of this run to restore:
// updated ones, and failed ones whose file was written before the agent
// restart failed.
func (r Result) Changed() []Instance {
	var out []Instance
	for _, o := range r.Instances {
		if o.Status == StatusUpdated || (o.Status == StatusFailed && o.ErrorCode == script.CodeRestartFailed) {
			out = append(out, o.Instance)
		}
	}
	return out
}

// Continued are the instances an earlier run changed and this one found
// already holding the credentials, where that run stopped half-way: this
// run continues its rotation, and its rollback puts their backups back too
// (each with that run as its BackupRunID). finished says whether the
// rotation that wrote a file at the given time was finished (every
// service rolled after it): then the instance is not continued, for its
// backup holds credentials that a finished rotation replaced and may have
// revoked. Nil when this run changed no instance: a re-run of a finished
// rotation has nothing of its own to undo.
func (r Result) Continued(finished func(written time.Time) bool) []Instance {
	if len(r.Changed()) == 0 {
		return nil
	}
	var out []Instance
	for _, o := range r.Instances {
		if o.Status == StatusUnchanged && o.PriorRunID != "" && !finished(o.ConfigWritten) {
			inst := o.Instance
			inst.BackupRunID = o.PriorRunID
			out = append(out, inst)
		}
	}
	return out
}
