package verify

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

const redacted = "***"

// scrubber removes the password from text. Details are built from the
// library's errors and the registry's own error messages, either of which
// could echo a request URL, a header or a body; this is the last line of
// defence, so it also knows the encoded forms a password takes on the wire.
type scrubber struct{ forms []string }

func newScrubber(c Credentials) scrubber {
	if c.Password == "" {
		return scrubber{}
	}
	p := c.Password
	forms := []string{p, url.QueryEscape(p), url.PathEscape(p), jsonEscape(p)}
	if u := url.UserPassword(c.Username, p).String(); strings.HasPrefix(u, c.Username+":") {
		forms = append(forms, strings.TrimPrefix(u, c.Username+":"))
	}
	for _, plain := range []string{c.Username + ":" + p, p} {
		forms = append(forms, base64Forms(plain)...)
	}
	// Longest first, so that a form containing another is removed whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return scrubber{forms: forms}
}

func base64Forms(s string) []string {
	b := []byte(s)
	return []string{
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}

func (s scrubber) String(text string) string {
	for _, f := range s.forms {
		if f != "" {
			text = strings.ReplaceAll(text, f, redacted)
		}
	}
	return text
}
