// Package report renders one run three ways: log lines, the job summary and
// the step outputs. Under GitHub Actions the log uses workflow commands
// (::add-mask::, ::group::, ::error::); anywhere else it is plain text on
// stderr and no workflow command is printed, since ::add-mask:: would print
// the password itself. Every line passes through Neutral, so text from
// outside cannot become a command.
package report

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Options say where a Reporter writes.
type Options struct {
	// Actions is true under GitHub Actions (GITHUB_ACTIONS=true).
	Actions bool
	// Log receives the log: stdout under Actions, stderr elsewhere.
	Log io.Writer
	// Stdout receives a CLI run's outputs as JSON when OutputFile is empty.
	Stdout io.Writer
	// Getenv finds GITHUB_OUTPUT and GITHUB_STEP_SUMMARY under Actions.
	Getenv func(string) string
	// OutputFile is --output-file: a CLI run's outputs as one JSON object.
	OutputFile string
	// Password is masked (under Actions) before anything else is printed.
	Password string
}

// Reporter writes the run's log, outputs and summary.
type Reporter struct {
	o      Options
	action *githubactions.Action // nil outside Actions
	// writeErr is the first output or summary that could not be written.
	writeErr error
}

// New returns a Reporter; under Actions it masks the password first.
func New(o Options) *Reporter {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	r := &Reporter{o: o}
	if o.Actions {
		r.action = githubactions.New(githubactions.WithWriter(o.Log), githubactions.WithGetenv(o.Getenv))
		if o.Password != "" {
			r.action.AddMask(o.Password)
		}
	}
	return r
}

// scrub hides the password wherever it might have slipped into a log line or
// the summary, so that no mistake upstream can print it. Outputs are not
// scrubbed: they are built from data that cannot hold the password, and a
// replacement would corrupt them.
func (r *Reporter) scrub(s string) string {
	if r.o.Password == "" {
		return s
	}
	return strings.ReplaceAll(s, r.o.Password, "***")
}

// text formats one line. Each string or error argument is outside text until
// proven otherwise: it is scrubbed, then cut to MaxOutside characters
// (scrubbing first, so that a cut cannot leave part of the password
// behind); the line as a whole is cut to maxLine.
func (r *Reporter) text(format string, args []any) string {
	bounded := make([]any, len(args))
	for i, a := range args {
		bounded[i] = r.outside(a)
	}
	return r.scrub(line(r.scrub(fmt.Sprintf(format, bounded...))))
}

// outside scrubs and bounds an argument that may carry outside text:
// strings (of any string type) to MaxOutside characters, errors (a sentence
// of ours around outside text, which may name many resources) to
// maxErrorText. Text the report composed itself from pieces already cut
// passes as own. Numbers and the like pass as they are, so that their verbs
// keep working.
func (r *Reporter) outside(a any) any {
	switch v := a.(type) {
	case nil:
		return a
	case own:
		return string(v)
	case string:
		return Bound(r.scrub(v))
	case error:
		return r.errText(fmt.Sprint(v)) // fmt survives a nil receiver's panic
	}
	if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
		return Bound(r.scrub(rv.String()))
	}
	return a
}

func (r *Reporter) plain(prefix, s string) {
	fmt.Fprintln(r.o.Log, prefix+s)
}

// Infof prints a log line.
func (r *Reporter) Infof(format string, args ...any) { r.info(r.text(format, args)) }

// info prints a line made ready by text or ownLine.
func (r *Reporter) info(text string) {
	if r.action == nil {
		r.plain("", text)
		return
	}
	r.action.Infof("%s", text)
}

// ownLine readies a line the report built itself, whose outside parts were
// cut with cell: it is scrubbed, escaped and cut to maxLine, but not to
// MaxOutside as a whole.
func (r *Reporter) ownLine(s string) string { return r.scrub(line(r.scrub(s))) }

// own marks text the report composed itself, whose outside pieces were cut
// with cell or errText already: Reporter lines take it whole (within
// maxLine).
type own string

// maxErrorText bounds the text of one error: our words around outside
// text, which may name many resources.
const maxErrorText = 4 * MaxOutside

// errText is an error's text, scrubbed, then cut to maxErrorText characters.
func (r *Reporter) errText(s string) string { return bound(r.scrub(s), maxErrorText) }

// cell is one piece of outside text inside a line the report builds itself
// (a table row): scrubbed, then cut to MaxOutside characters and escaped, so
// that a line break in it cannot break the line.
func (r *Reporter) cell(s string) string { return escape(Bound(r.scrub(s))) }

// Debugf prints a line the runner shows only with step debug logging on;
// outside Actions it prints nothing.
func (r *Reporter) Debugf(format string, args ...any) {
	if r.action != nil {
		r.action.Debugf("%s", r.text(format, args))
	}
}

// Warningf prints a warning annotation (outside Actions: "warning: ...").
func (r *Reporter) Warningf(format string, args ...any) {
	if r.action == nil {
		r.plain("warning: ", r.text(format, args))
		return
	}
	r.action.Warningf("%s", r.text(format, args))
}

// Errorf prints an error annotation with a title (outside Actions:
// "error: title: ...").
func (r *Reporter) Errorf(title, format string, args ...any) {
	title = r.scrub(line(Bound(r.scrub(title))))
	if r.action == nil {
		if title != "" {
			title += ": "
		}
		r.plain("error: "+title, r.text(format, args))
		return
	}
	a := r.action
	if title != "" {
		a = a.WithFieldsMap(map[string]string{"title": title})
	}
	a.Errorf("%s", r.text(format, args))
}

// Group starts a collapsible section of the log; EndGroup ends it. Outside
// Actions it is a heading line.
func (r *Reporter) Group(title string) {
	if r.action == nil {
		r.plain("== ", r.text("%s", []any{title}))
		return
	}
	r.action.Group(r.text("%s", []any{title}))
}

// EndGroup ends the section Group started.
func (r *Reporter) EndGroup() {
	if r.action != nil {
		r.action.EndGroup()
	}
}

// AddSummary appends Markdown to the job summary, when there is one.
func (r *Reporter) AddSummary(markdown string) {
	path := r.o.Getenv("GITHUB_STEP_SUMMARY")
	if r.action == nil || path == "" {
		return
	}
	if err := appendFile(path, capSummary(r.scrub(markdown))+"\n"); err != nil {
		r.failedWrite(fmt.Errorf("write the job summary (GITHUB_STEP_SUMMARY): %w", err))
	}
}

func (r *Reporter) failedWrite(err error) {
	if r.writeErr == nil {
		r.writeErr = err
	}
}

// Actions reports whether the Reporter writes for GitHub Actions.
func (r *Reporter) Actions() bool { return r.action != nil }

// WriteErr is the first outputs or summary write that failed, or nil. A run
// whose outputs could not be written has failed, whatever it changed.
func (r *Reporter) WriteErr() error { return r.writeErr }

// ErrOutputs marks a failure to write the outputs or the summary.
var ErrOutputs = errors.New("could not write the outputs")
