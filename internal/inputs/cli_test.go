package inputs

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// passwordFlag is a suggestion of --password, which would put the password
// in the process list (--password-stdin is fine).
var passwordFlag = regexp.MustCompile(`--password([^-]|$)`)

// loadCLI loads as a terminal user runs the tool: outside Actions, with
// standard input.
func loadCLI(t *testing.T, args []string, env map[string]string, stdin string) (Config, error) {
	t.Helper()
	return LoadFrom(Source{Args: args, Getenv: getenvFrom(env), Stdin: strings.NewReader(stdin)})
}

// Issue #15, point 4: outside Actions a hint names the flag or the tool's
// own variable, never INPUT_SECRET-ID (no shell can export it), never
// --password (the process list shows it), never "the ... input".
func TestCLIHintsUseTheCLIsNames(t *testing.T) {
	_, err := loadCLI(t, []string{"--auth-mode=secrets-manager"}, map[string]string{}, "")
	ps := problemsOf(t, err)
	want := map[string][]string{
		inSecretID: {"pass --secret-id or set ECS_REGISTRY_ROTATE_SECRET_ID"},
		inUsername: {"pass --username or set ECS_REGISTRY_ROTATE_USERNAME"},
		inPassword: {"--password-stdin", "ECS_REGISTRY_ROTATE_PASSWORD"},
		inCluster:  {"pass --cluster or set ECS_REGISTRY_ROTATE_CLUSTER"},
	}
	for _, p := range ps {
		for _, w := range want[p.Input] {
			if !strings.Contains(p.Message, w) {
				t.Errorf("%s: %q does not say %q", p.Input, p.Message, w)
			}
		}
		delete(want, p.Input)
		assertCLIWording(t, p.Error())
	}
	for input := range want {
		t.Errorf("no problem for the missing %s", input)
	}
}

// assertCLIWording fails on a message that names an input the way only
// Actions does, or suggests the password as a flag.
func assertCLIWording(t *testing.T, msg string) {
	t.Helper()
	if strings.Contains(msg, "INPUT_") || passwordFlag.MatchString(msg) || strings.Contains(msg, "with:") {
		t.Errorf("a terminal user is told about INPUT_*, --password or with: %q", msg)
	}
	for _, s := range specs {
		if strings.Contains(msg, s.name+" input") || strings.Contains(msg, "the input "+s.name) {
			t.Errorf("a terminal user is told about the %s input: %q", s.name, msg)
		}
	}
}

func TestCLIHintsNameFlagsInEveryProblem(t *testing.T) {
	env := map[string]string{
		"ECS_REGISTRY_ROTATE_CLUSTER":       "prod",
		"ECS_REGISTRY_ROTATE_USERNAME":      "robot",
		"ECS_REGISTRY_ROTATE_SECRET_ID":     "prod/registry",
		"ECS_REGISTRY_ROTATE_PASSWORD":      testPassword,
		"ECS_REGISTRY_ROTATE_TIMEOUT":       "1m",
		"ECS_REGISTRY_ROTATE_POLL_INTERVAL": "2m",
		"ECS_REGISTRY_ROTATE_SERVICES":      "arn:aws:ecs:us-east-1:123456789012:service/staging/web",
	}
	_, err := loadCLI(t, nil, env, "")
	ps := problemsOf(t, err)
	if len(ps) != 2 {
		t.Fatalf("want the poll-interval and the services problems, got:\n%v", err)
	}
	for _, p := range ps {
		assertCLIWording(t, p.Error())
	}
	text := err.Error()
	for _, want := range []string{"lower --poll-interval (such as 5s) or raise --timeout (such as 15m)", `not to --cluster "prod"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the problems do not say %q:\n%s", want, text)
		}
	}
	// Under Actions the same problems keep the inputs' names.
	env["GITHUB_ACTIONS"] = "true"
	_, err = loadCLI(t, nil, env, "")
	for _, want := range []string{"lower the poll-interval input (such as 5s) or raise the timeout input", `not to the cluster input "prod"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("under Actions the problems do not say %q:\n%s", want, err)
		}
	}
}

func TestCLIWarningNamesTheFlag(t *testing.T) {
	env := with(requiredEnv(), "INPUT_AUTH-MODE", "ecs-config")
	cfg := mustLoad(t, nil, env)
	if got := strings.Join(cfg.Warnings, "\n"); !strings.Contains(got, "--secret-id is ignored in ecs-config mode") {
		t.Errorf("warnings: %q", got)
	}
	cfg = mustLoad(t, nil, with(env, "GITHUB_ACTIONS", "true"))
	if got := strings.Join(cfg.Warnings, "\n"); !strings.Contains(got, "the secret-id input is ignored in ecs-config mode") {
		t.Errorf("warnings under Actions: %q", got)
	}
}

// An empty standard input says so, once, instead of "password is required".
func TestEmptyPasswordStdinSaysStdinWasEmpty(t *testing.T) {
	env := map[string]string{"ECS_REGISTRY_ROTATE_CLUSTER": "prod", "ECS_REGISTRY_ROTATE_SECRET_ID": "prod/registry", "ECS_REGISTRY_ROTATE_USERNAME": "robot"}
	for _, stdin := range []string{"", "\n", "\r\n"} {
		_, err := loadCLI(t, []string{"--password-stdin"}, env, stdin)
		ps := problemsOf(t, err)
		if len(ps) != 1 || ps[0].Input != inPassword || !strings.Contains(ps[0].Message, "--password-stdin read nothing from standard input") {
			t.Errorf("stdin %q: want one problem saying that standard input was empty, got:\n%v", stdin, err)
		}
		for _, p := range ps {
			assertCLIWording(t, p.Error())
		}
	}
}

// A password given twice names the other place it came from.
func TestPasswordGivenTwiceNamesBothSources(t *testing.T) {
	base := map[string]string{"ECS_REGISTRY_ROTATE_CLUSTER": "prod", "ECS_REGISTRY_ROTATE_SECRET_ID": "prod/registry", "ECS_REGISTRY_ROTATE_USERNAME": "robot"}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, []string{"ECS_REGISTRY_ROTATE_PASSWORD", testPassword}, "by --password-stdin and by ECS_REGISTRY_ROTATE_PASSWORD"},
		{nil, []string{"INPUT_PASSWORD", testPassword}, "by --password-stdin and by INPUT_PASSWORD"},
		{[]string{"--password=" + testPassword}, nil, "by --password-stdin and by --password;"},
	} {
		_, err := loadCLI(t, append(c.args, "--password-stdin"), with(base, c.env...), testPassword+"\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: want %q, got %v", c.args, c.env, c.want, err)
		}
		assertNoPassword(t, err.Error(), testPassword)
	}
}

// Issue #15, point 4: a flag is refused as it was written: -v as -v.
func TestUnknownFlagKeepsItsDashes(t *testing.T) {
	for arg, want := range map[string]string{
		"-v":            "unknown flag -v;",
		"--v":           "unknown flag --v;",
		"-clutser=prod": "unknown flag -clutser;",
		"--clutser":     "unknown flag --clutser;",
	} {
		_, err := loadCLI(t, []string{arg}, requiredEnv(), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", arg, want, err)
		}
	}
	_, err := loadCLI(t, []string{"--username=robot", "-cluster"}, requiredEnv(), "")
	if err == nil || !strings.Contains(err.Error(), "flag -cluster needs a value") {
		t.Errorf("-cluster without a value: %v", err)
	}
}

// Issue #15, point 4: the usage line shows what a run needs.
func TestUsageShowsTheRequiredFlags(t *testing.T) {
	var out bytes.Buffer
	Load([]string{"--help"}, nil, &out)
	usage, _, _ := strings.Cut(out.String(), "\n\n")
	for _, want := range []string{"--cluster NAME", "--secret-id ID", "--username USER", "--password-stdin", "--auth-mode ecs-config", "ECS_REGISTRY_ROTATE_PASSWORD"} {
		if !strings.Contains(usage, want) {
			t.Errorf("the usage lacks %q:\n%s", want, usage)
		}
	}
	if passwordFlag.MatchString(usage) {
		t.Errorf("the usage shows --password:\n%s", usage)
	}
}
