package awsfake

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"
)

func TestSTS(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	client := sts.NewFromConfig(f.cfg)
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "123456789012" || aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/ci/session" {
		t.Fatalf("identity = %+v", id)
	}

	out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("gha"),
		WebIdentityToken: aws.String("eyJ.fake.jwt"),
	})
	if err != nil {
		t.Fatal(err)
	}
	exp := aws.ToTime(out.Credentials.Expiration)
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/gha" ||
		aws.ToString(out.Credentials.AccessKeyId) == "" || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("assumed = %+v %+v", out.AssumedRoleUser, out.Credentials)
	}

	_, err = client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String(""),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidIdentityToken" {
		t.Fatalf("empty token: %v", err)
	}

	f.DenyAccess("GetCallerIdentity")
	_, err = client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "sts:GetCallerIdentity") {
		t.Fatalf("denied: %v", err)
	}
	if c := f.Calls()[0]; c.Service != "sts" || !strings.Contains(string(c.Input), `"Action":"GetCallerIdentity"`) {
		t.Fatalf("recorded %+v", c)
	}
}

// A SendCommand SSM refuses is recorded, and is no mutation.
func TestRefusedSendCommandIsNoMutation(t *testing.T) {
	f := newFixture(t)
	_, err := ssm.NewFromConfig(f.cfg).SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	if len(f.MutatingCalls()) != 0 || f.CallCount("SendCommand") != 1 {
		t.Fatal("a failed SendCommand counted as a mutation")
	}
}

// A child process gets the fake through Env alone, as the product's
// binary will under test.
func TestEnvIsEnoughForTheDefaultChain(t *testing.T) {
	f := newFixture(t)
	for _, kv := range f.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if c := f.Calls(); len(c) != 1 || c[0].Operation != "GetCallerIdentity" {
		t.Fatalf("calls = %+v", c)
	}
}
