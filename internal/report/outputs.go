package report

import (
	"encoding/json"
)

// Outputs writes the step outputs of CONTRACT.md.
func (r *Reporter) Outputs(run Run) {
	r.SetOutput("result", run.Result)
	version := ""
	if run.Secret != nil {
		version = run.Secret.VersionID
	}
	r.SetOutput("secret-version-id", version)
	r.SetOutput("services", compactJSON(run.services()))
	r.SetOutput("failed-tasks", compactJSON(run.failedTasks()))
	r.SetOutput("instances", "[]")
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs reach here
		panic(err)
	}
	return string(b)
}
