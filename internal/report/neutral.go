package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Neutral makes text from outside (AWS, a registry, a task's reason, an
// instance's script) safe to print on one log line: line breaks and other
// control, format and bidirectional characters are shown as escapes, and the
// runner's legacy "##[" command prefix, which it honours anywhere in a line,
// is broken up. With line breaks gone, no outside text can start a line, so
// "::" commands stay ours; Reporter.line guards a line's start as well.
func Neutral(s string) string {
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

// line is what the Reporter prints as one plain log line: neutral, and never
// starting (after white space, which the runner trims) with "::", so that it
// cannot be read as a workflow command.
func line(s string) string {
	s = Neutral(s)
	if strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "::") {
		return "› " + s
	}
	return s
}

// md shows outside text literally in Markdown, also inside a table cell:
// every ASCII punctuation character is backslash-escaped (CommonMark honours
// that for all of them), which also stops GitHub's autolinks, emphasis,
// headings, images and HTML; line breaks become spaces.
func md(s string) string {
	s = Neutral(s)
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
