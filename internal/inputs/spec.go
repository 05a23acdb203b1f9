package inputs

import (
	"fmt"
	"io"
	"strings"
)

// Input names, exactly as in the contract (the README's reference); a test keeps the two in step.
const (
	inAuthMode              = "auth-mode"
	inSecretID              = "secret-id"
	inUsername              = "username"
	inPassword              = "password"
	inRegistry              = "registry"
	inECSConfigAuthType     = "ecs-config-auth-type"
	inCluster               = "cluster"
	inServices              = "services"
	inMaxServices           = "max-services"
	inForceNewDeployment    = "force-new-deployment"
	inMinimumHealthyPercent = "minimum-healthy-percent"
	inWait                  = "wait"
	inTimeout               = "timeout"
	inPollInterval          = "poll-interval"
	inFailFast              = "fail-fast"
	inRestartAgent          = "restart-agent"
	inECSConfigTransport    = "ecs-config-transport"
	inVerifyCredentials     = "verify-credentials"
	inDryRun                = "dry-run"
	inRollbackOnFailure     = "rollback-on-failure"
	inRoleToAssume          = "role-to-assume"
	inAWSRegion             = "aws-region"
)

// DefaultRegistry is the key under which the ECS agent looks up Docker Hub
// credentials (aws/amazon-ecs-agent dockerauth.go).
const DefaultRegistry = "https://index.docker.io/v1/"

// inputSpec describes one input for the flag set and --help.
type inputSpec struct {
	name    string
	def     string
	arg     string // placeholder in --help; "" for a boolean
	meaning string // one line, condensed from the contract
	// required is shown in --help instead of an empty default.
	required string
}

func (s inputSpec) isBool() bool { return s.arg == "" }

// specs is in the contract's order, which is also the order problems are reported in.
var specs = []inputSpec{
	{name: inAuthMode, def: string(ModeSecretsManager), arg: "MODE",
		meaning: "secrets-manager or ecs-config: where ECS reads the registry credentials"},
	{name: inSecretID, arg: "ID", required: "required in secrets-manager mode",
		meaning: "ARN or name of the secret that task definitions name in repositoryCredentials"},
	{name: inUsername, arg: "USER", required: "required",
		meaning: "the new registry user name"},
	{name: inPassword, arg: "PASS", required: "required",
		meaning: "the new registry password or token; masked before anything is printed"},
	{name: inRegistry, def: DefaultRegistry, arg: "URL",
		meaning: "the registry the credentials are for: the ECS_ENGINE_AUTH_DATA key and the host verify-credentials logs in to"},
	{name: inECSConfigAuthType, def: "dockercfg", arg: "TYPE",
		meaning: "dockercfg or docker: the ECS_ENGINE_AUTH_TYPE written in ecs-config mode"},
	{name: inCluster, arg: "LIST", required: "required",
		meaning: "the ECS clusters, names or ARNs, comma or newline separated, or * for every cluster of the region"},
	{name: inServices, arg: "LIST",
		meaning: "service names or ARNs, comma or newline separated (with several clusters, cluster/service); empty means every service of the clusters that pulls with these credentials"},
	{name: inMaxServices, def: "100", arg: "N",
		meaning: "stop before any change (exit 2) when the plan finds more services than this"},
	{name: inForceNewDeployment, def: "true",
		meaning: "force a new deployment of each service"},
	{name: inMinimumHealthyPercent, arg: "PERCENT",
		meaning: "set the services' minimumHealthyPercent for this deployment (0-200); empty leaves it as it is"},
	{name: inWait, def: "true",
		meaning: "wait for the new deployments to finish"},
	{name: inTimeout, def: "15m", arg: "DURATION",
		meaning: "how long to wait, a Go duration"},
	{name: inPollInterval, def: "5s", arg: "DURATION",
		meaning: "how often to look at the deployments while waiting"},
	{name: inFailFast, def: "true",
		meaning: "fail as soon as a task of the new deployment fails to pull or start"},
	{name: inRestartAgent, def: "true",
		meaning: "ecs-config mode: restart the ECS agent after rewriting ecs.config"},
	{name: inECSConfigTransport, def: TransportParameter, arg: "HOW",
		meaning: "ecs-config mode: parameter (a SecureString SSM parameter that lives only during the run; the command carries only its name) or inline (inside the SSM command, where ssm:ListCommands shows it)"},
	{name: inVerifyCredentials, def: "true",
		meaning: "before writing anything, log in to the registry and check each affected image can be pulled"},
	{name: inDryRun, def: "false",
		meaning: "print the plan (secret, instances, services, images) and change nothing"},
	{name: inRollbackOnFailure, def: "false",
		meaning: "if the rollout fails, put the previous credentials back and roll the services again"},
	{name: inRoleToAssume, arg: "ARN",
		meaning: "assume this IAM role with the job's OIDC token; empty uses the SDK's default chain"},
	{name: inAWSRegion, arg: "REGION",
		meaning: "overrides the SDK's region"},
}

// envName is how the Actions runner names an input's variable: upper-cased,
// hyphens kept (actions/runner Handler.cs).
func envName(input string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(input, " ", "_"))
}

// ownEnvName is the tool's own variable for an input: ECS_REGISTRY_ROTATE_
// and the name upper-cased with underscores, which a shell can export
// (INPUT_SECRET-ID cannot be set with export in bash).
func ownEnvName(input string) string {
	return "ECS_REGISTRY_ROTATE_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
}

// helpWidth is the terminal width --help fits in.
const helpWidth = 80

// helpGroups orders the inputs in --help by what a reader looks for.
var helpGroups = []struct {
	title  string
	inputs []string
}{
	{"What to rotate", []string{inAuthMode, inSecretID, inUsername, inPassword, inRegistry, inECSConfigAuthType}},
	{"Where", []string{inCluster, inServices, inMaxServices}},
	{"How to roll", []string{inForceNewDeployment, inMinimumHealthyPercent, inWait, inTimeout, inPollInterval, inFailFast, inRestartAgent, inECSConfigTransport}},
	{"Safety", []string{inVerifyCredentials, inDryRun, inRollbackOnFailure}},
	{"AWS", []string{inRoleToAssume, inAWSRegion}},
}

// cliOnly are the flags that are no inputs, for --help.
var cliOnly = [][2]string{
	{"--password-stdin", "read the password from standard input (as docker login does)"},
	{"--output-file PATH", "write the outputs as one JSON object to PATH, mode 0600, replacing the file and never writing through a symbolic link (default: stdout)"},
	{"--version", "print the version, commit and build date"},
	{"-h, --help", "print this help"},
}

// writeHelp is hand-written rather than flag.PrintDefaults because that
// omits empty defaults, cannot say which inputs are required, and does not
// fit a terminal.
func writeHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: ecs-registry-rotate --cluster NAME --secret-id ID --username USER
         --password-stdin [flags]
       ecs-registry-rotate --auth-mode ecs-config --cluster NAME --username USER
         --password-stdin [flags]
The password comes from standard input (--password-stdin) or from
ECS_REGISTRY_ROTATE_PASSWORD; a dry run (--dry-run) needs none.

Rotates the private-registry credentials that Amazon ECS pulls images with,
rolls the services onto them and checks that the new tasks really pulled.
`)
	byName := map[string]inputSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	for _, g := range helpGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.inputs {
			s := byName[name]
			text := s.meaning + " (" + defaultNote(s) + ")"
			if name == inPassword {
				text += "; as a flag it shows in the process list: use --password-stdin or ECS_REGISTRY_ROTATE_PASSWORD"
			}
			writeHelpEntry(w, "--"+flagSynopsis(s), text)
		}
	}
	fmt.Fprint(w, "\nCommand line only:\n")
	for _, f := range cliOnly {
		writeHelpEntry(w, f[0], f[1])
	}
	_, _ = io.WriteString(w, `
Every input can also be given as ECS_REGISTRY_ROTATE_<NAME> (upper case,
underscores: ECS_REGISTRY_ROTATE_SECRET_ID). INPUT_<NAME>, as GitHub Actions
sets it (hyphens kept, so no shell can export most of them), is read too. A
flag wins over the first, which wins over the second. Booleans take
true|True|TRUE|false|False|FALSE; as flags, --dry-run alone means true and
--wait=false turns a default off.
AWS access is the SDK's default chain (AWS_REGION, AWS_PROFILE, ...).

Exit status:
  0  every service rolled out on the new credentials, or nothing needed doing
  1  a step failed; the error names the step, the resource and the cause
  2  bad input; nothing was changed

Examples:
  # Rotate a Secrets Manager registry secret and roll every service using it
  printf '%s' "$TOKEN" | ecs-registry-rotate --cluster prod \
    --secret-id prod/registry --username robot --password-stdin

  # See what a rotation would touch, changing nothing
  ecs-registry-rotate --cluster prod --secret-id prod/registry \
    --username robot --dry-run

  # Rewrite ECS_ENGINE_AUTH_DATA on every container instance, then roll
  ECS_REGISTRY_ROTATE_PASSWORD="$TOKEN" ecs-registry-rotate --cluster prod \
    --auth-mode ecs-config --registry ghcr.io --username robot
`)
}

// helpIndent is where the descriptions start.
const helpIndent = 30

// writeHelpEntry prints a flag and its description wrapped at helpWidth.
func writeHelpEntry(w io.Writer, flag, text string) {
	lines := wrap(text, helpWidth-helpIndent)
	first := "  " + flag
	if len(first) >= helpIndent-1 {
		fmt.Fprintln(w, first)
		first = ""
	}
	for i, l := range lines {
		lead := strings.Repeat(" ", helpIndent)
		if i == 0 && first != "" {
			lead = first + strings.Repeat(" ", helpIndent-len(first))
		}
		fmt.Fprintln(w, lead+l)
	}
}

// wrap breaks text into lines of at most width columns at spaces, keeping
// "default: X" on one line.
func wrap(text string, width int) []string {
	const glue = "\x00"
	var lines []string
	line := ""
	for _, word := range strings.Fields(strings.ReplaceAll(text, "default: ", "default:"+glue)) {
		word = strings.ReplaceAll(word, glue, " ")
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

func flagSynopsis(s inputSpec) string {
	if s.isBool() {
		return s.name + "[=BOOL]"
	}
	return s.name + " " + s.arg
}

func defaultNote(s inputSpec) string {
	switch {
	case s.def != "":
		return "default: " + s.def
	case s.required != "":
		return s.required
	default:
		return "default: empty"
	}
}

// MarkdownTable is the README's inputs table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| input | default | meaning |\n|---|---|---|\n")
	for _, s := range specs {
		def := "empty"
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		meaning := s.meaning
		if s.required != "" {
			meaning += " (" + s.required + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.name, def, strings.ReplaceAll(meaning, "|", "\\|"))
	}
	b.WriteString("\nAs a CLI every input is also a flag (`--secret-id`), or the variable `ECS_REGISTRY_ROTATE_<NAME>` (`ECS_REGISTRY_ROTATE_SECRET_ID`), or `INPUT_<NAME>` (`INPUT_SECRET-ID`), in that order of precedence.\n")
	return b.String()
}
