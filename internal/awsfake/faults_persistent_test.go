package awsfake

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Each kind fails every attempt of a client with a retry budget, as AWS
// words it, and Lift lets the next call through.
func TestPersistentFaultsFailEveryAttempt(t *testing.T) {
	cases := []struct {
		kind   FaultKind
		code   string // "" for a transport error
		status int
	}{
		{InternalFailure, "InternalFailure", http.StatusInternalServerError},
		{ServiceUnavailable, "ServiceUnavailable", http.StatusServiceUnavailable},
		{ExpiredToken, "ExpiredTokenException", http.StatusBadRequest},
		{ThrottledAlways, "ThrottlingException", http.StatusBadRequest},
		{AccessDenied, "AccessDeniedException", http.StatusBadRequest},
		{ConnectionReset, "", 0},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			f := newFixture(t, withRetries(4))
			f.CreateCluster("prod")
			f.Fail("ListServices", c.kind)
			_, err := f.ecs.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
			if err == nil {
				t.Fatal("the call succeeded")
			}
			var ae smithy.APIError
			if c.code == "" {
				var re *smithyhttp.RequestSendError
				if errors.As(err, &ae) || !errors.As(err, &re) {
					t.Fatalf("err = %v, want a transport error", err)
				}
			} else {
				var re *smithyhttp.ResponseError
				if !errors.As(err, &ae) || ae.ErrorCode() != c.code || !errors.As(err, &re) || re.HTTPStatusCode() != c.status {
					t.Fatalf("err = %v, want %s with HTTP %d", err, c.code, c.status)
				}
			}
			want := 4
			if c.kind == AccessDenied || c.kind == ExpiredToken {
				want = 1
			}
			// The server records an attempt after answering it: after a
			// reset the client can be told before the record is written.
			n := f.CallCount("ListServices")
			for deadline := time.Now().Add(time.Second); n < want && time.Now().Before(deadline); n = f.CallCount("ListServices") {
				time.Sleep(5 * time.Millisecond)
			}
			if n != want {
				t.Errorf("%d attempts, want %d", n, want)
			}
			f.Lift("ListServices")
			if _, err := f.ecs.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")}); err != nil {
				t.Fatalf("after Lift: %v", err)
			}
		})
	}
}

func TestInjectSkipAndAfter(t *testing.T) {
	f := newFixture(t, withRetries(1))
	f.CreateCluster("prod")
	arn := f.CreateSecret("s", "v1")
	ctx := context.Background()
	list := func() error {
		_, err := f.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("prod")})
		return err
	}
	f.Inject("ListServices", Fault{Kind: InternalFailure, Skip: 1, After: "PutSecretValue"})
	for range 2 { // calls before the trigger never fail
		if err := list(); err != nil {
			t.Fatalf("armed before PutSecretValue succeeded: %v", err)
		}
	}
	if _, err := f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	if list() != nil {
		t.Fatal("Skip 1 did not let the first call after arming through")
	}
	if list() == nil {
		t.Fatal("the second call after arming went through")
	}
	f.LiftAll()
	if err := list(); err != nil {
		t.Fatal(err)
	}
}

// Credentials from the fake's STS expire when it said they would; the SDK's
// credentials cache renews them, and a client that keeps them fails.
func TestSTSCredentialsExpire(t *testing.T) {
	s, err := Start(Options{Tick: testTick, STSSessionDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	cfg := loadConfig(t, s)
	provider := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::123456789012:role/r",
		tokenString("eyJ.fake.jwt"))
	creds, err := provider.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(creds.Expires); d > 2*time.Second || d < 0 {
		t.Fatalf("expires in %s, want within 2 s", d)
	}
	stale := cfg.Copy()
	stale.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := creds
		c.CanExpire = false // a holder that never renews
		return c, nil
	}))
	s.CreateCluster("prod")
	if _, err := ecs.NewFromConfig(stale).ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	time.Sleep(time.Until(creds.Expires) + 10*time.Millisecond)
	_, err = ecs.NewFromConfig(stale).ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredTokenException" {
		t.Fatalf("after expiry: %v, want ExpiredTokenException", err)
	}
	renewing := cfg.Copy()
	renewing.Credentials = aws.NewCredentialsCache(provider)
	if _, err := ecs.NewFromConfig(renewing).ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatalf("renewed: %v", err)
	}
	if s.ExpiredCalls() != 1 {
		t.Errorf("%d expired calls, want 1", s.ExpiredCalls())
	}
}

type tokenString string

func (t tokenString) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

func loadConfig(t *testing.T, s *Server) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), append(s.LoadOptions(), withRetries(1))...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
