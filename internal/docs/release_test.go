package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text under a README heading, to the next heading of the
// same or a higher level.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	for i, line := range lines {
		m := heading.FindStringSubmatch(line)
		if m == nil || m[2] != title {
			continue
		}
		var body []string
		for _, l := range lines[i+1:] {
			if n := heading.FindStringSubmatch(l); n != nil && len(n[1]) <= len(m[1]) {
				break
			}
			body = append(body, l)
		}
		return strings.Join(body, "\n")
	}
	t.Fatalf("no section %q", title)
	return ""
}

var (
	goreleaserInstall = regexp.MustCompile(`go install github\.com/goreleaser/goreleaser/v2@(v[0-9][^\s` + "`" + `]*)`)
	goreleaserAction  = regexp.MustCompile(`uses: goreleaser/goreleaser-action@[^\n]*\n(?:[^\n]*\n){0,4}?\s+version: (\S+)`)
	releasedVersion   = regexp.MustCompile(`(?m)^## \[[0-9]`)
	imageDockerfile   = regexp.MustCompile(`(?m)^runs:\n(?:  .*\n)*?  image: Dockerfile\s*$`)
)

// Issue #15, point 7: RELEASING.md names the goreleaser to install, the one
// CI and the release run (whose go.mod our Go can build).
func TestReleasingGoreleaserIsCIs(t *testing.T) {
	m := goreleaserInstall.FindStringSubmatch(readFile(t, "../../RELEASING.md"))
	if m == nil {
		t.Fatal("RELEASING.md does not say which goreleaser to install (go install github.com/goreleaser/goreleaser/v2@vX.Y.Z)")
	}
	for _, wf := range []string{"ci.yml", "release.yml"} {
		uses := goreleaserAction.FindAllStringSubmatch(readFile(t, "../../.github/workflows/"+wf), -1)
		if len(uses) == 0 {
			t.Errorf("%s runs no goreleaser-action with a version:", wf)
		}
		for _, u := range uses {
			if u[1] != m[1] {
				t.Errorf("%s runs goreleaser %s, RELEASING.md installs %s", wf, u[1], m[1])
			}
		}
	}
}

// Issue #15, point 7: until the first release, the Quick start says that
// @v1, the image and the archives come with it, and how to use a commit
// meanwhile, which is true while action.yml builds the Dockerfile. The
// first release's CHANGELOG change must drop it.
func TestQuickStartBeforeTheFirstRelease(t *testing.T) {
	readme := readFile(t, "../../README.md")
	// Compared with its line breaks as spaces, so that a rewrap keeps it.
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	quick, cli := flat(section(t, readme, "Quick start")), flat(section(t, readme, "CLI"))
	note := strings.Contains(quick, "**Before the first release.**")
	if releasedVersion.MatchString(readFile(t, "../../CHANGELOG.md")) {
		if note || strings.Contains(cli, "before the first release") {
			t.Error("CHANGELOG.md records a release, but the README still says there is none (Quick start, CLI)")
		}
		return
	}
	for _, want := range []string{"**Before the first release.**", "`@v1`", "ghcr.io/ecs-registry-rotate/ecs-registry-rotate", "archives",
		"uses: ecs-registry-rotate/ecs-registry-rotate@<commit sha>", "builds the image from the Dockerfile"} {
		if !strings.Contains(quick, want) {
			t.Errorf("no release yet, and the Quick start does not say %q", want)
		}
	}
	if !strings.Contains(cli, "before the first release") {
		t.Error("no release yet, and the CLI section offers archives and an image without saying they come with it")
	}
	if !imageDockerfile.MatchString(readFile(t, "../../action.yml")) {
		t.Error("the Quick start says a commit builds the Dockerfile, but action.yml's runs.image is not Dockerfile")
	}
}
