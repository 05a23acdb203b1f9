package inputs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestShortPasswordIsBadInput(t *testing.T) {
	for _, pw := range []string{"1", "success", "1234567"} {
		ps := problemsOf(t, second(load(t, nil, with(requiredEnv(), "INPUT_PASSWORD", pw))))
		if len(ps) != 1 || ps[0].Input != inPassword || strings.Contains(ps[0].Message, pw) {
			t.Errorf("password %q: problems %v", pw, ps)
		}
	}
	mustLoad(t, nil, with(requiredEnv(), "INPUT_PASSWORD", "12345678"))
}

// A password that quoting would escape must not be echoed, quoted or not.
func TestPasswordInAnotherInputIsWithheldInEveryForm(t *testing.T) {
	for _, pw := range []string{`pa"ss\word-1`, "pässwörd-Ω", `back\slash\\x`} {
		env := with(requiredEnv(), "INPUT_PASSWORD", pw, "INPUT_CLUSTER", pw)
		_, err := load(t, nil, env)
		text := err.Error()
		if strings.Contains(text, pw) || strings.Contains(text, strings.Trim(quote(pw), `"`)) {
			t.Errorf("password %q echoed: %s", pw, text)
		}
		if !strings.Contains(text, withheld) {
			t.Errorf("password %q: no notice that the value was withheld: %s", pw, text)
		}
	}
}

func quote(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

func TestProblemsPerInputAreCapped(t *testing.T) {
	var names []string
	for i := range 10000 {
		names = append(names, fmt.Sprintf("bad name %d", i))
	}
	ps := problemsOf(t, second(load(t, nil, with(requiredEnv(), "INPUT_SERVICES", strings.Join(names, ",")))))
	if len(ps) != maxProblemsPerInput+1 {
		t.Fatalf("%d problems, want %d and a count", len(ps), maxProblemsPerInput+1)
	}
	if last := ps[len(ps)-1].Message; !strings.Contains(last, "more problems") {
		t.Errorf("last problem %q does not count the rest", last)
	}
}

func TestPollIntervalFloor(t *testing.T) {
	for _, v := range []string{"1ns", "999ms"} {
		ps := problemsOf(t, second(load(t, nil, with(requiredEnv(), "INPUT_POLL-INTERVAL", v))))
		if len(ps) != 1 || ps[0].Input != inPollInterval || !strings.Contains(ps[0].Message, "1s") {
			t.Errorf("poll-interval %s: %v", v, ps)
		}
	}
	ps := problemsOf(t, second(load(t, nil, with(requiredEnv(), "INPUT_POLL-INTERVAL", "20m"))))
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "shorter than timeout") {
		t.Errorf("poll-interval above timeout: %v", ps)
	}
	mustLoad(t, nil, with(requiredEnv(), "INPUT_POLL-INTERVAL", "1s"))
}

func TestARNPartitionMustMatchRegion(t *testing.T) {
	bad := map[string]string{
		"INPUT_CLUSTER":        "arn:aws-cn:ecs:us-east-1:123456789012:cluster/prod",
		"INPUT_SECRET-ID":      "arn:aws:secretsmanager:cn-north-1:123456789012:secret:reg-AbCdEf",
		"INPUT_SERVICES":       "arn:aws-us-gov:ecs:eu-west-1:123456789012:service/prod/web",
		"INPUT_ROLE-TO-ASSUME": "arn:aws-moon:iam::123456789012:role/x",
	}
	for k, v := range bad {
		ps := problemsOf(t, second(load(t, nil, with(requiredEnv(), k, v))))
		if len(ps) != 1 || !strings.Contains(ps[0].Message, "partition") {
			t.Errorf("%s=%s: %v", k, v, ps)
		}
	}
	mustLoad(t, nil, with(requiredEnv(), "INPUT_CLUSTER", "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/prod",
		"INPUT_SERVICES", "arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/web"))
	mustLoad(t, nil, with(requiredEnv(), "INPUT_CLUSTER", "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/prod"))
}

func TestOwnVariablesBetweenFlagsAndInputVariables(t *testing.T) {
	env := with(requiredEnv(), "INPUT_CLUSTER", "from-input", "ECS_REGISTRY_ROTATE_CLUSTER", "from-own",
		"ECS_REGISTRY_ROTATE_SECRET_ID", "own/secret")
	cfg := mustLoad(t, nil, env)
	if cfg.Cluster != "from-own" || cfg.SecretID != "own/secret" {
		t.Errorf("got cluster %q secret %q, want the ECS_REGISTRY_ROTATE_ values", cfg.Cluster, cfg.SecretID)
	}
	if cfg := mustLoad(t, []string{"--cluster", "from-flag"}, env); cfg.Cluster != "from-flag" {
		t.Errorf("flag lost to the variable: %q", cfg.Cluster)
	}
}

func TestPasswordStdin(t *testing.T) {
	env := with(requiredEnv(), "INPUT_PASSWORD", "")
	cfg, err := LoadFrom(Source{Args: []string{"--password-stdin"}, Getenv: getenvFrom(env), Stdin: strings.NewReader("from-stdin-Pa55\n")})
	if err != nil || cfg.Password != "from-stdin-Pa55" {
		t.Fatalf("got %q, %v", cfg.Password, err)
	}
	_, err = LoadFrom(Source{Args: []string{"--password-stdin"}, Getenv: getenvFrom(requiredEnv()), Stdin: strings.NewReader("x-Pa55word\n")})
	if ps := problemsOf(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "twice") {
		t.Errorf("password given twice: %v", ps)
	}
}

func TestVersionAndHelpWords(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out strings.Builder
		if _, err := LoadFrom(Source{Args: args, Usage: &out}); !errors.Is(err, ErrVersion) || !strings.Contains(out.String(), "commit") {
			t.Errorf("%v: %v, %q", args, err, out.String())
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if _, err := LoadFrom(Source{Args: args}); !errors.Is(err, ErrHelp) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestDryRunNeedsNoPassword(t *testing.T) {
	cfg := mustLoad(t, []string{"--dry-run"}, with(requiredEnv(), "INPUT_PASSWORD", ""))
	if !cfg.DryRun {
		t.Error("not a dry run")
	}
}

func second[A, B any](_ A, b B) B { return b }
