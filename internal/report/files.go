package report

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// writePrivateFile writes data to path as --output-file wants it: a new
// file in the same directory, mode 0600, synced, then renamed over path. A
// rename replaces a symbolic link rather than writing through it, and the
// file never keeps an older file's mode; a path that is a symbolic link now
// is refused all the same, as inputs refused it at the start.
func writePrivateFile(path string, data []byte) (err error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link: the outputs are never written through one", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
