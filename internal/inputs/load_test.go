package inputs

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testPassword = "Tr0ub4dor-and-3"

// requiredEnv is the least a secrets-manager run needs.
func requiredEnv() map[string]string {
	return map[string]string{
		"INPUT_CLUSTER":   "prod",
		"INPUT_SECRET-ID": "registry/dockerhub",
		"INPUT_USERNAME":  "robot",
		"INPUT_PASSWORD":  testPassword,
	}
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// with returns a copy of base with the overrides applied.
func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	var usage bytes.Buffer
	cfg, err := Load(args, getenvFrom(env), &usage)
	if err == nil && usage.Len() > 0 {
		t.Errorf("Load wrote to usage without --help: %q", usage.String())
	}
	return cfg, err
}

func mustLoad(t *testing.T, args []string, env map[string]string) Config {
	t.Helper()
	cfg, err := load(t, args, env)
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return cfg
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %T %v", err, err)
	}
	return ps
}

func TestDefaults(t *testing.T) {
	got := mustLoad(t, nil, requiredEnv())
	want := Config{
		Common:         Common{AuthMode: ModeSecretsManager, Cluster: "prod", Clusters: []string{"prod"}, MaxServices: 100, VerifyCredentials: true},
		Credentials:    Credentials{Username: "robot", Password: testPassword, Registry: "https://index.docker.io/v1/"},
		SecretStore:    SecretStore{SecretID: "registry/dockerhub"},
		ECSConfigStore: ECSConfigStore{ECSConfigAuthType: "dockercfg", ECSConfigTransport: TransportParameter, RestartAgent: true},
		Rollout:        Rollout{ForceNewDeployment: true, Wait: true, Timeout: 15 * time.Minute, PollInterval: 5 * time.Second, FailFast: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

// allSet gives every input a valid value other than its default.
var allSet = map[string]string{
	inAuthMode:              "ecs-config",
	inSecretID:              "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry/hub-AbCdEf",
	inUsername:              "robot",
	inPassword:              testPassword,
	inRegistry:              "ghcr.io",
	inECSConfigAuthType:     "docker",
	inCluster:               "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
	inServices:              "web, worker\narn:aws:ecs:eu-west-1:123456789012:service/prod/api,web",
	inMaxServices:           "250",
	inForceNewDeployment:    "false",
	inMinimumHealthyPercent: "50",
	inWait:                  "FALSE",
	inTimeout:               "30m",
	inPollInterval:          "10s",
	inFailFast:              "False",
	inRestartAgent:          "false",
	inECSConfigTransport:    "inline",
	inVerifyCredentials:     "false",
	inDryRun:                "TRUE",
	inRollbackOnFailure:     "true",
	inRoleToAssume:          "arn:aws:iam::123456789012:role/deploy/rotate",
	inAWSRegion:             "eu-west-1",
}

func allSetConfig() Config {
	fifty := int32(50)
	return Config{
		Common: Common{
			AuthMode: ModeECSConfig, Cluster: allSet[inCluster], Clusters: []string{allSet[inCluster]}, MaxServices: 250,
			Services:     []string{"web", "worker", "arn:aws:ecs:eu-west-1:123456789012:service/prod/api"},
			DryRun:       true,
			RoleToAssume: allSet[inRoleToAssume], AWSRegion: "eu-west-1",
			Warnings: []string{"--secret-id is ignored in ecs-config mode"},
		},
		Credentials:    Credentials{Username: "robot", Password: testPassword, Registry: "ghcr.io"},
		SecretStore:    SecretStore{SecretID: allSet[inSecretID]},
		ECSConfigStore: ECSConfigStore{ECSConfigAuthType: "docker", ECSConfigTransport: TransportInline},
		Rollout: Rollout{
			MinimumHealthyPercent: &fifty, Timeout: 30 * time.Minute, PollInterval: 10 * time.Second,
			RollbackOnFailure: true,
		},
	}
}

func envFrom(values map[string]string) map[string]string {
	env := map[string]string{}
	for name, v := range values {
		env[envName(name)] = v
	}
	return env
}

func argsFrom(values map[string]string) []string {
	var args []string
	for _, s := range specs {
		if v, ok := values[s.name]; ok {
			args = append(args, "--"+s.name+"="+v)
		}
	}
	return args
}

func TestAllSetCoversEveryInput(t *testing.T) {
	for _, s := range specs {
		if _, ok := allSet[s.name]; !ok {
			t.Errorf("allSet has no value for %s", s.name)
		}
	}
}

func TestEveryInputFromEnv(t *testing.T) {
	got := mustLoad(t, nil, envFrom(allSet))
	if want := allSetConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("from INPUT_*:\n got %+v\nwant %+v", got, want)
	}
}

func TestEveryInputFromFlags(t *testing.T) {
	got := mustLoad(t, argsFrom(allSet), nil)
	if want := allSetConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("from flags:\n got %+v\nwant %+v", got, want)
	}
}

func TestFlagsWithSeparateValues(t *testing.T) {
	args := []string{"--cluster", "prod", "--secret-id", "s", "--username", "u", "--password", testPassword,
		"--services", "a,b", "--timeout", "1m", "--dry-run", "--wait=false"}
	got := mustLoad(t, args, nil)
	if got.Cluster != "prod" || got.SecretID != "s" || got.Username != "u" || got.Password != testPassword ||
		!reflect.DeepEqual(got.Services, []string{"a", "b"}) || got.Timeout != time.Minute || !got.DryRun || got.Wait {
		t.Errorf("got %+v", got)
	}
}

// otherSet is a second full set of valid values, each different from allSet,
// with explicit empties where the default is empty.
var otherSet = map[string]string{
	inAuthMode: "secrets-manager", inSecretID: "registry/hub", inUsername: "other-user",
	inPassword: "another-Passw0rd", inRegistry: DefaultRegistry, inECSConfigAuthType: "dockercfg",
	inCluster: "prod", inServices: "", inForceNewDeployment: "true", inMinimumHealthyPercent: "",
	inWait: "true", inTimeout: "15m", inPollInterval: "5s", inFailFast: "true", inRestartAgent: "true",
	inECSConfigTransport: "parameter", inVerifyCredentials: "true", inDryRun: "false", inRollbackOnFailure: "false", inRoleToAssume: "",
	inAWSRegion: "",
}

func TestFlagBeatsEnv(t *testing.T) {
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			// Everything from allSet's env except this one input, which a flag overrides.
			args := []string{"--" + s.name + "=" + otherSet[s.name]}
			got := mustLoad(t, args, envFrom(allSet))
			want := mustLoad(t, nil, envFrom(with(allSet, s.name, otherSet[s.name])))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("--%s=%q over %s=%q:\n got %+v\nwant %+v", s.name, otherSet[s.name], envName(s.name), allSet[s.name], got, want)
			}
		})
	}
}

func TestFlagBeatsEnvExamples(t *testing.T) {
	env := with(requiredEnv(), "INPUT_WAIT", "true", "INPUT_TIMEOUT", "1h", "INPUT_SERVICES", "web")
	got := mustLoad(t, []string{"--cluster=other", "--wait=false", "--timeout=2m", "--services="}, env)
	if got.Cluster != "other" || got.Wait || got.Timeout != 2*time.Minute || got.Services != nil {
		t.Errorf("got %+v", got)
	}
}

func TestEnvTrimmedAndEmptyMeansDefault(t *testing.T) {
	env := with(requiredEnv(), "INPUT_CLUSTER", "  prod \n", "INPUT_TIMEOUT", "", "INPUT_REGISTRY", "  \t",
		"INPUT_PASSWORD", "  "+testPassword+"\n")
	got := mustLoad(t, nil, env)
	if got.Cluster != "prod" || got.Timeout != 15*time.Minute || got.Registry != DefaultRegistry || got.Password != testPassword {
		t.Errorf("got %+v", got)
	}
}

func TestBooleanForms(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want bool
	}{
		{env: "true", want: true}, {env: "True", want: true}, {env: "TRUE", want: true},
		{env: "false"}, {env: "False"}, {env: "FALSE"},
		{env: " TRUE ", want: true},
		{args: []string{"--dry-run"}, want: true},
		{args: []string{"-dry-run"}, want: true},
		{args: []string{"--dry-run=True"}, want: true},
		{args: []string{"--dry-run=false"}, env: "true"},
		{args: []string{"--dry-run=FALSE"}, env: "TRUE"},
		{args: []string{"--dry-run"}, env: "false", want: true},
	}
	for _, tt := range tests {
		got := mustLoad(t, tt.args, with(requiredEnv(), "INPUT_DRY-RUN", tt.env))
		if got.DryRun != tt.want {
			t.Errorf("args %q, INPUT_DRY-RUN=%q: DryRun = %v, want %v", tt.args, tt.env, got.DryRun, tt.want)
		}
	}
}

func TestServicesSplitTrimDedupe(t *testing.T) {
	env := with(requiredEnv(), "INPUT_SERVICES", "web,\n worker ,,\r\nweb\n\napi,worker,\n")
	got := mustLoad(t, nil, env)
	if want := []string{"web", "worker", "api"}; !reflect.DeepEqual(got.Services, want) {
		t.Errorf("Services = %q, want %q", got.Services, want)
	}
}

func TestServiceARNs(t *testing.T) {
	tests := []struct{ cluster, service string }{
		{"prod", "arn:aws:ecs:us-east-1:123456789012:service/prod/web"},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:service/prod/web"},
		{"prod", "arn:aws:ecs:us-east-1:123456789012:service/web"},
		{"prod", "arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/web"},
		{"prod", "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/prod/web"},
		{"prod", "arn:aws-iso-b:ecs:us-isob-east-1:123456789012:service/prod/web"},
	}
	for _, tt := range tests {
		mustLoad(t, nil, with(requiredEnv(), "INPUT_CLUSTER", tt.cluster, "INPUT_SERVICES", tt.service))
	}
}

func TestValidForms(t *testing.T) {
	tests := [][]string{
		{"INPUT_REGISTRY", "ghcr.io"},
		{"INPUT_REGISTRY", "http://registry.example.com:5000/team/"},
		{"INPUT_REGISTRY", "ghcr.io/Org/team.a_b-c"},
		{"INPUT_REGISTRY", "docker.io/myorg"},
		{"INPUT_REGISTRY", "localhost:65535"},
		{"INPUT_REGISTRY", "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{"INPUT_SECRET-ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:a/b_c+d=e.f@g-h-AbCdEf"},
		{"INPUT_SECRET-ID", "a/b_c+d=e.f@g-h"},
		{"INPUT_CLUSTER", "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/Prod_1"},
		{"INPUT_CLUSTER", strings.Repeat("c", 255)},
		{"INPUT_AWS-REGION", "us-gov-west-1"},
		{"INPUT_AWS-REGION", "cn-north-1"},
		{"INPUT_AWS-REGION", "eu-central-2"},
		{"INPUT_ROLE-TO-ASSUME", "arn:aws:iam::123456789012:role/rotate"},
		{"INPUT_ROLE-TO-ASSUME", "arn:aws-us-gov:iam::123456789012:role/a/b/c+d=e,f.g@h_i-j"},
		{"INPUT_MINIMUM-HEALTHY-PERCENT", "0"},
		{"INPUT_MINIMUM-HEALTHY-PERCENT", "200"},
		{"INPUT_PASSWORD", "p:a ss@w/o#rd?ü"},
		{"INPUT_USERNAME", "robot$ci@example.com"},
		{"INPUT_TIMEOUT", "1h30m"},
	}
	for _, kv := range tests {
		mustLoad(t, nil, with(requiredEnv(), kv...))
	}
}

func TestMinimumHealthyPercentValue(t *testing.T) {
	got := mustLoad(t, []string{"--minimum-healthy-percent=0"}, requiredEnv())
	if got.MinimumHealthyPercent == nil || *got.MinimumHealthyPercent != 0 {
		t.Errorf("MinimumHealthyPercent = %v, want 0", got.MinimumHealthyPercent)
	}
}

func TestECSConfigNeedsNoSecretID(t *testing.T) {
	env := with(requiredEnv(), "INPUT_AUTH-MODE", "ecs-config", "INPUT_SECRET-ID", "")
	got := mustLoad(t, nil, env)
	if got.AuthMode != ModeECSConfig || len(got.Warnings) != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestInActions(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "": false, "1": false, "TRUE": false} {
		got := mustLoad(t, nil, with(requiredEnv(), "GITHUB_ACTIONS", v))
		if got.InActions != want {
			t.Errorf("GITHUB_ACTIONS=%q: InActions = %v", v, got.InActions)
		}
	}
}

func TestMissingSaysHowToSet(t *testing.T) {
	env := with(requiredEnv(), "INPUT_CLUSTER", "")
	_, err := load(t, nil, env)
	if msg := err.Error(); !strings.Contains(msg, "--cluster") || !strings.Contains(msg, "ECS_REGISTRY_ROTATE_CLUSTER") || strings.Contains(msg, "INPUT_") {
		t.Errorf("outside Actions: %v", err)
	}
	cfg, err := load(t, nil, with(env, "GITHUB_ACTIONS", "true"))
	if msg := err.Error(); !strings.Contains(msg, "with:") {
		t.Errorf("under Actions: %v", err)
	}
	if !cfg.InActions || cfg.Password != testPassword {
		t.Errorf("a failed Load must still say InActions and the password, for masking: %+v", cfg)
	}
}

func TestProblemErrorFormat(t *testing.T) {
	ps := Problems{{Input: "cluster", Message: "m1"}, {Message: "m2"}}
	if got, want := ps.Error(), "input cluster: m1\narguments: m2"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"--cluster=x", "--nope", "--help"}} {
		var out bytes.Buffer
		_, err := Load(args, getenvFrom(nil), &out)
		if !errors.Is(err, ErrHelp) || !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%q: err = %v, want ErrHelp", args, err)
		}
		help := out.String()
		if !strings.HasPrefix(help, "Usage: ecs-registry-rotate") || !strings.Contains(help, "INPUT_<NAME>") || !strings.Contains(help, "ECS_REGISTRY_ROTATE_<NAME>") {
			t.Errorf("%q: help lacks the usage line or the INPUT_ note:\n%s", args, help)
		}
		for _, s := range specs {
			line := helpLine(help, s.name)
			if line == "" {
				t.Errorf("help does not list --%s", s.name)
				continue
			}
			if want := defaultNote(s); !strings.Contains(line, want) {
				t.Errorf("help line for --%s lacks %q: %q", s.name, want, line)
			}
		}
	}
}

// helpLine finds the entry that documents --name, with its continuation
// lines joined.
func helpLine(help, name string) string {
	lines := strings.Split(help, "\n")
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 || (f[0] != "--"+name && f[0] != "--"+name+"[=BOOL]") {
			continue
		}
		entry := line
		for _, next := range lines[i+1:] {
			if !strings.HasPrefix(next, strings.Repeat(" ", helpIndent)) {
				break
			}
			entry += " " + strings.TrimSpace(next)
		}
		return entry
	}
	return ""
}

func TestHelpShowsEveryDefault(t *testing.T) {
	var out bytes.Buffer
	Load([]string{"-h"}, nil, &out)
	for _, want := range []string{"default: secrets-manager", "default: https://index.docker.io/v1/", "default: dockercfg",
		"default: 15m", "default: 5s", "default: true", "default: false", "default: empty", "required"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestHelpFitsEightyColumns(t *testing.T) {
	var out bytes.Buffer
	Load([]string{"--help"}, nil, &out)
	for _, l := range strings.Split(out.String(), "\n") {
		if n := len([]rune(l)); n > helpWidth {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	for _, want := range []string{"What to rotate:", "Where:", "How to roll:", "Safety:", "AWS:", "Exit status:", "Examples:", "--password-stdin", "--output-file", "--version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
