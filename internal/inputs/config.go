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

// Config is every input of the contract, parsed and validated, grouped by
// the concern that reads it: each step of the pipeline takes only its part
// (the store of credentials its own, the rollout its own). Load builds it
// once and it never changes afterwards. The parts are embedded so that a
// field is also reachable from the whole (cfg.Timeout is cfg.Rollout.Timeout).
type Config struct {
	Common
	Credentials
	SecretStore
	ECSConfigStore
	Rollout
}

// Common are the inputs of every run, whatever the store.
type Common struct {
	// AuthMode picks the store of credentials, once, where a run starts.
	AuthMode AuthMode
	// Cluster is the cluster input as given (trimmed), for the report;
	// Clusters are its names or ARNs, blanks and duplicates removed, in
	// order, and AllClusters is "*": every cluster of the region.
	Cluster     string
	Clusters    []string
	AllClusters bool
	// Services are names, ARNs or cluster/name, blanks and duplicates
	// removed, order kept.
	Services []string
	// MaxServices stops a run whose plan finds more services than this.
	MaxServices       int
	VerifyCredentials bool
	DryRun            bool
	RoleToAssume      string
	AWSRegion         string

	// OutputFile is --output-file: where a CLI run writes its outputs as JSON.
	OutputFile string

	// InActions is true when the inputs came from INPUT_* (GITHUB_ACTIONS=true).
	InActions bool

	// Warnings are inputs that are valid but probably not what was meant, for
	// the caller to print (as ::warning:: under Actions); they never stop a run.
	Warnings []string
}

// Credentials are the new registry credentials and the registry they are for.
type Credentials struct {
	Username string
	Password string
	Registry string
}

// SecretStore is what the secrets-manager store reads.
type SecretStore struct {
	SecretID string
}

// ECSConfigStore is what the ecs-config store reads.
type ECSConfigStore struct {
	ECSConfigAuthType  string // "dockercfg" or "docker"
	ECSConfigTransport string // TransportParameter or TransportInline
	RestartAgent       bool
}

// Rollout is what the deploy, the watch and the rollback read.
type Rollout struct {
	ForceNewDeployment    bool
	MinimumHealthyPercent *int32 // nil: leave the services' value as it is
	Wait                  bool
	Timeout               time.Duration
	PollInterval          time.Duration
	FailFast              bool
	RollbackOnFailure     bool
}

// Refer names inputs in a message the way the user gives them: under
// Actions by the input's name ("the services input", "the secret-id and
// services inputs"), anywhere else by the flag ("--services", "--secret-id
// and --services"), so that a hint never sends a terminal user looking for
// an "input".
func (c Common) Refer(names ...string) string { return refer(c.InActions, names...) }

// Setting is an input with a value, as the user would write it: under
// Actions "auth-mode: secrets-manager", elsewhere "--auth-mode secrets-manager".
func (c Common) Setting(name, value string) string { return setting(c.InActions, name, value) }

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
