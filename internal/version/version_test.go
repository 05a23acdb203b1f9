package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFillPrefersStampedValues(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "ffffffffffffffffffffffffffffffffffffffff"},
		{Key: "vcs.time", Value: "2020-01-01T00:00:00Z"},
	}}
	v, c, d := fill("v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z", info, true)
	if v != "v1.2.3" || c != "0123456789abcdef0123456789abcdef01234567" || d != "2026-01-02T03:04:05Z" {
		t.Errorf("fill = %q %q %q, want the stamped values", v, c, d)
	}
}

func TestFillFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		info    *debug.BuildInfo
		ok      bool
		v, c, d string
	}{
		{"go install of a tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true,
			"v1.4.0", "unknown", "unknown"},
		{"build from a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, true, "dev", "0123456789abcdef0123456789abcdef01234567-dirty", "2026-01-02T03:04:05Z"},
		{"no build information", nil, false, "dev", "unknown", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, c, d := fill("", "", "", tc.info, tc.ok)
			if v != tc.v || c != tc.c || d != tc.d {
				t.Errorf("fill = %q %q %q, want %q %q %q", v, c, d, tc.v, tc.c, tc.d)
			}
		})
	}
}

func TestStringNamesVersionCommitAndDate(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })

	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567-dirty", "2026-01-02T03:04:05Z"
	if got, want := String(), "v1.2.3 (commit 0123456789ab-dirty, built 2026-01-02T03:04:05Z)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	Version, Commit, Date = "dev", "unknown", "unknown"
	if got := String(); !strings.HasPrefix(got, "dev (commit unknown") {
		t.Errorf("String() = %q", got)
	}
}

// The test binary itself went through init: nothing is left empty.
func TestInitLeavesNothingEmpty(t *testing.T) {
	if Version == "" || Commit == "" || Date == "" {
		t.Errorf("after init: Version %q, Commit %q, Date %q", Version, Commit, Date)
	}
}
