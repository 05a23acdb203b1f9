package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
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
	values := run.outputs()
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
	if err := os.WriteFile(r.o.OutputFile, b, 0o600); err != nil {
		r.failedWrite(fmt.Errorf("write the outputs (--output-file %s): %w", r.o.OutputFile, err))
	}
}

// outputs are the values of the contract's outputs, built from data that
// cannot hold the password.
func (run Run) outputs() map[string]string {
	version := ""
	if run.Secret != nil {
		version = run.Secret.VersionID
	}
	instances := "[]"
	if run.Instances != nil {
		instances = compactJSON(run.Instances)
	}
	return map[string]string{
		"result":            run.Result,
		"secret-version-id": version,
		"services":          compactJSON(run.services()),
		"failed-tasks":      compactJSON(run.failedTasks()),
		"instances":         instances,
	}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs reach here
		panic(err)
	}
	return string(b)
}
