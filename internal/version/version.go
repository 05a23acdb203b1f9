// Package version is the build's version, commit and date, stamped at build
// time with -ldflags "-X ...=...", else read from the module's build info.
package version

import (
	"fmt"
	"runtime/debug"
)

// Set by the release build with -ldflags -X.
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// String is "VERSION (commit COMMIT, built DATE)".
func String() string {
	v, c, d := Version, Commit, Date
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	return fmt.Sprintf("%s (commit %s, built %s)", orUnknown(v, "dev"), orUnknown(c, "unknown"), orUnknown(d, "unknown"))
}

func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}
