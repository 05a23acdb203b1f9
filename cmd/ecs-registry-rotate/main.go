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

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"
	"github.com/sethvargo/go-githubactions"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rotate"
)

// Exit statuses of CONTRACT.md.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
)

func main() {
	// The runner sends SIGTERM when a job is cancelled: the run reports what
	// it had changed before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, awsclient.Options{})
	stop()
	os.Exit(code)
}

// run is the whole program; tests call it with their own environment and
// AWS options that point the SDK at the fake.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, aws awsclient.Options) int {
	cfg, err := inputs.Load(args, getenv, stdout)
	if errors.Is(err, inputs.ErrHelp) {
		return exitOK
	}
	// Load keeps the password even when other inputs are bad: it is masked
	// before the first line of every run.
	rep := report.New(stdout, getenv, cfg.Password)
	if err != nil {
		printProblems(rep, err)
		return exitBadInput
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
	if err != nil {
		rep.Finish(report.Run{Result: report.ResultFailed, Mode: string(cfg.AuthMode), Cluster: cfg.Cluster,
			Failure: &report.Failure{Step: "AWS configuration", Err: err}})
		return exitFailed
	}
	deps := rotate.Deps{ECS: ecs.NewFromConfig(awsCfg), Secrets: secretsmanager.NewFromConfig(awsCfg)}
	if result := rotate.Run(ctx, cfg, deps, rep); result.Result == report.ResultFailed {
		return exitFailed
	}
	return exitOK
}

// printProblems prints one ::error per bad input; nothing else has happened yet.
func printProblems(rep *report.Reporter, err error) {
	var problems inputs.Problems
	if !errors.As(err, &problems) {
		rep.Errorf("Invalid input", "%s", err)
		return
	}
	for _, p := range problems {
		rep.Errorf(strings.TrimSpace("Invalid input "+p.Input), "%s", p.Error())
	}
}
