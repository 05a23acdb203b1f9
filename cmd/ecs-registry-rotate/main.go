// Command ecs-registry-rotate rotates the private-registry credentials Amazon
// ECS pulls with, rolls the services onto them and proves the rollout worked.
// It runs as a GitHub Action (inputs from INPUT_*) or as a CLI (flags).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"
	"github.com/sethvargo/go-githubactions"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rotate"
)

// Exit statuses of the contract.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
)

func main() {
	// The runner sends SIGTERM when a job is cancelled: the run reports what
	// it had changed before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}, awsclient.Options{})
	stop()
	os.Exit(code)
}

// streams are the process's standard files.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// run is the whole program; tests call it with their own environment and
// AWS options that point the SDK at the fake.
func run(ctx context.Context, args []string, getenv func(string) string, std streams, aws awsclient.Options) int {
	inActions := getenv("GITHUB_ACTIONS") == "true"
	cfg, err := inputs.LoadFrom(inputs.Source{Args: args, Getenv: getenv, Stdin: std.in, Usage: std.out})
	if errors.Is(err, inputs.ErrHelp) || errors.Is(err, inputs.ErrVersion) {
		return exitOK
	}
	// Under Actions the log is stdout, where the runner reads workflow
	// commands; elsewhere stdout is kept for the outputs.
	log := std.err
	if inActions {
		log = std.out
	}
	// Load keeps the password even when other inputs are bad: it is masked
	// before the first line of every run. One too short to mask without
	// hiding ordinary words is bad input, and printed nowhere.
	mask := cfg.Password
	if utf8.RuneCountInString(mask) < inputs.MinPasswordLength {
		mask = ""
	}
	rep := report.New(report.Options{Actions: inActions, Log: log, Stdout: std.out, Getenv: getenv,
		OutputFile: cfg.OutputFile, Password: mask})
	if err != nil {
		return badInput(rep, err)
	}
	for _, w := range cfg.Warnings {
		rep.Warningf("%s", w)
	}
	// The SDK's own notes (a response body not drained after a cancelled
	// call, clock skew) help debugging but are no annotations.
	aws.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		rep.Debugf("AWS SDK %s: %s", c, fmt.Sprintf(format, v...))
	})
	aws.Region = cfg.AWSRegion
	aws.RoleToAssume = cfg.RoleToAssume
	aws.IDToken = func(ctx context.Context) (string, error) {
		return githubactions.New(githubactions.WithGetenv(getenv)).GetIDToken(ctx, "sts.amazonaws.com")
	}
	awsCfg, err := awsclient.Load(ctx, aws)
	if errors.Is(err, awsclient.ErrNoRegion) {
		how := "pass --aws-region, or set AWS_REGION (or a region in the AWS profile)"
		if inActions {
			how = "set aws-region under the step's with:, or AWS_REGION in the environment (aws-actions/configure-aws-credentials sets it)"
		}
		return badInput(rep, inputs.Problems{{Input: "aws-region", Message: "no AWS region is set; " + how}})
	}
	if noCreds := (*awsclient.CredentialsError)(nil); errors.As(err, &noCreds) {
		return finishEarly(rep, cfg, "AWS credentials", fmt.Errorf("%w; %s; %s", awsclient.ErrNoCredentials, credentialsHint(inActions), noCreds.ChainSaid()))
	}
	if err != nil {
		return finishEarly(rep, cfg, "AWS configuration", err)
	}
	deps := rotate.Deps{ECS: ecs.NewFromConfig(awsCfg), Secrets: secretsmanager.NewFromConfig(awsCfg), SSM: ssm.NewFromConfig(awsCfg)}
	if inActions {
		deps.RunURL = runURL(getenv)
	}
	// A rollback is not a rotation: rolled-back exits 1 like failed.
	done := rotate.Run(ctx, cfg, deps, rep)
	switch {
	case done.BadInput && done.Result == report.ResultFailed:
		return exitBadInput
	case done.Result == report.ResultFailed, done.Result == report.ResultRolledBack:
		return exitFailed
	}
	return exitOK
}

// credentialsHint says how to give the run AWS credentials, as the user
// runs it.
func credentialsHint(inActions bool) string {
	if inActions {
		return "give the job credentials: a step of aws-actions/configure-aws-credentials before this one, " +
			"or this action's role-to-assume input (with `permissions: id-token: write`), which signs in with the job's OIDC token"
	}
	return "give the process credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), " +
		"or AWS_PROFILE naming a profile of ~/.aws/config or ~/.aws/credentials (for an SSO profile, run aws sso login first)"
}

// finishEarly reports a failure before the plan: nothing was changed.
func finishEarly(rep *report.Reporter, cfg inputs.Config, step string, err error) int {
	_ = rep.Finish(report.Run{Result: report.ResultFailed, Mode: string(cfg.AuthMode), Cluster: cfg.Cluster,
		Failure: &report.Failure{Step: step, Err: err}})
	return exitFailed
}

// badInput reports bad input: one error per problem, then, under Actions,
// result=failed and a job summary that names the inputs at fault. Nothing
// else has happened yet.
func badInput(rep *report.Reporter, err error) int {
	printProblems(rep, err)
	var problems inputs.Problems
	if !errors.As(err, &problems) {
		problems = inputs.Problems{{Message: err.Error()}}
	}
	shown := make([]report.InputProblem, len(problems))
	for i, p := range problems {
		shown[i] = report.InputProblem{Input: p.Input, Message: p.Message}
	}
	_ = rep.BadInput(shown) // a failed write was printed; the exit status stays bad input's
	return exitBadInput
}

// printProblems prints one error per bad input.
func printProblems(rep *report.Reporter, err error) {
	var problems inputs.Problems
	if !errors.As(err, &problems) {
		rep.Errorf("Invalid input", "%s", err)
		return
	}
	for _, p := range problems {
		// An annotation is read on its own and needs a title; a terminal
		// line already names the input: "error: input timeout: ...".
		title := ""
		if rep.Actions() {
			title = strings.TrimSpace("Invalid input " + p.Input)
		}
		rep.Errorf(title, "%s", p.Error())
	}
}
