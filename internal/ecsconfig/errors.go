package ecsconfig

import (
	"fmt"
	"slices"
	"strings"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// Steps, as Error names them.
const (
	StepPreflight = "preflight"
	StepApply     = "apply"
	StepRollback  = "rollback"
)

// Error is a step that failed on some instances: their commands failed or
// timed out, or their agents did not connect again. Each failed instance's
// Detail says why; it may quote the instance's own output (untrusted).
type Error struct {
	Step    string    // StepPreflight, StepApply or StepRollback
	Failed  []Outcome // the instances that failed, in the order given
	Total   int       // instances in the step
	Changed int       // instances changed (updated or restored) before the step stopped
	Skipped int       // instances the step did not reach
	// Clusters is how many clusters the step's instances belong to; when
	// more than one, the message names each failed instance's cluster.
	Clusters int
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Step {
	case StepPreflight:
		fmt.Fprintf(&b, "the read-only preflight failed on %d of %d container instances, so no instance was changed", len(e.Failed), e.Total)
	case StepRollback:
		fmt.Fprintf(&b, "the rollback failed on %d of %d container instances (%d restored, %d not reached)", len(e.Failed), e.Total, e.Changed, e.Skipped)
	default:
		fmt.Fprintf(&b, "ecs.config could not be applied on %d of %d container instances (%d changed before, %d not reached and left as they were)", len(e.Failed), e.Total, e.Changed, e.Skipped)
	}
	var hints []string
	for i, o := range e.Failed {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		name := nameInstance(o.Instance)
		if e.Clusters > 1 {
			name = nameInCluster(o.Instance)
		}
		fmt.Fprintf(&b, "%s%s: %s", sep, name, o.Detail)
		if o.Hint != "" && !slices.Contains(hints, o.Hint) {
			hints = append(hints, o.Hint)
		}
	}
	for _, h := range hints {
		fmt.Fprintf(&b, ". %s", h)
	}
	return b.String()
}

// nameInstance names an instance for a person: "i-0abc (container instance 1f2e...)".
func nameInstance(i Instance) string {
	return fmt.Sprintf("%s (container instance %s)", i.EC2InstanceID, awsname.Short(i.ContainerInstanceARN))
}

// nameInCluster names an instance with its cluster: "i-0abc (container
// instance 1f2e... of cluster prod)".
func nameInCluster(i Instance) string {
	return fmt.Sprintf("%s (container instance %s of cluster %s)", i.EC2InstanceID, awsname.Short(i.ContainerInstanceARN), clusterKey(i.Cluster))
}

// failureOf says why inv, the run of c on one instance, did not succeed: the
// script's error code (when it reported one), a sentence, and what to do.
func (r *runner) failureOf(c *sentCommand, inv invocation, waited time.Duration) (code, detail, hint string) {
	if c == nil {
		return "", "no command was sent to it", ""
	}
	if !inv.ended() {
		status := string(inv.status)
		if !inv.listed {
			status = "not listed by SSM yet"
		}
		detail = fmt.Sprintf("command %s did not end within %s (last status: %s)", c.id, waited.Round(time.Second), status)
		if r.lastErr != nil {
			detail += fmt.Sprintf("; the last failed look: %v", r.lastErr)
		}
		return "", detail, ""
	}
	if res := parseOutput(inv.output); res.found && !res.ok {
		detail = res.code
		if res.message != "" {
			detail += ": " + res.message
		}
		return res.code, detail, r.hint(res.code)
	}
	detail = fmt.Sprintf("command %s ended %s", c.id, inv.status)
	if inv.details != "" && inv.details != string(inv.status) {
		detail += " (" + inv.details + ")"
	}
	if inv.status == ssmtypes.CommandInvocationStatusFailed && inv.exitCode != 0 {
		detail += fmt.Sprintf(", exit status %d", inv.exitCode)
	}
	switch inv.details {
	case "Undeliverable", "Delivery Timed Out":
		hint = "An instance whose SSM agent did not take the command must be Online in Systems Manager (Fleet Manager shows it)."
	case "Execution Timed Out":
		detail += fmt.Sprintf(": the script ran longer than its executionTimeout of %s", r.o.ExecutionTimeout)
	case "Terminated":
		detail += ": SSM stopped it because another instance of the same command failed (MaxErrors 0)"
	}
	return "", detail, hint
}

// hint is what to do about a script error code.
func (r *runner) hint(code string) string {
	switch code {
	case "parameter-denied":
		return fmt.Sprintf("parameter-denied: the instance's role lacks the IAM permission ssm:GetParameter on the parameter %s; grant it (the managed policy AmazonSSMManagedInstanceCore does), or set %s", ParameterName(r.o.RunID), r.inline())
	case "imds-unavailable":
		return "imds-unavailable: the instance could not get its role's credentials from the instance metadata service (IMDSv2); check its metadata options, or set " + r.inline()
	case "restart-tool-missing":
		return "restart-tool-missing: the ECS agent cannot be restarted the way this OS expects (systemctl, or upstart's stop and start); set " + r.o.Setting("restart-agent", "false") + " and restart the agent on the instance yourself after the run"
	case "auth-type-mismatch":
		return "auth-type-mismatch: ecs.config already holds other registries' auth data of another ECS_ENGINE_AUTH_TYPE; set " + r.o.Setting("ecs-config-auth-type", "dockercfg") + " or " + r.o.Setting("ecs-config-auth-type", "docker") + " to match it"
	case script.CodeAuthDataInvalid:
		return "auth-data-invalid: the agent reads ECS_ENGINE_AUTH_DATA as a whole, and one member of the wrong shape for ECS_ENGINE_AUTH_TYPE makes it ignore every registry's entry; fix or remove the member the error names"
	case script.CodeParameterThrottled:
		return "parameter-throttled: the instances read the run's parameter faster than Parameter Store allows (40 GetParameter a second per account and region by default); raise its throughput (the higher-throughput setting of Parameter Store), or rotate fewer instances per run (one cluster at a time)"
	case script.CodeConfigImmutable:
		return "config-immutable: ecs.config or its directory has the immutable or append-only attribute (chattr +i / +a), so it cannot be replaced; remove the attribute (chattr -i), or take the instance out of the cluster"
	case script.CodeLocked:
		return "locked: another run of the script held the instance's lock for longer than this one waits (a command of another rotation may still be running there: the instance's Run Command history shows it), or flock is missing there (the error then says so); run again once that command ended, or install util-linux, which has flock"
	case script.CodeBackupMismatch:
		return "backup-mismatch: the backup no longer matches the file it was taken of; restore /etc/ecs/ecs.config by hand"
	}
	return ""
}

// inline is the setting of the inline transport, worded for where the run is.
func (r *runner) inline() string {
	return r.o.Setting("ecs-config-transport", string(TransportInline))
}
