package inputs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// outputFile checks --output-file before anything else happens: the run
// must not change AWS and then fail to write its outputs. The report writes
// the file as a new file in the same directory, mode 0600, renamed over the
// path (so it never writes through a symbolic link and never keeps an older
// file's mode); so the path must not be a symbolic link or anything but a
// regular file, and its directory must take a new file. The check leaves
// nothing behind.
func (l *loader) outputFile(path string) {
	if path == "" {
		return
	}
	if msg := outputFileProblem(path); msg != "" {
		l.problemf("", "--output-file %s %s", l.show(path), msg)
	}
}

func outputFileProblem(path string) string {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return "is a symbolic link: the outputs are never written through one; give the path of a regular file, or of one to create"
	case err == nil && !fi.Mode().IsRegular():
		return "is not a regular file: give the path of a regular file, or of one to create"
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "cannot be checked: " + reason(err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Sprintf("cannot be written: its directory %s takes no new file (%s); the outputs are written as a new file there, then renamed over the path", strconv.Quote(dir), reason(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return ""
}

// reason is an error of the file system without the path it repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
