package inputs

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/version"
)

// Load reads every input of the contract and validates all of them up front.
//
// Each input comes from the first source that has it: the flag (--secret-id),
// then the environment variable INPUT_<NAME> (INPUT_SECRET-ID, as the Actions
// runner sets it; trimmed, and empty counts as unset because the runner sets
// every declared input), then the default of the contract. A flag given
// explicitly wins even when empty.
//
// For --help or -h, Load writes the usage text to usage and returns ErrHelp.
// For bad input it returns Problems holding every problem found; the Config
// returned beside them is partial, but its InActions and Password are set so
// that the caller can mask the password and format the errors for Actions.
// A nil getenv means an empty environment; a nil usage discards the text.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	return LoadFrom(Source{Args: args, Getenv: getenv, Usage: usage})
}

// Source is where LoadFrom reads the inputs.
type Source struct {
	Args   []string
	Getenv func(string) string // nil: an empty environment
	Stdin  io.Reader           // read for --password-stdin; nil: empty
	Usage  io.Writer           // --help and --version; nil discards
}

// LoadFrom is Load with standard input, for --password-stdin.
func LoadFrom(src Source) (Config, error) {
	getenv, usage := src.Getenv, src.Usage
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if usage == nil {
		usage = io.Discard
	}
	fs, cli := newFlagSet()
	argErrs, help := parseArgs(fs, normaliseCommand(src.Args))
	switch {
	case help:
		writeHelp(usage)
		return Config{}, ErrHelp
	case cli.version:
		fmt.Fprintf(usage, "ecs-registry-rotate %s\n", version.String())
		return Config{}, ErrVersion
	}
	l := &loader{raw: resolve(fs, getenv), inActions: getenv("GITHUB_ACTIONS") == "true", perInput: map[string]int{}}
	l.argProblems(argErrs)
	l.passwordFromStdin(cli.passwordStdin, src.Stdin, passwordSource(fs, getenv))
	if l.inActions {
		l.envConflicts(fs, getenv)
	}
	cfg := l.config()
	cfg.OutputFile = cli.outputFile
	l.outputFile(cli.outputFile)
	l.countOmitted()
	if len(l.problems) > 0 {
		return cfg, l.sortedProblems()
	}
	return cfg, nil
}

// rawValue keeps a flag's text as given, so that flags and INPUT_* variables
// go through one validation path and all problems are reported together.
type rawValue struct{ s string }

func (v *rawValue) String() string {
	if v == nil {
		return ""
	}
	return v.s
}

func (v *rawValue) Set(s string) error { v.s = s; return nil }

// boolValue lets a boolean flag stand alone (--dry-run) or take =value
// (--wait=false) while still keeping the text for the getBooleanInput check.
type boolValue struct{ rawValue }

func (*boolValue) IsBoolFlag() bool { return true }

// cliFlags are the flags that are no inputs: they exist only on a command line.
type cliFlags struct {
	version       bool
	passwordStdin bool
	outputFile    string
}

func newFlagSet() (*flag.FlagSet, *cliFlags) {
	fs := flag.NewFlagSet("ecs-registry-rotate", flag.ContinueOnError)
	// Errors become Problems and help is written by writeHelp, so the flag
	// package must print nothing itself.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, s := range specs {
		var v flag.Value = &rawValue{s.def}
		if s.isBool() {
			v = &boolValue{rawValue{s.def}}
		}
		fs.Var(v, s.name, s.meaning)
	}
	cli := &cliFlags{}
	fs.BoolVar(&cli.version, "version", false, "print the version and exit")
	fs.BoolVar(&cli.passwordStdin, "password-stdin", false, "read the password from standard input")
	fs.StringVar(&cli.outputFile, "output-file", "", "write the outputs as one JSON object to this file")
	return fs, cli
}

// normaliseCommand lets "help" and "version" stand for --help and --version,
// as in most CLIs, when they are the only argument.
func normaliseCommand(args []string) []string {
	if len(args) == 1 {
		switch args[0] {
		case "help":
			return []string{"--help"}
		case "version":
			return []string{"--version"}
		}
	}
	return args
}

// passwordSource names where the password came from when it came from
// somewhere other than standard input, "" when from nowhere.
func passwordSource(fs *flag.FlagSet, getenv func(string) string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == inPassword })
	switch {
	case given:
		return "--" + inPassword
	case strings.TrimSpace(getenv(ownEnvName(inPassword))) != "":
		return ownEnvName(inPassword)
	case strings.TrimSpace(getenv(envName(inPassword))) != "":
		return envName(inPassword)
	}
	return ""
}

// passwordFromStdin reads the password as docker login --password-stdin
// does: the whole input, without its final line break. other is where
// else the password was given, if anywhere.
func (l *loader) passwordFromStdin(on bool, stdin io.Reader, other string) {
	if !on {
		return
	}
	if l.raw[inPassword] != "" {
		l.problemf(inPassword, "is given twice: by --password-stdin and by %s; give it once", other)
		return
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		l.problemf(inPassword, "could not be read from standard input (--password-stdin): %v", err)
		return
	}
	l.raw[inPassword] = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	l.stdinEmpty = l.raw[inPassword] == ""
}

// argError is a command-line problem kept as text until the password is
// known, so that it can be withheld from the message.
type argError struct {
	msg      string
	position int    // 1-based index of a stray argument; 0 for a flag error
	dashes   string // how the flag at fault was written: "-" (-v) or "--" (--v)
}

// parseArgs reports every bad flag and stray argument, not just the first:
// the flag package stops at the first one, so parsing resumes after it.
func parseArgs(fs *flag.FlagSet, args []string) (errs []argError, help bool) {
	rest := args
	for len(rest) > 0 {
		err := fs.Parse(rest)
		if err == flag.ErrHelp {
			return nil, true
		}
		left := fs.Args()
		switch {
		case err != nil:
			e := argError{msg: err.Error(), dashes: "--"}
			// The flag package has consumed the flag at fault, and names it
			// with one dash whichever way it was written: keep the user's.
			if n := len(rest) - len(left); n > 0 && !strings.HasPrefix(rest[n-1], "--") {
				e.dashes = "-"
			}
			errs = append(errs, e)
			// Only a malformed flag (---x) is left unconsumed; the length
			// check guarantees progress whatever the flag package does.
			if len(left) > 0 && (len(left) == len(rest) || strings.HasPrefix(err.Error(), "bad flag syntax")) {
				left = left[1:]
			}
		case len(left) > 0:
			errs = append(errs, argError{position: len(args) - len(left) + 1})
			left = left[1:]
		}
		rest = left
	}
	return errs, false
}

// resolve picks each input's text from the flag, ECS_REGISTRY_ROTATE_<NAME>,
// INPUT_<NAME> or the default, in that order.
func resolve(fs *flag.FlagSet, getenv func(string) string) map[string]string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	raw := make(map[string]string, len(specs))
	for _, s := range specs {
		own := strings.TrimSpace(getenv(ownEnvName(s.name)))
		env := strings.TrimSpace(getenv(envName(s.name)))
		switch {
		case set[s.name]:
			raw[s.name] = fs.Lookup(s.name).Value.String()
		case own != "":
			raw[s.name] = own
		case env != "":
			raw[s.name] = env
		default:
			raw[s.name] = s.def
		}
	}
	return raw
}

// envConflicts warns, under Actions, of each input whose
// ECS_REGISTRY_ROTATE_<NAME> variable (from the job's or the step's env:)
// differs from its INPUT_<NAME> (the step's with:, or action.yml's default):
// the variable wins, which a reader of the workflow's with: would not
// guess. A flag given for the input overrides both, and nothing is said.
// The password's values are never shown, nor any value that holds it.
func (l *loader) envConflicts(fs *flag.FlagSet, getenv func(string) string) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// The password that lost is as secret as the one that won.
	losing := strings.TrimSpace(getenv(envName(inPassword)))
	show := func(v string) string {
		if losing != "" && strings.Contains(v, losing) {
			return withheld
		}
		return l.show(v)
	}
	for _, s := range specs {
		own := strings.TrimSpace(getenv(ownEnvName(s.name)))
		input := strings.TrimSpace(getenv(envName(s.name)))
		if set[s.name] || own == "" || input == "" || own == input {
			continue
		}
		if s.name == inPassword {
			l.warnings = append(l.warnings, fmt.Sprintf("%s and %s (the step's with: %s) differ; %s wins (the values are not shown): set the password in one place",
				ownEnvName(s.name), envName(s.name), s.name, ownEnvName(s.name)))
			continue
		}
		l.warnings = append(l.warnings, fmt.Sprintf("%s is %s but %s (the step's with: %s, or its default) is %s; %s wins: set %s in one place",
			ownEnvName(s.name), show(own), envName(s.name), s.name, show(input), ownEnvName(s.name), s.name))
	}
}

// argProblems turns command-line errors into Problems. A stray argument is
// not echoed: after a mistyped flag (--passwrod hunter2) it is the password.
func (l *loader) argProblems(errs []argError) {
	for _, e := range errs {
		if e.position > 0 {
			l.problemf("", "unexpected argument at position %d (not shown, it may be a secret): "+
				"every input is a flag, --name value or --name=value, and a boolean takes its value after \"=\", as --wait=false", e.position)
			continue
		}
		l.problemf("", "%s; run with --help for the list of flags", l.withhold(flagErrorText(e.msg, e.dashes)))
	}
}

// flagErrorText words the flag package's errors with the flag as the user
// wrote it (dashes: "-v" stays -v, "--clutser" stays --clutser). A malformed
// flag is echoed whole, so any "=value" is dropped: it may be the password.
func flagErrorText(msg, dashes string) string {
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + dashes + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag " + dashes + name + " needs a value"
	}
	msg, _, _ = strings.Cut(msg, "=")
	return msg
}

// sortedProblems orders problems as the contract lists the inputs, command-line
// problems first, so the output reads like the table.
func (l *loader) sortedProblems() Problems {
	rank := map[string]int{"": -1}
	for i, s := range specs {
		rank[s.name] = i
	}
	ps := slices.Clone(l.problems)
	slices.SortStableFunc(ps, func(a, b Problem) int { return rank[a.Input] - rank[b.Input] })
	return ps
}

func (l *loader) problemf(input, format string, args ...any) {
	l.perInput[input]++
	switch n := l.perInput[input]; {
	case n <= maxProblemsPerInput:
		l.problems = append(l.problems, Problem{Input: input, Message: fmt.Sprintf(format, args...)})
	case n == maxProblemsPerInput+1:
		l.problems = append(l.problems, Problem{Input: input})
	}
}

// countOmitted words the last problem of an input that had more than
// maxProblemsPerInput: how many were left out.
func (l *loader) countOmitted() {
	for i, p := range l.problems {
		if p.Message == "" {
			l.problems[i].Message = fmt.Sprintf("and %d more problems like the ones above (only the first %d are listed)",
				l.perInput[p.Input]-maxProblemsPerInput, maxProblemsPerInput)
		}
	}
}
