// Package version says which build of ecs-registry-rotate is running.
//
// Release builds stamp the three variables with the linker:
//
//	go build -ldflags "-X github.com/ecs-registry-rotate/ecs-registry-rotate/internal/version.Version=v1.2.3 \
//	  -X github.com/ecs-registry-rotate/ecs-registry-rotate/internal/version.Commit=<sha> \
//	  -X github.com/ecs-registry-rotate/ecs-registry-rotate/internal/version.Date=<RFC 3339>"
//
// A variable left empty is filled from what the Go toolchain recorded in the
// binary: the module version for `go install …@v1.2.3`, and the VCS
// revision and commit time for a build from a git checkout.
package version

import (
	"runtime/debug"
	"strings"
)

// Stamped at build time with -ldflags -X; empty means "ask the toolchain".
var (
	Version string // a tag such as v1.2.3, or "dev"
	Commit  string // the full commit id, "-dirty" appended for a modified tree, or "unknown"
	Date    string // the commit's time, RFC 3339, or "unknown"
)

func init() {
	info, ok := debug.ReadBuildInfo()
	Version, Commit, Date = fill(Version, Commit, Date, info, ok)
}

// fill returns the stamped values, with each empty one taken from the build
// information or, lacking that, a placeholder.
func fill(version, commit, date string, info *debug.BuildInfo, ok bool) (string, string, string) {
	if ok && info != nil {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if commit == "" && settings["vcs.revision"] != "" {
			commit = settings["vcs.revision"]
			if settings["vcs.modified"] == "true" {
				commit += "-dirty"
			}
		}
		if date == "" {
			date = settings["vcs.time"]
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return version, commit, date
}

// String is the one line `--version` prints:
// "v1.2.3 (commit 0123456789ab, built 2026-01-02T03:04:05Z)".
func String() string {
	return Version + " (commit " + short(Commit) + ", built " + Date + ")"
}

// short keeps the first 12 characters of a full commit id (and a "-dirty"
// mark), which is what people paste into `git show`.
func short(commit string) string {
	id, dirty := strings.CutSuffix(commit, "-dirty")
	if len(id) == 40 || len(id) == 64 {
		id = id[:12]
	}
	if dirty {
		id += "-dirty"
	}
	return id
}
