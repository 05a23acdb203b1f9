package awsfake

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// errorCodes lists the recorded outcome of every call of op, in order.
func (f *fixture) errorCodes(op string) []string {
	var out []string
	for _, c := range f.Calls() {
		if c.Operation == op {
			out = append(out, c.ErrorCode)
		}
	}
	return out
}

// SendCommand has no client token: the SDK's retry after a lost answer
// starts a second command, and the caller learns only the second's id.
func TestLostSendCommandAnswerMakesTwoCommands(t *testing.T) {
	f := newFixture(t, withRetries(3))
	ctx := context.Background()
	ref := f.AddContainerInstance(Instance{Cluster: "prod"})
	f.LoseAnswer("SendCommand")
	out, err := f.ssm().SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{ref.InstanceID},
		Parameters: cmds("true"), Comment: aws.String("ecs-registry-rotate run 42"),
	})
	if err != nil {
		t.Fatalf("the SDK's retry did not get through: %v", err)
	}
	list, err := f.ssm().ListCommands(ctx, &ssm.ListCommandsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Commands) != 2 {
		t.Fatalf("%d commands, want 2", len(list.Commands))
	}
	for _, c := range list.Commands {
		if aws.ToString(c.Comment) != "ecs-registry-rotate run 42" {
			t.Errorf("command %s comment %q", aws.ToString(c.CommandId), aws.ToString(c.Comment))
		}
	}
	// Newest first: the retry's command is the one the caller was told of.
	if got, second := aws.ToString(out.Command.CommandId), aws.ToString(list.Commands[0].CommandId); got != second {
		t.Fatalf("SendCommand returned %s, want the second command %s", got, second)
	}
	if n := f.LostAnswers("SendCommand"); n != 1 {
		t.Fatalf("LostAnswers = %d, want 1", n)
	}
	if codes := f.errorCodes("SendCommand"); len(codes) != 2 || codes[0] != LostAnswerCode || codes[1] != "" {
		t.Fatalf("SendCommand calls %q", codes)
	}
	if n := len(f.MutatingCalls()); n != 2 {
		t.Fatalf("%d mutating calls, want both SendCommands", n)
	}
}

// PutParameter without Overwrite is an atomic create: after a lost answer
// the retry finds the parameter it made, and the caller is told
// ParameterAlreadyExists. A body refused first is not lost; the same body
// is lost once it succeeds.
func TestLostPutParameterAnswerIsParameterAlreadyExists(t *testing.T) {
	f := newFixture(t, withRetries(3))
	ctx := context.Background()
	lock := &ssm.PutParameterInput{Name: aws.String("/ecs-registry-rotate/lock/prod"), Value: aws.String("run-1"), Type: ssmtypes.ParameterTypeString}
	f.LoseAnswer("*")
	var exists *ssmtypes.ParameterAlreadyExists
	if _, err := f.ssm().PutParameter(ctx, lock); !errors.As(err, &exists) {
		t.Fatalf("after a lost answer: %v, want ParameterAlreadyExists", err)
	}
	if v, ok := f.ParameterValue("/ecs-registry-rotate/lock/prod"); !ok || v != "run-1" {
		t.Fatalf("the lost call did not take effect: %q %v", v, ok)
	}
	if codes := f.errorCodes("PutParameter"); len(codes) != 2 || codes[0] != LostAnswerCode || codes[1] != "ParameterAlreadyExists" {
		t.Fatalf("PutParameter calls %q", codes)
	}

	// Held by another: refused, answered.
	f.Lift("*")
	f.LoseAnswer("PutParameter")
	f.ResetCalls()
	if _, err := f.ssm().PutParameter(ctx, lock); !errors.As(err, &exists) {
		t.Fatalf("held: %v", err)
	}
	if n := f.LostAnswers("PutParameter"); n != 1 {
		t.Fatalf("a refusal was lost: LostAnswers = %d", n)
	}
	if _, err := f.ssm().DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: lock.Name}); err != nil {
		t.Fatal(err)
	}
	// Released: the same body now takes the lock, and its answer is lost.
	if _, err := f.ssm().PutParameter(ctx, lock); !errors.As(err, &exists) {
		t.Fatalf("after release: %v", err)
	}
	if n := f.LostAnswers("PutParameter"); n != 2 {
		t.Fatalf("LostAnswers = %d, want 2", n)
	}
	f.LiftAll()
	if _, err := f.ssm().DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: lock.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ssm().PutParameter(ctx, lock); err != nil {
		t.Fatalf("after LiftAll: %v", err)
	}
}

// PutSecretValue's ClientRequestToken (which the SDK fills in once per
// call, not per attempt) makes the retry return the version already made.
func TestLostPutSecretValueAnswerIsAbsorbedByToken(t *testing.T) {
	f := newFixture(t, withRetries(3))
	ctx := context.Background()
	arn := f.CreateSecret("registry/robot", "v1")
	f.LoseAnswer("PutSecretValue")
	for _, token := range []string{"rotate-00000000000000000000000000000042", ""} {
		in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v2" + token)}
		if token != "" {
			in.ClientRequestToken = aws.String(token)
		}
		out, err := f.sm.PutSecretValue(ctx, in)
		if err != nil {
			t.Fatalf("token %q: %v", token, err)
		}
		if token != "" && aws.ToString(out.VersionId) != token {
			t.Fatalf("version %s, want %s", aws.ToString(out.VersionId), token)
		}
	}
	if n := len(f.SecretVersions(arn)); n != 3 {
		t.Fatalf("%d versions, want 3 (one each put)", n)
	}
	if n := f.LostAnswers("*"); n != 2 {
		t.Fatalf("LostAnswers(*) = %d, want 2", n)
	}
}
