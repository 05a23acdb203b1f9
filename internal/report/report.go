// Package report renders one run three ways: log lines (with workflow
// commands), the job summary and the step outputs. It never sees the password
// except to mask it, and scrubs it from everything it writes all the same.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Reporter writes the run's log, outputs and summary.
type Reporter struct {
	action *githubactions.Action
	getenv func(string) string
	out    io.Writer
	secret string
}

// New returns a Reporter writing to out and to the files GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY name in getenv. It masks secret before anything else.
func New(out io.Writer, getenv func(string) string, secret string) *Reporter {
	r := &Reporter{
		action: githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv)),
		getenv: getenv, out: out, secret: secret,
	}
	if secret != "" {
		r.action.AddMask(secret)
	}
	return r
}

// scrub hides the password wherever it might have slipped in, so that no
// mistake upstream can print it.
func (r *Reporter) scrub(s string) string {
	if r.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, r.secret, "***")
}

// Infof prints a log line.
func (r *Reporter) Infof(format string, args ...any) {
	r.action.Infof("%s", r.scrub(fmt.Sprintf(format, args...)))
}

// Debugf prints a line the runner shows only with step debug logging on.
func (r *Reporter) Debugf(format string, args ...any) {
	r.action.Debugf("%s", r.scrub(fmt.Sprintf(format, args...)))
}

// Warningf prints a warning annotation.
func (r *Reporter) Warningf(format string, args ...any) {
	r.action.Warningf("%s", r.scrub(fmt.Sprintf(format, args...)))
}

// Errorf prints an error annotation with a title.
func (r *Reporter) Errorf(title, format string, args ...any) {
	a := r.action
	if title != "" {
		a = a.WithFieldsMap(map[string]string{"title": r.scrub(title)})
	}
	a.Errorf("%s", r.scrub(fmt.Sprintf(format, args...)))
}

// Group starts a collapsible section of the log; EndGroup ends it.
func (r *Reporter) Group(title string) { r.action.Group(r.scrub(title)) }

// EndGroup ends the section Group started.
func (r *Reporter) EndGroup() { r.action.EndGroup() }

// SetOutput sets a step output; outside Actions (no GITHUB_OUTPUT) it prints
// name=value so a shell user sees them too.
func (r *Reporter) SetOutput(name, value string) {
	value = r.scrub(value)
	if r.getenv("GITHUB_OUTPUT") == "" {
		fmt.Fprintf(r.out, "%s=%s\n", name, value)
		return
	}
	r.action.SetOutput(name, value)
}

// AddSummary appends Markdown to the job summary, when there is one.
func (r *Reporter) AddSummary(markdown string) {
	if r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	r.action.AddStepSummary(r.scrub(markdown))
}
