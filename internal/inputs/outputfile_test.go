package inputs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --output-file is checked with the inputs, before anything happens, and
// the check leaves nothing behind.
func TestOutputFileIsCheckedUpFront(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing directory", filepath.Join(dir, "no-such-dir", "out.json"), "cannot be written: its directory"},
		{"symbolic link", link, "is a symbolic link: the outputs are never written through one"},
		{"dangling link", func() string {
			p := filepath.Join(dir, "dangling")
			os.Symlink(filepath.Join(dir, "nowhere"), p)
			return p
		}(), "symbolic link"},
		{"directory", dir, "is not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, []string{"--output-file", tc.path}, requiredEnv())
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Input != "" || !strings.HasPrefix(ps[0].Message, "--output-file ") || !strings.Contains(ps[0].Message, tc.want) {
				t.Errorf("problems %v, want one naming --output-file that says %q", ps, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was changed: %q", b)
	}
	for _, path := range []string{filepath.Join(dir, "new.json"), target} {
		if cfg := mustLoad(t, []string{"--output-file", path}, requiredEnv()); cfg.OutputFile != path {
			t.Errorf("OutputFile = %q", cfg.OutputFile)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // target.json, link.json, dangling
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the check left files behind: %v", names)
	}
}
