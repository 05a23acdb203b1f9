package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// Issue #9, point 8: credentials that expire during a long wait.

// slowWorld is a world whose rollout takes a few seconds (a second a task
// phase), and whose STS hands out credentials that last session.
func slowWorld(t *testing.T, session time.Duration) *world {
	return newWorldOpts(t, awsfake.Options{Tick: time.Second, STSSessionDuration: session},
		awsfake.Service{Name: "web", DesiredCount: 1})
}

// With role-to-assume the credentials cache renews the role's credentials
// before they expire: a watch longer than the session succeeds, signed by
// successive credentials, and AWS never sees an expired one.
func TestRoleToAssumeRenewsCredentialsDuringALongWatch(t *testing.T) {
	w := slowWorld(t, 2*time.Second)
	w.clientOptions = func(o *awsclient.Options) { o.ExpiryWindow = 500 * time.Millisecond }
	reqURL, reqToken := oidcServer(t, "eyJhbGciOiJSUzI1NiJ9.job-token")
	in := w.defaultInputs()
	in["role-to-assume"] = "arn:aws:iam::123456789012:role/registry-rotation"
	r := w.runEnv(t, in, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken})
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 and success", r.code, r.outputs["result"])
	}
	if r.took < 2500*time.Millisecond {
		t.Fatalf("the run took %s: not clearly longer than the 2 s session", r.took)
	}
	if n := w.fake.ExpiredCalls(); n != 0 {
		t.Errorf("%d calls were signed with expired credentials", n)
	}
	keys := map[string]bool{}
	for _, c := range w.fake.Calls() {
		if c.Service != "sts" {
			keys[c.AccessKeyID] = true
		}
	}
	if n := w.fake.CallCount("AssumeRoleWithWebIdentity"); n < 2 || len(keys) < 2 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls, %d signing keys: the credentials were not renewed", n, len(keys))
	}
}

// With static credentials (what configure-aws-credentials exports) that
// expire during the watch, the run stops at the first refused call, and the
// ::error says how to keep credentials for the whole run, and what changed.
func TestStaticCredentialsThatExpireSayWhatToDo(t *testing.T) {
	w := slowWorld(t, 2*time.Second)
	cfg, err := config.LoadDefaultConfig(context.Background(), w.fake.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/ci"), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String("eyJ.job"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	static := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	w.clientOptions = func(o *awsclient.Options) {
		o.Extra = append(o.Extra, config.WithCredentialsProvider(static))
	}
	r := w.run(t, w.defaultInputs())
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d, result %q; want 1 and failed", r.code, r.outputs["result"])
	}
	if w.fake.ExpiredCalls() == 0 {
		t.Fatal("no call was refused: the credentials did not expire during the run")
	}
	if r.took > testenv.Scale(5*time.Second) {
		t.Errorf("took %s: the watch went on retrying with credentials that cannot work", r.took)
	}
	if n := strings.Count(r.stdout, "::error"); n != 1 {
		t.Errorf("%d ::error lines, want 1", n)
	}
	errLine := lineWith(r.stdout, "::error title=rollout failed")
	for _, want := range []string{"ExpiredTokenException", "role-duration-seconds", "role-to-assume",
		"secret prod/registry now holds version", "services web were redeployed"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error lacks %q: %s", want, errLine)
		}
	}
}
