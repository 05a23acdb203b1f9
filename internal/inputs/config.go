// Package inputs reads the action's inputs (INPUT_* under GitHub Actions, flags
// elsewhere), validates every one of them and produces one immutable Config.
package inputs

import (
	"strings"
	"time"
)

// AuthMode says where ECS reads the registry credentials from.
type AuthMode string

const (
	ModeSecretsManager AuthMode = "secrets-manager"
	ModeECSConfig      AuthMode = "ecs-config"
)

// How the auth data reaches the instances in ecs-config mode.
const (
	TransportParameter = "parameter"
	TransportInline    = "inline"
)

// Config is every input of the contract, parsed and validated. It is built once
// by Load and never changed afterwards.
type Config struct {
	AuthMode              AuthMode
	SecretID              string
	Username              string
	Password              string
	Registry              string
	ECSConfigAuthType     string // "dockercfg" or "docker"
	Cluster               string
	Services              []string // blanks and duplicates removed, order kept
	ForceNewDeployment    bool
	MinimumHealthyPercent *int32 // nil: leave the services' value as it is
	Wait                  bool
	Timeout               time.Duration
	PollInterval          time.Duration
	FailFast              bool
	RestartAgent          bool
	ECSConfigTransport    string // TransportParameter or TransportInline
	VerifyCredentials     bool
	DryRun                bool
	RollbackOnFailure     bool
	RoleToAssume          string
	AWSRegion             string

	// OutputFile is --output-file: where a CLI run writes its outputs as JSON.
	OutputFile string

	// InActions is true when the inputs came from INPUT_* (GITHUB_ACTIONS=true).
	InActions bool

	// Warnings are inputs that are valid but probably not what was meant, for
	// the caller to print (as ::warning:: under Actions); they never stop a run.
	Warnings []string
}

// Refer names inputs in a message the way the user gives them: under
// Actions by the input's name ("the services input", "the secret-id and
// services inputs"), anywhere else by the flag ("--services", "--secret-id
// and --services"), so that a hint never sends a terminal user looking for
// an "input".
func (c Config) Refer(names ...string) string { return refer(c.InActions, names...) }

// Setting is an input with a value, as the user would write it: under
// Actions "auth-mode: secrets-manager", elsewhere "--auth-mode secrets-manager".
func (c Config) Setting(name, value string) string { return setting(c.InActions, name, value) }

func refer(inActions bool, names ...string) string {
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i] = n
		if !inActions {
			shown[i] = "--" + n
		}
	}
	list := shown[0]
	if n := len(shown); n > 1 {
		list = strings.Join(shown[:n-1], ", ") + " and " + shown[n-1]
	}
	switch {
	case !inActions:
		return list
	case len(names) == 1:
		return "the " + list + " input"
	default:
		return "the " + list + " inputs"
	}
}

func setting(inActions bool, name, value string) string {
	if inActions {
		return name + ": " + value
	}
	return "--" + name + " " + value
}
