package inputs

import (
	"strconv"
	"strings"
	"unicode"
)

// registry checks the registry input's form; the plan turns it into the key
// the ECS agent matches (registryauth.Key) and says when that differs.
func (l *loader) registry() string {
	v := l.raw[inRegistry]
	if msg := l.registryProblem(v); msg != "" {
		l.problemf(inRegistry, "%s; use a registry such as %s, ghcr.io or registry.example.com:5000/team", msg, DefaultRegistry)
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
	hostPort, _, _ := strings.Cut(rest, "/")
	host, port, hasPort := strings.Cut(hostPort, ":")
	if !hostMatch.MatchString(host) {
		return "host " + l.show(host) + " is not a host name (letters, digits, dots and hyphens)"
	}
	if n, err := strconv.Atoi(port); hasPort && (!portMatch.MatchString(port) || err != nil || n < 1 || n > 65535) {
		return "port " + l.show(port) + " is not a number from 1 to 65535"
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
