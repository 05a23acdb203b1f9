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

// summaryBudget keeps the job summary under GitHub's limit of 1 MiB per
// step summary: rows past it are left out, and a last line says how many.
const summaryBudget = 900 << 10

// summaryReserve is kept free for what closes the summary: the end of an
// open <details> and the line that counts the rows left out.
const summaryReserve = 1 << 10

// Summary renders the job summary in Markdown, within summaryBudget bytes.
func Summary(run Run) string { return renderSummary(run, nil, summaryBudget) }

// summary is the job summary Finish writes: every outside string is
// scrubbed of the password before it is cut, so that a cut cannot leave
// part of it.
func (r *Reporter) summary(run Run) string { return renderSummary(run, r.scrub, summaryBudget) }

func renderSummary(run Run, scrub func(string) string, budget int) string {
	if scrub == nil {
		scrub = func(s string) string { return s }
	}
	b := &summaryWriter{scrub: scrub, budget: budget - summaryReserve}
	fmt.Fprintf(b, "## %s ecs-registry-rotate: %s\n\n", resultIcons[run.Result], run.Result)
	writeHeadline(b, run)
	writeInstancesByCluster(b, run.stored().instances())
	writeServicesByCluster(b, run)
	writeFailedTasks(b, run.failedTasks())
	writeRollback(b, run)
	writeVerify(b, run.Verify)
	writePlan(b, run)
	writeWarnings(b, run)
	if b.full {
		left := "the rest was left out"
		if b.omitted > 0 {
			left = fmt.Sprintf("%d more row%s left out", b.omitted, pluralVerb(b.omitted))
		}
		fmt.Fprintf(&b.out, "\n**This summary stops here to stay under GitHub's 1 MiB limit for a job summary: %s.** The log and the outputs list them.\n", left)
	}
	return b.out.String()
}

// summaryWriter writes the summary within a budget, one write at a time:
// a write that does not fit, and every write after it, is left out; those
// that are table rows or list items ("| ", "- ") are counted. Only what
// must close a section already written (closing) still goes in, from the
// room summaryReserve keeps.
type summaryWriter struct {
	out     strings.Builder
	scrub   func(string) string
	budget  int
	full    bool
	omitted int // rows left out
}

// Write takes one write whole, or leaves it out.
func (w *summaryWriter) Write(p []byte) (int, error) {
	w.written(string(p))
	return len(p), nil
}

// WriteString is Write for a string.
func (w *summaryWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// written writes s if it fits, and reports whether it did.
func (w *summaryWriter) written(s string) bool {
	if w.full || w.out.Len()+len(s) > w.budget {
		w.full = true
		if strings.HasPrefix(s, "| ") || strings.HasPrefix(s, "- ") {
			w.omitted++
		}
		return false
	}
	w.out.WriteString(s)
	return true
}

// closing writes what closes a section already written.
func (w *summaryWriter) closing(s string) { w.out.WriteString(s) }

// md is md for outside text: scrubbed, then cut and escaped.
func (w *summaryWriter) md(s string) string { return md(w.scrub(s)) }

// mdErr is md for an error's text or a sentence of ours naming resources:
// cut to maxErrorText characters.
func (w *summaryWriter) mdErr(s string) string { return mdBounded(w.scrub(s), maxErrorText) }

func pluralVerb(n int) string {
	if n == 1 {
		return " was"
	}
	return "s were"
}

func writeHeadline(b *summaryWriter, run Run) {
	fmt.Fprintf(b, "- Mode: %s\n- Cluster: %s\n", b.md(run.Mode), b.md(run.Cluster))
	if c := run.clusters(); len(c) > 1 {
		fmt.Fprintf(b, "- Clusters examined: %d (%s)\n", len(c), b.md(strings.Join(c, ", ")))
	}
	run.stored().headline(b)
	if run.Failure != nil {
		fmt.Fprintf(b, "- Failed step: **%s**: %s\n", b.md(run.Failure.Step), b.mdErr(run.Failure.Err.Error()))
		fmt.Fprintf(b, "- Changed: %s\n", b.mdErr(run.Changes()))
	}
	b.WriteString("\n")
}

func writeServices(b *summaryWriter, services []rollout.ServiceResult) {
	if len(services) == 0 {
		b.WriteString("No service to deploy.\n\n")
		return
	}
	b.WriteString("### Services\n\n")
	writeServiceTable(b, services)
}

// writeServiceTable is the table of services' rollouts.
func writeServiceTable(b *summaryWriter, services []rollout.ServiceResult) {
	b.WriteString("| Service | Deployment | Rollout state | Desired | Running | Pending | Failed | Result | Time |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range services {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %d | %d | %s | %s |\n",
			b.md(s.Service), orDash(b.md(s.DeploymentID)), orDash(b.md(s.RolloutState)), s.DesiredCount, s.RunningCount, s.PendingCount, s.FailedTasks,
			orDash(b.serviceResult(s)), elapsed(s.Elapsed))
	}
	b.WriteString("\n")
}

// tableReasonLen keeps a table cell readable; the failed tasks below give
// ECS's words in full.
const tableReasonLen = 120

func (b *summaryWriter) serviceResult(s rollout.ServiceResult) string {
	if s.Reason == "" {
		return b.md(string(s.State))
	}
	reason := b.scrub(s.Reason)
	if len(reason) > tableReasonLen {
		reason = strings.ToValidUTF8(reason[:tableReasonLen], "") + "…"
	}
	return fmt.Sprintf("%s: %s", b.md(string(s.State)), b.md(reason))
}

// writeFailedTasks groups the failed tasks by ECS's reason: a hundred tasks
// failing for one reason are one problem, shown once with a few examples.
func writeFailedTasks(b *summaryWriter, tasks []rollout.FailedTask) {
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
		fmt.Fprintf(b, "**%s** (%d task%s)\n\n", b.md(reason), len(group), plural(len(group)))
		fmt.Fprintf(b, "> %s\n\n", Hint(group[0]))
		for _, t := range group[:min(len(group), examplesPerReason)] {
			fmt.Fprintf(b, "- %s task %s%s, %s\n", b.md(t.Service), b.md(awsname.Short(t.TaskArn)), b.md(containerPart(t)), orDash(b.md(t.StopCode)))
		}
		if rest := len(group) - examplesPerReason; rest > 0 {
			fmt.Fprintf(b, "- …and %d more\n", rest)
		}
		b.WriteString("\n")
	}
}

func writeVerify(b *summaryWriter, results []verify.ImageResult) {
	if len(results) == 0 {
		return
	}
	b.WriteString("### Credentials checked against the registry\n\n| Image | Registry | Result |\n|---|---|---|\n")
	for _, v := range results {
		result := "ok"
		if v.Status != verify.StatusOK {
			result = b.md(fmt.Sprintf("%s: %s", v.Status, v.Detail))
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", b.md(v.Image), b.md(v.Registry), result)
	}
	b.WriteString("\n")
}

// planRows bounds the plan table: a cluster of hundreds of services would
// bury the rest of the summary.
const planRows = 100

// writePlan lists what the rotation touched, open for a dry run and folded
// away otherwise.
func writePlan(b *summaryWriter, run Run) {
	if run.Plan == nil || len(run.Plan.Services) == 0 {
		return
	}
	open := ""
	if run.Result == ResultDryRun {
		open = " open"
	}
	opened := b.written(fmt.Sprintf("<details%s><summary>Plan: %d services</summary>\n\n| Service | Task definition | Container | Image | Pulls with the rotated credentials |\n|---|---|---|---|---|\n", open, len(run.Plan.Services)))
	rows := 0
	for _, s := range run.Plan.Services {
		for _, c := range s.Containers {
			if rows++; rows <= planRows {
				fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", b.md(s.Name), b.md(awsname.Short(s.TaskDefinition)), b.md(c.Name), b.md(c.Image), yesNo(c.Rotated()))
			}
		}
	}
	if rows > planRows {
		fmt.Fprintf(b, "\n…and %d more containers (the log lists them all)\n", rows-planRows)
	}
	if opened {
		b.closing("\n</details>\n\n")
	}
}

func writeWarnings(b *summaryWriter, run Run) {
	if run.Plan == nil || len(run.Plan.Warnings) == 0 {
		return
	}
	b.WriteString("### Warnings\n\n")
	for _, w := range run.Plan.Warnings {
		fmt.Fprintf(b, "- %s\n", b.mdErr(w))
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
func writeRollback(b *summaryWriter, run Run) {
	rb := run.Rollback
	if rb == nil {
		return
	}
	b.WriteString("## Rollback\n\n")
	if rb.Err != nil {
		fmt.Fprintf(b, "- **The rollback failed**: %s\n", b.mdErr(rb.Err.Error()))
	}
	run.stored().rollbackSummary(b)
	b.WriteString("\n")
	if rb.Watch != nil {
		writeServices(b, rb.Watch.Services)
		writeFailedTasks(b, rb.Watch.FailedTasks)
	}
}

// instanceRows bounds the instances table, as planRows does the plan's.
const instanceRows = 100

// writeInstances lists each container instance's own outcome (ecs-config).
func writeInstances(b *summaryWriter, instances []Instance) {
	if len(instances) == 0 {
		return
	}
	fmt.Fprintf(b, "### Container instances (%d)\n\n| Instance | Status | Agent reconnected | Command | Detail |\n|---|---|---|---|---|\n", len(instances))
	for _, in := range instances[:min(len(instances), instanceRows)] {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", b.md(in.EC2InstanceID), b.md(in.Status), yesNo(in.AgentReconnected), orDash(b.md(in.CommandID)), orDash(b.md(in.Detail)))
	}
	if rest := len(instances) - instanceRows; rest > 0 {
		fmt.Fprintf(b, "\n…and %d more (the instances output lists them all)\n", rest)
	}
	b.WriteString("\n")
}

// capSummary is the last guard of the budget, for Markdown that did not
// come through renderSummary: past summaryBudget bytes it is cut at a line
// break, with a line that says so.
func capSummary(markdown string) string {
	if len(markdown) <= summaryBudget {
		return markdown
	}
	cut := strings.LastIndexByte(markdown[:summaryBudget-summaryReserve], '\n') + 1
	return markdown[:cut] + fmt.Sprintf("\n**This summary stops here to stay under GitHub's 1 MiB limit for a job summary: %d more bytes were left out.**\n", len(markdown)-cut)
}
