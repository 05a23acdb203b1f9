package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// Steps, as failures and the summary name them.
const (
	StepPlan      = "plan"
	StepLock      = "lock"
	StepVerify    = "verify credentials"
	StepSecret    = "update secret"
	StepDeploy    = "deploy"
	StepRollout   = "rollout"
	StepECSConfig = "ecs-config"
	StepCancelled = "cancelled"
)

// examplesPerReason bounds the failed tasks listed under one reason.
const examplesPerReason = 3

var resultIcons = map[string]string{
	ResultSuccess: "✅", ResultFailed: "❌", ResultRolledBack: "↩️", ResultUnchanged: "✔️", ResultDryRun: "📝",
}

// Summary renders the job summary in Markdown.
func Summary(run Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s ecs-registry-rotate: %s\n\n", resultIcons[run.Result], run.Result)
	writeHeadline(&b, run)
	writeInstances(&b, run.Instances)
	writeServices(&b, run.services())
	writeFailedTasks(&b, run.failedTasks())
	writeRollback(&b, run.Rollback)
	writeVerify(&b, run.Verify)
	writePlan(&b, run)
	writeWarnings(&b, run)
	return b.String()
}

func writeHeadline(b *strings.Builder, run Run) {
	fmt.Fprintf(b, "- Mode: %s\n- Cluster: %s\n", md(run.Mode), md(run.Cluster))
	if run.Plan != nil && run.Plan.Secret.ARN != "" {
		fmt.Fprintf(b, "- Secret: %s\n", md(run.Plan.Secret.ARN))
	}
	if s := run.Secret; s != nil {
		switch {
		case s.Unknown:
			fmt.Fprintf(b, "- Secret: **may have been written** (the write's outcome could not be learned; was version %s)\n", md(s.PreviousVersionID))
		case s.Changed:
			fmt.Fprintf(b, "- Secret version: %s (was %s)\n", md(s.VersionID), md(s.PreviousVersionID))
		default:
			fmt.Fprintf(b, "- Secret version: %s (already held these credentials; not written)\n", md(s.VersionID))
		}
	}
	if run.Failure != nil {
		fmt.Fprintf(b, "- Failed step: **%s**: %s\n", md(run.Failure.Step), md(run.Failure.Err.Error()))
		fmt.Fprintf(b, "- Changed: %s\n", md(run.Changes()))
	}
	b.WriteString("\n")
}

func writeServices(b *strings.Builder, services []rollout.ServiceResult) {
	if len(services) == 0 {
		b.WriteString("No service to deploy.\n\n")
		return
	}
	b.WriteString("### Services\n\n| Service | Deployment | Rollout state | Desired | Running | Pending | Failed | Result | Time |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range services {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %d | %d | %s | %s |\n",
			md(s.Service), orDash(md(s.DeploymentID)), orDash(md(s.RolloutState)), s.DesiredCount, s.RunningCount, s.PendingCount, s.FailedTasks,
			orDash(serviceResult(s)), elapsed(s.Elapsed))
	}
	b.WriteString("\n")
}

// tableReasonLen keeps a table cell readable; the failed tasks below give
// ECS's words in full.
const tableReasonLen = 120

func serviceResult(s rollout.ServiceResult) string {
	if s.Reason == "" {
		return md(string(s.State))
	}
	reason := s.Reason
	if len(reason) > tableReasonLen {
		reason = strings.ToValidUTF8(reason[:tableReasonLen], "") + "…"
	}
	return fmt.Sprintf("%s: %s", md(string(s.State)), md(reason))
}

// writeFailedTasks groups the failed tasks by ECS's reason: a hundred tasks
// failing for one reason are one problem, shown once with a few examples.
func writeFailedTasks(b *strings.Builder, tasks []rollout.FailedTask) {
	if len(tasks) == 0 {
		return
	}
	var reasons []string
	byReason := map[string][]rollout.FailedTask{}
	for _, t := range tasks {
		reason := taskReason(t)
		if _, seen := byReason[reason]; !seen {
			reasons = append(reasons, reason)
		}
		byReason[reason] = append(byReason[reason], t)
	}
	fmt.Fprintf(b, "### Failed tasks (%d)\n\n", len(tasks))
	for _, reason := range reasons {
		group := byReason[reason]
		fmt.Fprintf(b, "**%s** (%d task%s)\n\n", md(reason), len(group), plural(len(group)))
		fmt.Fprintf(b, "> %s\n\n", Hint(group[0]))
		for _, t := range group[:min(len(group), examplesPerReason)] {
			fmt.Fprintf(b, "- %s task %s%s, %s\n", md(t.Service), md(awsname.Short(t.TaskArn)), md(containerPart(t)), orDash(md(t.StopCode)))
		}
		if rest := len(group) - examplesPerReason; rest > 0 {
			fmt.Fprintf(b, "- …and %d more\n", rest)
		}
		b.WriteString("\n")
	}
}

func writeVerify(b *strings.Builder, results []verify.ImageResult) {
	if len(results) == 0 {
		return
	}
	b.WriteString("### Credentials checked against the registry\n\n| Image | Registry | Result |\n|---|---|---|\n")
	for _, v := range results {
		result := "ok"
		if v.Status != verify.StatusOK {
			result = md(fmt.Sprintf("%s: %s", v.Status, v.Detail))
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", md(v.Image), md(v.Registry), result)
	}
	b.WriteString("\n")
}

// planRows bounds the plan table: a cluster of hundreds of services would
// bury the rest of the summary.
const planRows = 100

// writePlan lists what the rotation touched, open for a dry run and folded
// away otherwise.
func writePlan(b *strings.Builder, run Run) {
	if run.Plan == nil || len(run.Plan.Services) == 0 {
		return
	}
	open := ""
	if run.Result == ResultDryRun {
		open = " open"
	}
	fmt.Fprintf(b, "<details%s><summary>Plan: %d services</summary>\n\n| Service | Task definition | Container | Image | Pulls with the rotated credentials |\n|---|---|---|---|---|\n", open, len(run.Plan.Services))
	rows := 0
	for _, s := range run.Plan.Services {
		for _, c := range s.Containers {
			if rows++; rows <= planRows {
				fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", md(s.Name), md(awsname.Short(s.TaskDefinition)), md(c.Name), md(c.Image), yesNo(c.Rotated()))
			}
		}
	}
	if rows > planRows {
		fmt.Fprintf(b, "\n…and %d more containers (the log lists them all)\n", rows-planRows)
	}
	b.WriteString("\n</details>\n\n")
}

func writeWarnings(b *strings.Builder, run Run) {
	if run.Plan == nil || len(run.Plan.Warnings) == 0 {
		return
	}
	b.WriteString("### Warnings\n\n")
	for _, w := range run.Plan.Warnings {
		fmt.Fprintf(b, "- %s\n", md(w))
	}
	b.WriteString("\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func elapsed(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeRollback is the rollback's own section, after the rollout's.
func writeRollback(b *strings.Builder, rb *Rollback) {
	if rb == nil {
		return
	}
	b.WriteString("## Rollback\n\n")
	if rb.Err != nil {
		fmt.Fprintf(b, "- **The rollback failed**: %s\n", md(rb.Err.Error()))
	}
	if s := rb.Secret; s != nil && !s.Unknown {
		fmt.Fprintf(b, "- Secret %s: AWSCURRENT is version %s\n", md(s.Name), md(s.VersionID))
	}
	b.WriteString("\n")
	if rb.Watch != nil {
		writeServices(b, rb.Watch.Services)
		writeFailedTasks(b, rb.Watch.FailedTasks)
	}
}

// instanceRows bounds the instances table, as planRows does the plan's.
const instanceRows = 100

// writeInstances lists each container instance's own outcome (ecs-config).
func writeInstances(b *strings.Builder, instances []Instance) {
	if len(instances) == 0 {
		return
	}
	fmt.Fprintf(b, "### Container instances (%d)\n\n| Instance | Status | Agent reconnected | Command | Detail |\n|---|---|---|---|---|\n", len(instances))
	for _, in := range instances[:min(len(instances), instanceRows)] {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", md(in.EC2InstanceID), md(in.Status), yesNo(in.AgentReconnected), orDash(md(in.CommandID)), orDash(md(in.Detail)))
	}
	if rest := len(instances) - instanceRows; rest > 0 {
		fmt.Fprintf(b, "\n…and %d more (the instances output lists them all)\n", rest)
	}
	b.WriteString("\n")
}
