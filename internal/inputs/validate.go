package inputs

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// MinPollInterval is the shortest poll-interval accepted. It is a variable
// only so that in-process tests of the whole pipeline can poll a fake AWS
// faster; the binary has no way to change it.
var MinPollInterval = time.Second

// maxProblemsPerInput bounds what one input can print: ten thousand bad
// service names are one mistake, not ten thousand annotations.
const maxProblemsPerInput = 20

const (
	partitionRE = `aws[a-z-]*`
	regionRE    = `[a-z]{2}(?:-[a-z]+)+-[0-9]+`
	ecsNameRE   = `[A-Za-z0-9_-]{1,255}`
	secretRE    = `[A-Za-z0-9/_+=.@-]{1,512}`
	hostLabelRE = `[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?`
	iamNameRE   = `[A-Za-z0-9+=,.@_-]`
)

var (
	ecsNameMatch       = regexp.MustCompile(`^` + ecsNameRE + `$`)
	clusterARNMatch    = regexp.MustCompile(`^arn:` + partitionRE + `:ecs:` + regionRE + `:[0-9]{12}:cluster/(` + ecsNameRE + `)$`)
	serviceARNMatch    = regexp.MustCompile(`^arn:` + partitionRE + `:ecs:` + regionRE + `:[0-9]{12}:service/(` + ecsNameRE + `)/` + ecsNameRE + `$`)
	oldServiceARNMatch = regexp.MustCompile(`^arn:` + partitionRE + `:ecs:` + regionRE + `:[0-9]{12}:service/` + ecsNameRE + `$`)
	secretNameMatch    = regexp.MustCompile(`^` + secretRE + `$`)
	secretARNMatch     = regexp.MustCompile(`^arn:` + partitionRE + `:secretsmanager:` + regionRE + `:[0-9]{12}:secret:` + secretRE + `$`)
	roleARNMatch       = regexp.MustCompile(`^arn:` + partitionRE + `:iam::[0-9]{12}:role/(?:` + iamNameRE + `+/)*` + iamNameRE + `{1,64}$`)
	regionMatch        = regexp.MustCompile(`^` + regionRE + `$`)
	hostMatch          = regexp.MustCompile(`^` + hostLabelRE + `(?:\.` + hostLabelRE + `)*$`)
	portMatch          = regexp.MustCompile(`^[0-9]{1,5}$`)
)

// loader holds the raw text of every input and collects what is wrong with it.
type loader struct {
	raw       map[string]string
	inActions bool
	// stdinEmpty: --password-stdin read nothing from standard input.
	stdinEmpty bool
	problems   Problems
	perInput   map[string]int // problems found per input, listed or not
	warnings   []string
}

func (l *loader) config() Config {
	c := Config{Common: Common{InActions: l.inActions}}
	c.AuthMode = AuthMode(l.oneOf(inAuthMode, string(ModeSecretsManager), string(ModeECSConfig)))
	c.SecretID = l.secretID(c.AuthMode)
	c.Username = l.username()
	c.Password = l.password()
	c.Registry = l.registry()
	c.ECSConfigAuthType = l.oneOf(inECSConfigAuthType, "dockercfg", "docker")
	c.Cluster, c.Clusters, c.AllClusters = l.clusters()
	c.Services = l.services(c.Clusters, c.AllClusters)
	c.MaxServices = l.maxServices()
	c.ForceNewDeployment = l.boolean(inForceNewDeployment)
	c.MinimumHealthyPercent = l.percent()
	c.Wait = l.boolean(inWait)
	c.Timeout, c.PollInterval = l.durations()
	c.FailFast = l.boolean(inFailFast)
	c.RestartAgent = l.boolean(inRestartAgent)
	c.ECSConfigTransport = l.oneOf(inECSConfigTransport, TransportParameter, TransportInline)
	c.VerifyCredentials = l.boolean(inVerifyCredentials)
	c.DryRun = l.boolean(inDryRun)
	c.RollbackOnFailure = l.boolean(inRollbackOnFailure)
	c.RoleToAssume = l.optional(inRoleToAssume, roleARNMatch,
		"is not an IAM role ARN; use arn:aws:iam::<12-digit account>:role/<name> (a path before the name is allowed), or leave it empty")
	l.checkPartition(inRoleToAssume, c.RoleToAssume)
	c.AWSRegion = l.optional(inAWSRegion, regionMatch,
		"is not an AWS region code; use one such as us-east-1, eu-central-2, us-gov-west-1 or cn-north-1, or leave it empty")
	c.Warnings = l.warnings
	return c
}

// show quotes a value for a message unless it holds the password: a password
// pasted into the wrong input must not be echoed into the job log. The raw
// value is compared before quoting, since quoting escapes a password holding
// quotes, backslashes or control characters into another string.
func (l *loader) show(v string) string {
	if l.holdsPassword(v) {
		return withheld
	}
	return strconv.Quote(v)
}

const withheld = "(value not shown: it contains the password)"

// withhold is show for text that is printed as it is, such as the flag
// package's errors, which may quote or escape what they echo.
func (l *loader) withhold(s string) string {
	if l.holdsPassword(s) {
		return withheld
	}
	return s
}

func (l *loader) holdsPassword(s string) bool {
	pw := l.raw[inPassword]
	if pw == "" {
		return false
	}
	quoted := strconv.Quote(pw)
	return strings.Contains(s, pw) || strings.Contains(s, quoted[1:len(quoted)-1])
}

// checkPartition adds a problem for an ARN whose partition is unknown or
// does not hold its region.
func (l *loader) checkPartition(input, v string) {
	if !strings.HasPrefix(v, "arn:") {
		return
	}
	if msg := arnPartitionProblem(v); msg != "" {
		l.problemf(input, "%s %s", l.show(v), msg)
	}
}

// missing tells how to set a required input in the way the user runs the
// tool. On a command line that is the flag or the tool's own variable
// (ECS_REGISTRY_ROTATE_SECRET_ID), never INPUT_SECRET-ID, which a shell
// cannot export; the password is never suggested as a flag, which would put
// it in the process list.
func (l *loader) missing(input, what string) {
	how := "pass --" + input + " or set " + ownEnvName(input)
	switch {
	case l.inActions:
		how = "set " + input + " under the step's with:"
	case input == inPassword:
		how = "pipe it to --password-stdin or set " + ownEnvName(input)
	}
	l.problemf(input, "is required: %s; %s", what, how)
}

// ref names inputs in a hint as the user gives them (Config.Refer).
func (l *loader) ref(names ...string) string { return refer(l.inActions, names...) }

func (l *loader) oneOf(input string, allowed ...string) string {
	v := l.raw[input]
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.problemf(input, "%s is not allowed; use %s", l.show(v), strings.Join(allowed, " or "))
	return ""
}

// boolean accepts exactly what the Actions toolkit's getBooleanInput accepts,
// so a workflow behaves the same here as with a JavaScript action.
func (l *loader) boolean(input string) bool {
	switch l.raw[input] {
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	l.problemf(input, "%s is not a boolean; use true, True, TRUE, false, False or FALSE", l.show(l.raw[input]))
	return false
}

func (l *loader) optional(input string, re *regexp.Regexp, complaint string) string {
	v := l.raw[input]
	if v != "" && !re.MatchString(v) {
		l.problemf(input, "%s %s", l.show(v), complaint)
	}
	return v
}

// clusters reads the cluster input: names or ARNs separated by commas or
// new lines, or "*" alone for every cluster of the region.
func (l *loader) clusters() (given string, clusters []string, all bool) {
	given = strings.TrimSpace(l.raw[inCluster])
	list := splitList(given)
	switch {
	case len(list) == 0:
		l.missing(inCluster, "the ECS cluster names or ARNs, or * for every cluster of the region")
		return given, nil, false
	case len(list) == 1 && list[0] == "*":
		return given, nil, true
	}
	names := map[string]string{} // name → as given, to refuse one cluster named twice in two forms
	for _, c := range list {
		switch {
		case c == "*":
			l.problemf(inCluster, "* stands alone for every cluster of the region; list clusters by name or ARN, or give * alone")
		case !ecsNameMatch.MatchString(c) && !clusterARNMatch.MatchString(c):
			l.problemf(inCluster, "%s is neither a cluster name (1-255 letters, digits, - and _) "+
				"nor an ECS cluster ARN (arn:aws:ecs:<region>:<12-digit account>:cluster/<name>)", l.show(c))
		default:
			l.checkPartition(inCluster, c)
			if first, seen := names[clusterName(c)]; seen && first != c {
				l.problemf(inCluster, "%s and %s name the same cluster; give it once", l.show(first), l.show(c))
				continue
			}
			names[clusterName(c)] = c
		}
		clusters = append(clusters, c)
	}
	return given, clusters, false
}

// splitList splits a list input at commas and new lines, trimmed, blanks
// and duplicates removed, order kept.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// clusterName is what a service ARN's cluster segment is compared with; ""
// when the cluster is invalid, so that no second problem follows from it.
func clusterName(cluster string) string {
	if m := clusterARNMatch.FindStringSubmatch(cluster); m != nil {
		return m[1]
	}
	if ecsNameMatch.MatchString(cluster) {
		return cluster
	}
	return ""
}

func (l *loader) secretID(mode AuthMode) string {
	v := l.raw[inSecretID]
	switch {
	case v == "" && mode == ModeSecretsManager:
		l.missing(inSecretID, "the secret's name or ARN, in secrets-manager mode")
	case v == "":
	case !secretNameMatch.MatchString(v) && !secretARNMatch.MatchString(v):
		l.problemf(inSecretID, "%s is neither a secret name (1-512 ASCII letters, digits and /_+=.@-) "+
			"nor a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>)", l.show(v))
	case secretARNMatch.MatchString(v) && arnPartitionProblem(v) != "":
		l.checkPartition(inSecretID, v)
	case mode == ModeECSConfig:
		l.warnings = append(l.warnings, l.ref(inSecretID)+" is ignored in ecs-config mode")
	}
	return v
}

func (l *loader) username() string {
	v := l.raw[inUsername]
	switch {
	case v == "":
		l.missing(inUsername, "the new registry user name")
	case strings.Contains(v, ":"):
		l.problemf(inUsername, `contains ":", which registry basic auth reads as the end of the user name; use a user name without ":"`)
	case strings.ContainsFunc(v, isSpaceOrControl) || !utf8.ValidString(v):
		l.problemf(inUsername, "contains white space, a control character or invalid UTF-8; use a user name of printable characters without spaces")
	}
	return v
}

// password never shows the value, not even in part: the problem is printed
// before anything could mask it.
func (l *loader) password() string {
	v := l.raw[inPassword]
	switch {
	case v == "" && l.raw[inDryRun] == "true":
		// A dry run only plans: it writes and verifies nothing.
	case v == "" && l.stdinEmpty:
		l.problemf(inPassword, "is empty: --password-stdin read nothing from standard input; "+
			"pipe the password into it, as printf '%%s' \"$TOKEN\" | ecs-registry-rotate ... --password-stdin, or set %s", ownEnvName(inPassword))
	case v == "":
		l.missing(inPassword, "the new registry password or token")
	case strings.ContainsFunc(v, unicode.IsControl) || !utf8.ValidString(v):
		l.problemf(inPassword, "contains a newline, another control character or invalid UTF-8, "+
			"which cannot be written safely into ecs.config or the secret (the value is not shown); "+
			"use a password of printable characters")
	case utf8.RuneCountInString(v) < MinPasswordLength:
		// A short password also defeats masking: the runner would hide
		// every occurrence of "1" or "success" in the log and the outputs.
		l.problemf(inPassword, "is shorter than %d characters (the value is not shown); registries issue longer passwords and tokens, "+
			"and a short one cannot be masked in the log without hiding ordinary words", MinPasswordLength)
	}
	return v
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// services reads the services input against the clusters: a service ARN
// or a cluster/name must name one of them (any, with "*").
func (l *loader) services(clusters []string, all bool) []string {
	names := make([]string, 0, len(clusters))
	for _, c := range clusters {
		if n := clusterName(c); n != "" {
			names = append(names, n)
		}
	}
	out := splitList(l.raw[inServices])
	for _, s := range out {
		l.checkService(s, names, all)
	}
	return out
}

func (l *loader) checkService(s string, clusters []string, all bool) {
	if ecsNameMatch.MatchString(s) {
		return
	}
	if oldServiceARNMatch.MatchString(s) {
		l.checkPartition(inServices, s)
		return
	}
	if cluster, name, ok := strings.Cut(s, "/"); ok && ecsNameMatch.MatchString(cluster) && ecsNameMatch.MatchString(name) {
		l.checkServiceCluster(s, cluster, clusters, all)
		return
	}
	m := serviceARNMatch.FindStringSubmatch(s)
	if m == nil {
		l.problemf(inServices, "%s is neither a service name (1-255 letters, digits, - and _), a cluster/service name, nor an ECS service ARN "+
			"(arn:aws:ecs:<region>:<12-digit account>:service/<cluster>/<name>)", l.show(s))
		return
	}
	l.checkServiceCluster(s, m[1], clusters, all)
	l.checkPartition(inServices, s)
}

// checkServiceCluster refuses a service of a cluster that the run does not
// cover.
func (l *loader) checkServiceCluster(s, cluster string, clusters []string, all bool) {
	if all || len(clusters) == 0 || slices.Contains(clusters, cluster) {
		return
	}
	if len(clusters) == 1 {
		l.problemf(inServices, "%s belongs to cluster %q, not to %s %q; list only services of cluster %q",
			l.show(s), cluster, l.ref(inCluster), clusters[0], clusters[0])
		return
	}
	l.problemf(inServices, "%s belongs to cluster %q, which %s does not list (%s); add the cluster or leave the service out",
		l.show(s), cluster, l.ref(inCluster), strings.Join(clusters, ", "))
}

// maxServices reads max-services: a whole number of at least 1.
func (l *loader) maxServices() int {
	v := l.raw[inMaxServices]
	if v == "" {
		v = "100" // an empty input is the default, as an unset one
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		l.problemf(inMaxServices, "%s is not allowed; use a whole number of at least 1 (default 100)", l.show(v))
		return 0
	}
	return n
}

func (l *loader) percent() *int32 {
	v := l.raw[inMinimumHealthyPercent]
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 200 {
		l.problemf(inMinimumHealthyPercent, "%s is not allowed; use a whole number from 0 to 200 (without %%), or leave it empty", l.show(v))
		return nil
	}
	p := int32(n)
	return &p
}

func (l *loader) durations() (timeout, poll time.Duration) {
	timeout = l.duration(inTimeout)
	poll = l.duration(inPollInterval)
	if poll > 0 && poll < MinPollInterval {
		l.problemf(inPollInterval, "%s is shorter than %s; ECS changes no faster, and a shorter poll only spends API calls and throttling budget: use 1s or more (default 5s)",
			poll, MinPollInterval)
		return timeout, 0
	}
	if timeout > 0 && poll >= timeout {
		l.problemf(inPollInterval, "poll-interval %s must be shorter than timeout %s; lower %s (such as 5s) or raise %s (such as 15m)",
			poll, timeout, l.ref(inPollInterval), l.ref(inTimeout))
	}
	return timeout, poll
}

func (l *loader) duration(input string) time.Duration {
	v := l.raw[input]
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		l.problemf(input, "%s is not a Go duration; write a number with a unit, such as 15m, 90s or 1h30m", l.show(v))
	case d <= 0:
		l.problemf(input, "%s is not longer than zero; use a positive duration such as 15m or 90s", l.show(v))
	default:
		return d
	}
	return 0
}
