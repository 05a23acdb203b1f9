package inputs

import (
	"strconv"
	"strings"
	"unicode"
)

// registry checks the registry input's form; the plan turns it into the key
// the ECS agent matches (registryauth.Key: host[:port], or host[:port]/path
// for a key the agent prefers for the images under that path) and says
// when that differs from the input.
func (l *loader) registry() string {
	v := l.raw[inRegistry]
	if msg := l.registryProblem(v); msg != "" {
		l.problemf(inRegistry, "%s; use a registry such as %s, ghcr.io, registry.example.com:5000 or ghcr.io/org (a key for the images under ghcr.io/org only)", msg, DefaultRegistry)
	}
	return v
}

// registryProblem never echoes the whole value: before it is checked, it may
// hold credentials (https://user:pass@host).
func (l *loader) registryProblem(v string) string {
	rest := stripScheme(v)
	switch {
	case v == "":
		return "is empty"
	case strings.ContainsFunc(v, unicode.IsSpace) || strings.ContainsFunc(v, unicode.IsControl):
		return "contains white space or a control character"
	case strings.Contains(rest, "://"):
		return "has a scheme other than http:// or https:// (lower case)"
	case strings.Contains(rest, "@"):
		return "contains \"@\": credentials do not belong in the registry, give them as username and password"
	case strings.ContainsAny(rest, "?#"):
		return "has a query or fragment (\"?\" or \"#\"), which a registry key cannot have"
	}
	hostPort, path, _ := strings.Cut(rest, "/")
	host, port, hasPort := strings.Cut(hostPort, ":")
	if !hostMatch.MatchString(host) {
		return "host " + l.show(host) + " is not a host name (letters, digits, dots and hyphens)"
	}
	if n, err := strconv.Atoi(port); hasPort && (!portMatch.MatchString(port) || err != nil || n < 1 || n > 65535) {
		return "port " + l.show(port) + " is not a number from 1 to 65535"
	}
	if msg := pathProblem(strings.Trim(path, "/")); msg != "" {
		return "path " + l.show(path) + " " + msg
	}
	return ""
}

// pathProblem refuses a registry path the ECS agent could never match as
// written. A path makes a key such as ghcr.io/org, which the agent prefers
// for every image of which it is a string prefix (ghcr.io/org/app, and
// ghcr.io/orgx/app too); it compares the key with the image reference as
// the task definition gives it and again with name@digest, so a path can
// hold only what an image's path holds: letters (lower-cased when the key
// is written), digits, ".", "_", "-" and single "/" between components.
func pathProblem(path string) string {
	switch {
	case path == "":
		return ""
	case strings.Contains(path, "//"):
		return "has an empty component (\"//\"), which no image reference has"
	case strings.ContainsFunc(path, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._-/", r))
	}):
		return "holds a character no image path holds: the ECS agent matches a key's path as a string prefix of each image " +
			"reference, so it can only hold letters, digits, \".\", \"_\", \"-\" and \"/\" (a tag or digest is not part of a key)"
	}
	return ""
}

// stripScheme strips as the ECS agent does: lower-case http:// or https:// only.
func stripScheme(v string) string {
	if rest, ok := strings.CutPrefix(v, "https://"); ok {
		return rest
	}
	return strings.TrimPrefix(v, "http://")
}
