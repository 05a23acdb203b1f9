package inputs

import (
	"strings"
	"testing"
)

const booleans = "true, True, TRUE, false, False or FALSE"

func TestEachBadValue(t *testing.T) {
	tests := []struct {
		name  string
		env   []string // overrides of requiredEnv, as key, value pairs
		args  []string
		input string // the Problem's Input
		want  string // part of the message that says what is allowed
	}{
		{"auth-mode unknown", []string{"INPUT_AUTH-MODE", "vault"}, nil, inAuthMode, "secrets-manager or ecs-config"},
		{"auth-mode case", []string{"INPUT_AUTH-MODE", "Secrets-Manager"}, nil, inAuthMode, "secrets-manager or ecs-config"},
		{"auth-mode empty flag", nil, []string{"--auth-mode="}, inAuthMode, "secrets-manager or ecs-config"},
		{"secret-id missing", []string{"INPUT_SECRET-ID", ""}, nil, inSecretID, "required"},
		{"secret-id space", []string{"INPUT_SECRET-ID", "my secret"}, nil, inSecretID, "Secrets Manager ARN"},
		{"secret-id other service ARN", []string{"INPUT_SECRET-ID", "arn:aws:ssm:us-east-1:123456789012:parameter/x"}, nil, inSecretID, "arn:aws:secretsmanager:"},
		{"secret-id too long", []string{"INPUT_SECRET-ID", strings.Repeat("s", 513)}, nil, inSecretID, "1-512"},
		{"username missing", []string{"INPUT_USERNAME", ""}, nil, inUsername, "required"},
		{"username colon", []string{"INPUT_USERNAME", "robot:x"}, nil, inUsername, `without ":"`},
		{"username space", []string{"INPUT_USERNAME", "ro bot"}, nil, inUsername, "without spaces"},
		{"username tab via flag", nil, []string{"--username", "ro\tbot"}, inUsername, "without spaces"},
		{"password missing", []string{"INPUT_PASSWORD", ""}, nil, inPassword, "required"},
		{"password newline", []string{"INPUT_PASSWORD", "pass\nword"}, nil, inPassword, "printable characters"},
		{"password control", nil, []string{"--password", "pass\x00word"}, inPassword, "printable characters"},
		{"password invalid UTF-8", []string{"INPUT_PASSWORD", "pass\xffword"}, nil, inPassword, "printable characters"},
		{"registry credentials", []string{"INPUT_REGISTRY", "https://user:pw@ghcr.io"}, nil, inRegistry, "username and password"},
		{"registry query", []string{"INPUT_REGISTRY", "ghcr.io/v2?x=1"}, nil, inRegistry, "ghcr.io"},
		{"registry port zero", []string{"INPUT_REGISTRY", "ghcr.io:0"}, nil, inRegistry, "1 to 65535"},
		{"registry port too big", []string{"INPUT_REGISTRY", "ghcr.io:70000/x"}, nil, inRegistry, "1 to 65535"},
		{"registry port not a number", []string{"INPUT_REGISTRY", "ghcr.io:http"}, nil, inRegistry, "1 to 65535"},
		{"registry scheme", []string{"INPUT_REGISTRY", "ftp://ghcr.io"}, nil, inRegistry, "http:// or https://"},
		{"registry upper-case scheme", []string{"INPUT_REGISTRY", "HTTPS://ghcr.io"}, nil, inRegistry, "http:// or https://"},
		{"registry space", []string{"INPUT_REGISTRY", "ghcr .io"}, nil, inRegistry, "white space"},
		{"registry bad host", []string{"INPUT_REGISTRY", "-bad-.example.com"}, nil, inRegistry, "letters, digits, dots and hyphens"},
		{"registry underscore", []string{"INPUT_REGISTRY", "my_registry.example.com"}, nil, inRegistry, "letters, digits, dots and hyphens"},
		{"registry empty flag", nil, []string{"--registry="}, inRegistry, "https://index.docker.io/v1/"},
		{"registry path with a tag", []string{"INPUT_REGISTRY", "ghcr.io/org/app:v1"}, nil, inRegistry, "a tag or digest is not part of a key"},
		{"registry path with a percent", []string{"INPUT_REGISTRY", "ghcr.io/org%2Fx"}, nil, inRegistry, "string prefix of each image"},
		{"registry path with an empty component", []string{"INPUT_REGISTRY", "ghcr.io/org//app"}, nil, inRegistry, "empty component"},
		{"ecs-config-auth-type", []string{"INPUT_ECS-CONFIG-AUTH-TYPE", "basic"}, nil, inECSConfigAuthType, "dockercfg or docker"},
		{"cluster missing", []string{"INPUT_CLUSTER", ""}, nil, inCluster, "names or ARNs"},
		{"cluster star in a list", []string{"INPUT_CLUSTER", "prod,*"}, nil, inCluster, "* stands alone"},
		{"cluster twice", []string{"INPUT_CLUSTER", "prod\narn:aws:ecs:us-east-1:123456789012:cluster/prod"}, nil, inCluster, "name the same cluster"},
		{"services of a cluster not listed", []string{"INPUT_CLUSTER", "prod,staging", "INPUT_SERVICES", "batch/web"}, nil, inServices, `cluster "batch", which --cluster does not list (prod, staging)`},
		{"max-services zero", []string{"INPUT_MAX-SERVICES", "0"}, nil, inMaxServices, "at least 1"},
		{"max-services word", []string{"INPUT_MAX-SERVICES", "many"}, nil, inMaxServices, "whole number"},
		{"cluster space", []string{"INPUT_CLUSTER", "my cluster"}, nil, inCluster, "1-255 letters, digits, - and _"},
		{"cluster too long", []string{"INPUT_CLUSTER", strings.Repeat("c", 256)}, nil, inCluster, "1-255"},
		{"cluster service ARN", []string{"INPUT_CLUSTER", "arn:aws:ecs:us-east-1:123456789012:service/prod/web"}, nil, inCluster, ":cluster/<name>"},
		{"cluster short account", []string{"INPUT_CLUSTER", "arn:aws:ecs:us-east-1:1234:cluster/prod"}, nil, inCluster, "12-digit account"},
		{"cluster not aws partition", []string{"INPUT_CLUSTER", "arn:gcp:ecs:us-east-1:123456789012:cluster/prod"}, nil, inCluster, "arn:aws:ecs:"},
		{"services bad name", []string{"INPUT_SERVICES", "web,bad service"}, nil, inServices, "service name"},
		{"services task ARN", []string{"INPUT_SERVICES", "arn:aws:ecs:us-east-1:123456789012:task/prod/abc"}, nil, inServices, "service/<cluster>/<name>"},
		{"services other cluster", []string{"INPUT_SERVICES", "arn:aws:ecs:us-east-1:123456789012:service/staging/web"}, nil, inServices, `cluster "prod"`},
		{"services other cluster than ARN", []string{"INPUT_CLUSTER", "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
			"INPUT_SERVICES", "arn:aws:ecs:us-east-1:123456789012:service/staging/web"}, nil, inServices, `not to --cluster "prod"`},
		{"timeout no unit", []string{"INPUT_TIMEOUT", "15"}, nil, inTimeout, "15m, 90s"},
		{"timeout zero", []string{"INPUT_TIMEOUT", "0s"}, nil, inTimeout, "positive duration"},
		{"timeout negative", nil, []string{"--timeout=-1m"}, inTimeout, "positive duration"},
		{"poll-interval word", []string{"INPUT_POLL-INTERVAL", "soon"}, nil, inPollInterval, "15m, 90s"},
		{"poll-interval zero", []string{"INPUT_POLL-INTERVAL", "0"}, nil, inPollInterval, "positive duration"},
		{"poll-interval not below timeout", []string{"INPUT_TIMEOUT", "1m", "INPUT_POLL-INTERVAL", "1m"}, nil, inPollInterval, "shorter than timeout 1m0s"},
		{"minimum-healthy-percent sign", []string{"INPUT_MINIMUM-HEALTHY-PERCENT", "50%"}, nil, inMinimumHealthyPercent, "0 to 200"},
		{"minimum-healthy-percent high", []string{"INPUT_MINIMUM-HEALTHY-PERCENT", "201"}, nil, inMinimumHealthyPercent, "0 to 200"},
		{"minimum-healthy-percent negative", nil, []string{"--minimum-healthy-percent=-1"}, inMinimumHealthyPercent, "0 to 200"},
		{"minimum-healthy-percent fraction", []string{"INPUT_MINIMUM-HEALTHY-PERCENT", "50.5"}, nil, inMinimumHealthyPercent, "whole number"},
		{"role-to-assume name", []string{"INPUT_ROLE-TO-ASSUME", "deploy"}, nil, inRoleToAssume, "arn:aws:iam::<12-digit account>:role/<name>"},
		{"role-to-assume user", []string{"INPUT_ROLE-TO-ASSUME", "arn:aws:iam::123456789012:user/bob"}, nil, inRoleToAssume, ":role/<name>"},
		{"aws-region no number", []string{"INPUT_AWS-REGION", "us-east"}, nil, inAWSRegion, "us-east-1"},
		{"aws-region upper case", []string{"INPUT_AWS-REGION", "US-EAST-1"}, nil, inAWSRegion, "us-east-1"},
		{"force-new-deployment yes", []string{"INPUT_FORCE-NEW-DEPLOYMENT", "yes"}, nil, inForceNewDeployment, booleans},
		{"wait 1", []string{"INPUT_WAIT", "1"}, nil, inWait, booleans},
		{"wait flag no", nil, []string{"--wait=no"}, inWait, booleans},
		{"fail-fast mixed case", []string{"INPUT_FAIL-FAST", "tRUE"}, nil, inFailFast, booleans},
		{"restart-agent on", []string{"INPUT_RESTART-AGENT", "on"}, nil, inRestartAgent, booleans},
		{"verify-credentials empty flag", nil, []string{"--verify-credentials="}, inVerifyCredentials, booleans},
		{"dry-run t", []string{"INPUT_DRY-RUN", "t"}, nil, inDryRun, booleans},
		{"rollback-on-failure 0", nil, []string{"--rollback-on-failure=0"}, inRollbackOnFailure, booleans},
		{"unknown flag", nil, []string{"--clutser=prod"}, "", "unknown flag --clutser; run with --help"},
		{"flag without value", nil, []string{"--cluster"}, "", "--cluster needs a value"},
		{"malformed flag", nil, []string{"---cluster=prod"}, "", "bad flag syntax"},
		{"positional argument", nil, []string{"extra"}, "", "every input is a flag"},
		{"boolean flag with separate value", nil, []string{"--dry-run", "false"}, "", "--wait=false"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d rows", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, with(requiredEnv(), tt.env...))
			ps := problemsOf(t, err)
			for _, p := range ps {
				if p.Input != tt.input {
					t.Errorf("unexpected problem for %q: %v", p.Input, p)
				} else if !strings.Contains(p.Message, tt.want) {
					t.Errorf("message %q does not say %q", p.Message, tt.want)
				}
			}
			if len(ps) == 0 {
				t.Errorf("no problem")
			}
		})
	}
}

func TestAllProblemsTogether(t *testing.T) {
	env := map[string]string{
		"INPUT_AUTH-MODE":               "vault",
		"INPUT_USERNAME":                "a:b",
		"INPUT_REGISTRY":                "ftp://x",
		"INPUT_ECS-CONFIG-AUTH-TYPE":    "basic",
		"INPUT_CLUSTER":                 "bad cluster",
		"INPUT_SERVICES":                "ok,not ok,also bad",
		"INPUT_FORCE-NEW-DEPLOYMENT":    "yes",
		"INPUT_MINIMUM-HEALTHY-PERCENT": "300",
		"INPUT_WAIT":                    "no",
		"INPUT_TIMEOUT":                 "forever",
		"INPUT_POLL-INTERVAL":           "-5s",
		"INPUT_FAIL-FAST":               "y",
		"INPUT_RESTART-AGENT":           "n",
		"INPUT_VERIFY-CREDENTIALS":      "1",
		"INPUT_DRY-RUN":                 "0",
		"INPUT_ROLE-TO-ASSUME":          "role",
		"INPUT_AWS-REGION":              "mars",
	}
	_, err := load(t, []string{"stray", "--nope"}, env)
	ps := problemsOf(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Input)
	}
	// auth-mode is invalid, so secret-id is not required; password is missing.
	want := []string{"", "", inAuthMode, inUsername, inPassword, inRegistry, inECSConfigAuthType, inCluster,
		inServices, inServices, inForceNewDeployment, inMinimumHealthyPercent, inWait, inTimeout, inPollInterval,
		inFailFast, inRestartAgent, inVerifyCredentials, inDryRun, inRoleToAssume, inAWSRegion}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problem inputs, in order:\n got %q\nwant %q", got, want)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("Error() has %d lines, want %d:\n%s", lines, len(want), err)
	}
}

func TestEveryCommandLineProblemReported(t *testing.T) {
	args := []string{"--nope", "---bad", "a", "--cluster=prod", "b", "--also-nope=1", "---bad2", "--dry-run"}
	cfg, err := load(t, args, requiredEnv())
	ps := problemsOf(t, err)
	if len(ps) != 6 {
		t.Errorf("want 6 problems, got %d:\n%v", len(ps), err)
	}
	if !cfg.DryRun {
		t.Errorf("flags after the bad ones are still read: %+v", cfg)
	}
}

// assertNoPassword takes distinctive pieces of a password too, so that a leak
// of part of it is caught as well.
func assertNoPassword(t *testing.T, text string, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if strings.Contains(text, p) {
			t.Errorf("output contains the password piece %q:\n%s", p, text)
		}
	}
}

func TestPasswordNeverInProblems(t *testing.T) {
	const pw = "Sup3rS3cretPw"
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"invalid password", []string{"INPUT_PASSWORD", "Sup3rS3cret\nT4ilPart"}, nil},
		{"invalid password flag", nil, []string{"--password=Sup3rS3cret\x07T4ilPart"}},
		{"in cluster", []string{"INPUT_CLUSTER", pw + " x"}, nil},
		{"in secret-id", []string{"INPUT_SECRET-ID", pw + " x"}, nil},
		{"in username", []string{"INPUT_USERNAME", "u:" + pw}, nil},
		{"in registry", []string{"INPUT_REGISTRY", "https://robot:" + pw + "@ghcr.io"}, nil},
		{"in registry host", []string{"INPUT_REGISTRY", pw + "_x.io"}, nil},
		{"in services", []string{"INPUT_SERVICES", "a," + pw + " x"}, nil},
		{"in auth-mode", []string{"INPUT_AUTH-MODE", pw}, nil},
		{"in a boolean", []string{"INPUT_WAIT", pw}, nil},
		{"in timeout", []string{"INPUT_TIMEOUT", pw}, nil},
		{"in percent", []string{"INPUT_MINIMUM-HEALTHY-PERCENT", pw}, nil},
		{"in role", []string{"INPUT_ROLE-TO-ASSUME", pw}, nil},
		{"in region", []string{"INPUT_AWS-REGION", pw}, nil},
		{"mistyped flag", nil, []string{"--passwrod", pw}},
		{"as flag name", nil, []string{"--" + pw}},
		{"malformed flag", nil, []string{"---password=" + pw}},
		{"positional", nil, []string{pw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(requiredEnv(), "INPUT_PASSWORD", pw)
			cfg, err := load(t, tt.args, with(env, tt.env...))
			ps := problemsOf(t, err)
			assertNoPassword(t, err.Error(), pw, "Sup3rS3cret", "T4ilPart")
			for _, p := range ps {
				assertNoPassword(t, p.Input+p.Message, pw, "Sup3rS3cret", "T4ilPart")
			}
			assertNoPassword(t, strings.Join(cfg.Warnings, "\n"), pw)
		})
	}
}

func TestPasswordNotInWarnings(t *testing.T) {
	const pw = "Sup3rS3cretPw"
	env := with(requiredEnv(), "INPUT_AUTH-MODE", "ecs-config", "INPUT_PASSWORD", pw, "INPUT_REGISTRY", "docker.io/"+pw)
	cfg := mustLoad(t, nil, env)
	if len(cfg.Warnings) == 0 {
		t.Fatal("want the Docker Hub warning")
	}
	assertNoPassword(t, strings.Join(cfg.Warnings, "\n"), pw)
}

// FuzzLoad checks that no command line or value makes Load hang, panic or
// echo the password.
func FuzzLoad(f *testing.F) {
	f.Add("--cluster\x00---x\x00--\x00a", "x")
	f.Add("--passwrod\x00Sup3rS3cretPw\x00---x=Sup3rS3cretPw", "web,Sup3rS3cretPw x")
	f.Add("--dry-run\x00false\x00-h=1", "")
	f.Fuzz(func(t *testing.T, joined, services string) {
		const pw = "Sup3rS3cretPw"
		args := strings.Split(joined, "\x00")
		env := with(requiredEnv(), "INPUT_PASSWORD", pw, "INPUT_SERVICES", services)
		if strings.Contains(strings.ToLower(joined), "password") {
			t.Skip("a --password flag would change which value is the password")
		}
		_, err := Load(args, getenvFrom(env), nil)
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("problem text contains the password: %v", err)
		}
	})
}
