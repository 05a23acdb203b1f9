package awsfake

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	smithy "github.com/aws/smithy-go"
)

func TestSecretRoundTripAndStages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arn := f.CreateSecret("registry/dockerhub", `{"username":"a","password":"1"}`)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/dockerhub-") ||
		len(arn) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/dockerhub-")+6 {
		t.Fatalf("ARN %q lacks the six-character suffix", arn)
	}

	for _, id := range []string{"registry/dockerhub", arn, arn[:len(arn)-7]} {
		out, err := f.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", id, err)
		}
		if aws.ToString(out.ARN) != arn || aws.ToString(out.SecretString) != `{"username":"a","password":"1"}` ||
			!slices.Equal(out.VersionStages, []string{"AWSCURRENT"}) || out.CreatedDate == nil {
			t.Fatalf("GetSecretValue(%s) = %+v", id, out)
		}
	}
	first := f.SecretVersions(arn)[0].VersionID

	token := "rotate-0000000000000000000000000000001"
	put := func(token, value string) (*secretsmanager.PutSecretValueOutput, error) {
		return f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(arn), SecretString: aws.String(value), ClientRequestToken: aws.String(token),
		})
	}
	out, err := put(token, `{"username":"a","password":"2"}`)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.VersionId) != token || !slices.Equal(out.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("PutSecretValue = %+v", out)
	}
	// A retry with the same token and value is the same version.
	again, err := put(token, `{"username":"a","password":"2"}`)
	if err != nil || aws.ToString(again.VersionId) != token {
		t.Fatalf("idempotent retry: %+v, %v", again, err)
	}
	if n := len(f.SecretVersions(arn)); n != 2 {
		t.Fatalf("retry made a version: %d versions", n)
	}
	// The same token with another value is refused.
	_, err = put(token, `{"username":"a","password":"3"}`)
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("same token, other value: %v, want ResourceExistsException", err)
	}

	prev, err := f.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.VersionId) != first {
		t.Fatalf("AWSPREVIOUS = %+v, %v; want first version %s", prev, err, first)
	}

	// A third version: the first loses AWSPREVIOUS, the second takes it.
	if _, err := put("rotate-0000000000000000000000000000002", `{"username":"a","password":"3"}`); err != nil {
		t.Fatal(err)
	}
	desc, err := f.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("registry/dockerhub")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{token: {"AWSPREVIOUS"}, "rotate-0000000000000000000000000000002": {"AWSCURRENT"}}
	if len(desc.VersionIdsToStages) != 2 || !slices.Equal(desc.VersionIdsToStages[token], want[token]) ||
		!slices.Equal(desc.VersionIdsToStages["rotate-0000000000000000000000000000002"], []string{"AWSCURRENT"}) {
		t.Fatalf("VersionIdsToStages = %v, want %v", desc.VersionIdsToStages, want)
	}
	if got := f.SecretString("registry/dockerhub"); got != `{"username":"a","password":"3"}` {
		t.Fatalf("SecretString = %s", got)
	}

	list, err := f.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(arn)})
	if err != nil || len(list.Versions) != 2 {
		t.Fatalf("ListSecretVersionIds = %+v, %v; want the two staged versions", list, err)
	}
	all, err := f.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(arn), IncludeDeprecated: aws.Bool(true)})
	if err != nil || len(all.Versions) != 3 {
		t.Fatalf("ListSecretVersionIds(IncludeDeprecated) = %+v, %v", all, err)
	}

	// Without a token the SDK fills one in (a UUID), so every call is new.
	auto, err := f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("x")})
	if err != nil || len(aws.ToString(auto.VersionId)) != 36 {
		t.Fatalf("autofilled token: %+v, %v", auto, err)
	}
}

func TestSecretErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Secrets Manager can't find the specified secret." {
		t.Fatalf("unknown secret: %v", err)
	}

	arn := f.CreateSecret("s", "v")
	_, err = f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), SecretString: aws.String("v2"), ClientRequestToken: aws.String("short"),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("short token: %v", err)
	}
	_, err = f.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING")})
	if !errors.As(err, &nf) {
		t.Fatalf("missing stage: %v", err)
	}
}

// Moving AWSCURRENT back (a rollback) works once; the same call again names
// a RemoveFromVersionId that no longer holds the label and is refused as
// moto refuses it, and nothing moves.
func TestUpdateSecretVersionStageRepeatedIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arn := f.CreateSecret("s", "v1")
	first := f.SecretVersions(arn)[0].VersionID
	out, err := f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	second := aws.ToString(out.VersionId)
	move := func(remove string) error {
		in := &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(first),
		}
		if remove != "" {
			in.RemoveFromVersionId = aws.String(remove)
		}
		_, err := f.sm.UpdateSecretVersionStage(ctx, in)
		return err
	}
	var bad *smtypes.InvalidParameterException
	err = move("")
	if !errors.As(err, &bad) || bad.ErrorMessage() != "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version "+
		second+", so you must explicitly reference that version in RemoveFromVersionId." {
		t.Fatalf("no RemoveFromVersionId: %v", err)
	}
	if err := move(second); err != nil {
		t.Fatal(err)
	}
	want := func() {
		t.Helper()
		v := f.SecretVersions(arn)
		if !slices.Equal(v[0].Stages, []string{"AWSCURRENT"}) || !slices.Equal(v[1].Stages, []string{"AWSPREVIOUS"}) {
			t.Fatalf("stages %+v", v)
		}
	}
	want()
	err = move(second)
	if !errors.As(err, &bad) || bad.ErrorMessage() != "Version stage AWSCURRENT not found in version "+second {
		t.Fatalf("repeated move: %v", err)
	}
	want()
	if err := move("00000000-0000-0000-0000-000000000000"); !errors.As(err, &bad) || bad.ErrorMessage() != "Not a valid version: 00000000-0000-0000-0000-000000000000" {
		t.Fatalf("unknown RemoveFromVersionId: %v", err)
	}
	// Moving the label to the version that holds it changes nothing.
	if err := move(first); err != nil {
		t.Fatal(err)
	}
	want()
}
