package inputs

import (
	"errors"
	"flag"
	"strings"
)

// ErrHelp is returned by Load for --help or -h, after the usage text was
// written; the caller exits 0. It is flag.ErrHelp, so either name matches.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by Load for --version, after the version was
// written; the caller exits 0.
var ErrVersion = errors.New("version requested")

// Problem is one bad input. Message says what was wrong and what is allowed;
// it never contains the password. Input is empty for a problem with the
// command line itself (an unknown flag, a stray argument).
type Problem struct {
	Input   string
	Message string
}

func (p Problem) Error() string {
	if p.Input == "" {
		return "arguments: " + p.Message
	}
	return "input " + p.Input + ": " + p.Message
}

// Problems is every bad input found by Load, in the contract's order, so that
// a user fixes them all in one go instead of one per run.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}
