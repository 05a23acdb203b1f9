package verify

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestScrubRemovesEveryForm(t *testing.T) {
	c := Credentials{Username: "ci-bot", Password: `p@ss:w/rd "q"+ü`}
	basic := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	texts := map[string]string{
		"clear":         "token request for " + c.Password + " failed",
		"query":         "GET https://auth.example.com/token?password=" + url.QueryEscape(c.Password) + ": 401",
		"path":          "GET https://example.com/" + url.PathEscape(c.Password) + "/x",
		"userinfo":      "GET https://" + url.UserPassword(c.Username, c.Password).String() + "@example.com/v2/",
		"json":          `{"details":"bad password ` + jsonEscape(c.Password) + `"}`,
		"basic header":  "Authorization: Basic " + basic,
		"raw base64url": "auth=" + base64.RawURLEncoding.EncodeToString([]byte(c.Username+":"+c.Password)),
		"password b64":  "x-pass: " + base64.StdEncoding.EncodeToString([]byte(c.Password)),
		"wrapped":       fmt.Errorf("log in: %w", fmt.Errorf("echo: %w", errors.New("Basic "+basic))).Error(),
	}
	s := newScrubber(c)
	for name, text := range texts {
		got := s.String(text)
		if strings.Contains(got, c.Password) || strings.Contains(got, basic) || !strings.Contains(got, redacted) {
			t.Errorf("%s: scrubbed %q to %q", name, text, got)
		}
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	text := "registry.example.com rejected the login of user \"ci-bot\" (HTTP 401)"
	if got := newScrubber(Credentials{Username: "ci-bot", Password: "hunter2-long"}).String(text); got != text {
		t.Errorf("scrub changed %q to %q", text, got)
	}
	if got := newScrubber(Credentials{Username: "ci-bot"}).String(text); got != text {
		t.Errorf("scrub without a password changed %q to %q", text, got)
	}
}

// TestCauseNeverCutsAPasswordInHalf: a long registry message is cut short,
// and the cut must not leave a prefix of the password behind.
func TestCauseNeverCutsAPasswordInHalf(t *testing.T) {
	c := Credentials{Username: "ci", Password: "Abcdefghijklmnopqrstuvwxyz-0123456789"}
	r := newRun(c, Options{}.withDefaults())
	for pad := maxCause - len(c.Password); pad <= maxCause; pad++ {
		err := errors.New(strings.Repeat("x", pad) + c.Password + " and more")
		if got := r.cause(err); strings.Contains(got, c.Password[:8]) {
			t.Fatalf("pad %d: cause %q keeps part of the password", pad, got)
		}
	}
}
