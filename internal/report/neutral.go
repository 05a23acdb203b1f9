package report

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxOutside is the most characters of one string from outside (an AWS
// reason or error, a registry's answer, an instance's output) that reach a
// log line, an annotation, the summary or an output. ECS caps a task's
// stoppedReason at 255 characters; a hostile or broken endpoint caps
// nothing.
const MaxOutside = 1024

// maxLine bounds one log line or annotation: a few outside strings, each
// within MaxOutside, and the words around them.
const maxLine = 8 * MaxOutside

// Bound keeps the first MaxOutside characters of s and says how many were
// left out: "…(N more characters)". It is the one place where outside text
// is cut: Neutral (the summary's cells), the Reporter's lines (each string
// or error argument) and the outputs use it. A string Bound already cut
// comes back unchanged.
func Bound(s string) string { return bound(s, MaxOutside) }

func bound(s string, limit int) string {
	n := utf8.RuneCountInString(s)
	if n <= limit {
		return s
	}
	seen := 0
	for i := range s {
		if seen == limit {
			if rest := s[i:]; len(rest) <= 48 && boundMarker.MatchString(rest) {
				return s // cut by Bound already
			}
			return s[:i] + fmt.Sprintf("…(%d more characters)", n-limit)
		}
		seen++
	}
	return s
}

var boundMarker = regexp.MustCompile(`^…\([0-9]+ more characters\)$`)

// Neutral makes text from outside (AWS, a registry, a task's reason, an
// instance's script) safe to print on one log line: cut to MaxOutside
// characters (Bound), line breaks and other control, format and
// bidirectional characters shown as escapes, and the runner's legacy "##["
// command prefix, which it honours anywhere in a line, broken up. With line
// breaks gone, no outside text can start a line, so "::" commands stay ours;
// Reporter.line guards a line's start as well.
func Neutral(s string) string { return escape(Bound(s)) }

func escape(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.ReplaceAll(b.String(), "##[", "## [")
}

// line is what the Reporter prints as one plain log line: escaped as Neutral
// escapes, at most maxLine characters (its outside parts were each cut to
// MaxOutside before), and never starting (after white space, which the runner trims) with "::", so that it
// cannot be read as a workflow command.
func line(s string) string {
	s = escape(bound(s, maxLine))
	if strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "::") {
		return "› " + s
	}
	return s
}

// md shows outside text literally in Markdown, also inside a table cell:
// every ASCII punctuation character is backslash-escaped (CommonMark honours
// that for all of them), which also stops GitHub's autolinks, emphasis,
// headings, images and HTML; line breaks become spaces.
func md(s string) string { return mdBounded(s, MaxOutside) }

// mdBounded is md with another limit than MaxOutside.
func mdBounded(s string, limit int) string {
	s = escape(bound(s, limit))
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for _, r := range s {
		if r < utf8.RuneSelf && unicode.IsPunct(r) || r < utf8.RuneSelf && unicode.IsSymbol(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
