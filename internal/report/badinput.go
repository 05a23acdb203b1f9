package report

import "fmt"

// InputProblem is one bad input, as BadInput reports it: the input's name
// ("" for the command line itself) and what is wrong with it. The message
// never holds the password: inputs withholds any value that does.
type InputProblem struct {
	Input   string
	Message string
}

// BadInput completes the report of a run that bad input stopped (exit 2),
// after the errors were printed: under Actions the outputs say
// result=failed, with the arrays empty, and a short job summary names each
// input at fault, so that a workflow that reads them, and a reader of the
// run's page, see why. Outside Actions the errors on stderr are the whole
// report, as before any run. It returns an error, wrapping ErrOutputs,
// when the outputs or the summary could not be written.
func (r *Reporter) BadInput(problems []InputProblem) error {
	if r.action == nil {
		return nil
	}
	values, _ := Run{Result: ResultFailed}.outputs()
	r.writeActionOutputs(values)
	r.AddSummary(r.badInputSummary(problems))
	if err := r.WriteErr(); err != nil {
		r.Errorf("report failed", "%s", err)
		return fmt.Errorf("%w: %w", ErrOutputs, err)
	}
	return nil
}

// badInputSummary is the job summary of a run stopped by bad input: every
// input's name and message is outside text to Markdown (md), and scrubbed.
func (r *Reporter) badInputSummary(problems []InputProblem) string {
	b := &summaryWriter{scrub: r.scrub, budget: summaryBudget - summaryReserve}
	fmt.Fprintf(b, "## %s ecs-registry-rotate: %s\n\n", resultIcons[ResultFailed], ResultFailed)
	n := len(problems)
	fmt.Fprintf(b, "Bad input (exit 2): %d problem%s; nothing was asked of AWS and nothing was changed.\n\n", n, plural(n))
	b.WriteString("| Input | Problem |\n|---|---|\n")
	for _, p := range problems {
		input := "(command line)"
		if p.Input != "" {
			input = b.md(p.Input)
		}
		fmt.Fprintf(b, "| %s | %s |\n", input, b.mdErr(p.Message))
	}
	if b.full {
		fmt.Fprintf(&b.out, "\n**This summary stops here to stay under GitHub's 1 MiB limit for a job summary: %d more row%s left out.** The log lists them.\n", b.omitted, pluralVerb(b.omitted))
	}
	return b.out.String()
}
