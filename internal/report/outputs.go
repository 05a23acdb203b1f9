package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// outputNames are the outputs of the contract, in its order.
var outputNames = []string{"result", "secret-version-id", "services", "failed-tasks", "instances"}

// Outputs writes the step outputs: to GITHUB_OUTPUT under Actions; outside
// it, as one JSON object to --output-file, or else to stdout.
func (r *Reporter) Outputs(run Run) {
	values := run.outputs()
	if r.action != nil {
		r.writeActionOutputs(values)
		return
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
