package report

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// appendFile appends to a file the runner gave us (GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY), reporting instead of panicking when it cannot.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// outputBlock is one output in GITHUB_OUTPUT's name<<delimiter form, with a
// delimiter drawn at random for each value as GitHub's own toolkit does, so
// that no value can end itself early and start an output of its choosing.
func outputBlock(name, value string) (string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("draw an output delimiter: %w", err)
	}
	delim := "ghadelimiter_" + hex.EncodeToString(raw[:])
	if strings.Contains(name, delim) || strings.Contains(value, delim) {
		return "", fmt.Errorf("output %s contains its own delimiter", name)
	}
	return fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim), nil
}
