package awsfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smithy "github.com/aws/smithy-go"
)

func withRetries(max int) func(*config.LoadOptions) error {
	return config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = max
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	})
}

func TestThrottlingIsRetriedBySDK(t *testing.T) {
	f := newFixture(t, withRetries(10))
	f.publicServices(t, "prod", 1, 1)
	f.Throttle("DescribeServices", 0.3)
	const calls = 40
	for range calls {
		f.describe(t, "prod", "svc-00")
	}
	n := f.CallCount("DescribeServices")
	if n <= calls {
		t.Fatalf("%d attempts for %d calls: nothing was throttled", n, calls)
	}
	throttled := 0
	for _, c := range f.Calls() {
		if c.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	if throttled != n-calls {
		t.Fatalf("%d throttled of %d attempts, want %d", throttled, n, n-calls)
	}

	// Even 100% gives way after a few in a row, so retries always win.
	f.Throttle("DescribeServices", 1)
	f.ResetCalls()
	f.describe(t, "prod", "svc-00")
	if n := f.CallCount("DescribeServices"); n != maxConsecutiveThrottles+1 {
		t.Fatalf("%d attempts at 100%%, want %d", n, maxConsecutiveThrottles+1)
	}
}

func TestThrottlingWithoutRetriesFails(t *testing.T) {
	f := newFixture(t, withRetries(1))
	f.CreateCluster("prod")
	f.Throttle("*", 1)
	_, err := f.ecs.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || ae.ErrorMessage() != "Rate exceeded" {
		t.Fatalf("err = %v, want ThrottlingException: Rate exceeded", err)
	}
	if !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Fatal("the SDK does not see it as throttling")
	}
}

func TestMutatingCallsSkipThrottledAttempts(t *testing.T) {
	f := newFixture(t, withRetries(10))
	arn := f.CreateSecret("s", "v1")
	f.Throttle("PutSecretValue", 0.5)
	for i := range 6 {
		if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(arn), SecretString: aws.String(strings.Repeat("x", i+2)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	muts := f.MutatingCalls()
	if len(muts) != 6 || f.CallCount("PutSecretValue") <= 6 {
		t.Fatalf("%d mutating calls of %d attempts", len(muts), f.CallCount("PutSecretValue"))
	}
	var in struct{ SecretId, SecretString string }
	if err := json.Unmarshal(muts[0].Input, &in); err != nil || in.SecretId != arn || muts[0].Service != "secretsmanager" {
		t.Fatalf("recorded input %s (%v)", muts[0].Input, err)
	}
}

func TestAccessDeniedNamesTheAction(t *testing.T) {
	f := newFixture(t)
	f.publicServices(t, "prod", 1, 1)
	f.DenyAccess("UpdateService")
	_, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("svc-00"), ForceNewDeployment: true,
	})
	var ad *ecstypes.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("err = %v, want AccessDeniedException", err)
	}
	want := "User: arn:aws:sts::123456789012:assumed-role/ci/session is not authorized to perform: ecs:UpdateService on resource: " +
		"arn:aws:ecs:us-east-1:123456789012:service/prod/svc-00 because no identity-based policy allows the ecs:UpdateService action"
	if ad.ErrorMessage() != want {
		t.Fatalf("message = %q", ad.ErrorMessage())
	}
	if len(f.MutatingCalls()) != 0 {
		t.Fatal("a denied call counted as a mutation")
	}

	f.DenyAccess("GetSecretValue")
	arn := f.CreateSecret("s", "v")
	_, err = f.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" ||
		!strings.Contains(ae.ErrorMessage(), "secretsmanager:GetSecretValue on resource: "+arn) {
		t.Fatalf("err = %v", err)
	}
}

func TestLatency(t *testing.T) {
	f := newFixture(t)
	f.CreateCluster("prod")
	f.Latency("ListServices", 50*time.Millisecond)
	start := time.Now()
	if _, err := f.ecs.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("answered in %v", d)
	}
}

func TestUnsignedRequestsAreRejected(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.URL(), strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" ||
		!strings.Contains(string(body), `"__type":"MissingAuthenticationTokenException"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestUnknownOperation(t *testing.T) {
	f := newFixture(t)
	_, err := f.ecs.ListTaskDefinitionFamilies(context.Background(), &ecs.ListTaskDefinitionFamiliesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("err = %v", err)
	}
	if c := f.Calls(); len(c) != 1 || c[0].Operation != "ListTaskDefinitionFamilies" || c[0].ErrorCode != "UnknownOperationException" {
		t.Fatalf("calls = %+v", c)
	}
}
