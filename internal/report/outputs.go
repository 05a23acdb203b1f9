package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// outputSpecs are the outputs of the contract, in its order, with what
// action.yml and the README say of them.
var outputSpecs = []struct{ name, meaning string }{
	{"result", "`success`, `failed`, `rolled-back` (failed, and the previous credentials were restored), `unchanged` (the credentials were already in place and nothing was deployed) or `dry-run`"},
	{"secret-version-id", "the new secret version (secrets-manager mode); random, not derived from the password"},
	{"services", "JSON array, one object per service: `service`, `cluster`, `deploymentId`, `rolloutState`, `desiredCount`, `runningCount`, `failedTasks`"},
	{"failed-tasks", "JSON array of `{service, taskArn, lastStatus, stopCode, stoppedReason, containers: [{name, image, reason, exitCode}]}`"},
	{"instances", "ecs-config mode: JSON array of `{containerInstanceArn, ec2InstanceId, commandId, status, agentReconnected}`; `status` is `updated`, `unchanged`, `failed`, `skipped` (not reached because another instance failed) or `restored` (rolled back)"},
}

// outputNames are the outputs' names, in order.
var outputNames = func() []string {
	names := make([]string, len(outputSpecs))
	for i, o := range outputSpecs {
		names[i] = o.name
	}
	return names
}()

// OutputsTable is the README's outputs table.
func OutputsTable() string {
	var b strings.Builder
	b.WriteString("| output | meaning |\n|---|---|\n")
	for _, o := range outputSpecs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", o.name, o.meaning)
	}
	return b.String()
}

// Outputs writes the step outputs: to GITHUB_OUTPUT under Actions, and as
// one JSON object to --output-file when given; outside Actions without
// --output-file, the JSON object goes to stdout.
func (r *Reporter) Outputs(run Run) {
	values, cut := run.outputs()
	for _, c := range cut {
		r.Warningf("%s", c)
	}
	if r.action != nil {
		r.writeActionOutputs(values)
		if r.o.OutputFile == "" {
			return
		}
	}
	r.writeJSONOutputs(values)
}

func (r *Reporter) writeActionOutputs(values map[string]string) {
	path := r.o.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return
	}
	var b strings.Builder
	for _, name := range outputNames {
		block, err := outputBlock(name, values[name])
		if err != nil {
			r.failedWrite(err)
			return
		}
		b.WriteString(block)
	}
	if err := appendFile(path, b.String()); err != nil {
		r.failedWrite(fmt.Errorf("write the outputs (GITHUB_OUTPUT): %w", err))
	}
}

// writeJSONOutputs gives the JSON-valued outputs as JSON, not as strings.
func (r *Reporter) writeJSONOutputs(values map[string]string) {
	obj := map[string]any{}
	for _, name := range outputNames {
		if v := values[name]; strings.HasPrefix(v, "[") {
			obj[name] = json.RawMessage(v)
		} else {
			obj[name] = v
		}
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		r.failedWrite(fmt.Errorf("encode the outputs: %w", err))
		return
	}
	b = append(b, '\n')
	if r.o.OutputFile == "" {
		if _, err := r.o.Stdout.Write(b); err != nil {
			r.failedWrite(fmt.Errorf("write the outputs to standard output: %w", err))
		}
		return
	}
	if err := writePrivateFile(r.o.OutputFile, b); err != nil {
		r.failedWrite(fmt.Errorf("write the outputs (--output-file %s): %w", r.o.OutputFile, err))
	}
}

// outputBudget bounds each JSON-array output: GitHub keeps at most 1 MB of
// outputs per job, so three arrays of at most this size leave room for the
// rest.
const outputBudget = 200 << 10

// outputs are the values of the contract's outputs, built from data that
// cannot hold the password. Every string from outside is cut to MaxOutside
// characters (Bound); an array that would pass outputBudget keeps its first
// entries, and cut says which output lost how many.
func (run Run) outputs() (values map[string]string, cut []string) {
	version := Bound(run.stored().versionID())
	array := func(name, v string, kept, total int) string {
		if kept < total {
			cut = append(cut, fmt.Sprintf("output %s lists the first %d of %d entries: the rest would take it past %d KiB (GitHub keeps at most 1 MB of outputs per job); the log and the summary name them", name, kept, total, outputBudget>>10))
		}
		return v
	}
	services := slices.Clone(run.services()) // the run's own stay as they are
	for i, s := range services {
		s.Service, s.Cluster, s.DeploymentID, s.RolloutState = Bound(s.Service), Bound(s.Cluster), Bound(s.DeploymentID), Bound(s.RolloutState)
		services[i] = s
	}
	failed := make([]rollout.FailedTask, len(run.failedTasks()))
	for i, t := range run.failedTasks() {
		t.Service, t.TaskArn, t.LastStatus, t.StopCode, t.StoppedReason = Bound(t.Service), Bound(t.TaskArn), Bound(t.LastStatus), Bound(t.StopCode), Bound(t.StoppedReason)
		containers := make([]rollout.FailedContainer, len(t.Containers))
		for j, c := range t.Containers {
			c.Name, c.Image, c.Reason = Bound(c.Name), Bound(c.Image), Bound(c.Reason)
			containers[j] = c
		}
		t.Containers = containers
		failed[i] = t
	}
	stored := run.stored().instances()
	bounded := make([]Instance, len(stored))
	for i, in := range stored {
		in.Cluster, in.ContainerInstanceArn, in.EC2InstanceID, in.CommandID, in.Status = Bound(in.Cluster), Bound(in.ContainerInstanceArn), Bound(in.EC2InstanceID), Bound(in.CommandID), Bound(in.Status)
		bounded[i] = in
	}
	instancesJSON, keptInstances := fitJSON(bounded, outputBudget)
	servicesJSON, keptServices := fitJSON(services, outputBudget)
	failedJSON, keptFailed := fitJSON(failed, outputBudget)
	return map[string]string{
		"result":            run.Result,
		"secret-version-id": version,
		"services":          array("services", servicesJSON, keptServices, len(services)),
		"failed-tasks":      array("failed-tasks", failedJSON, keptFailed, len(failed)),
		"instances":         array("instances", instancesJSON, keptInstances, len(bounded)),
	}, cut
}

// fitJSON is the JSON array of items, compact, holding as many of the first
// items as fit in budget bytes, and how many that is.
func fitJSON[T any](items []T, budget int) (string, int) {
	var b strings.Builder
	b.WriteByte('[')
	kept := 0
	for _, item := range items {
		one := compactJSON(item)
		if b.Len()+len(one)+2 > budget {
			break
		}
		if kept > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
		kept++
	}
	b.WriteByte(']')
	return b.String(), kept
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs reach here
		panic(err)
	}
	return string(b)
}
