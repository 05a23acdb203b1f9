// Package awsclient builds the AWS configuration every client of a run shares:
// the SDK's default chain, a retryer fit for a job that polls for many minutes,
// and, when asked, a role assumed with the job's GitHub OIDC token.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// MaxAttempts is how often a call is tried before its error is returned: a
// run makes hundreds of calls, so the SDK's default of 3 lets a throttled
// account fail a rotation half-way.
const MaxAttempts = 10

// DefaultMaxBackoff caps the wait between two attempts of one call.
const DefaultMaxBackoff = 20 * time.Second

// ErrNoRegion is bad input: neither the aws-region input nor the SDK's chain
// names a region. The caller says how to set one, as the user runs the tool.
var ErrNoRegion = errors.New("no AWS region is set: neither aws-region nor the SDK's chain (AWS_REGION, the profile) names one")

// ErrNoCredentials is what a CredentialsError is: the SDK's default chain
// yields no credentials (no variables, no profile, no web identity, no
// container or instance role). Nothing was asked of AWS; the caller says
// how to provide them, as the user runs the tool.
var ErrNoCredentials = errors.New("no AWS credentials were found")

// CredentialsError is Load's error when the default chain has no
// credentials to give; Err is the chain's own, for the one who debugs it
// ("no EC2 IMDS role found" names only the last source it tried).
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("%s: %s", ErrNoCredentials, e.ChainSaid())
}

// ChainSaid is the chain's error, with what the chain looks at.
func (e *CredentialsError) ChainSaid() string {
	return "the SDK's default chain, which looks at the environment variables, the shared config and credentials files, SSO, web identity, and container and EC2 instance roles, said: " + e.Err.Error()
}

func (e *CredentialsError) Is(target error) bool { return target == ErrNoCredentials }

func (e *CredentialsError) Unwrap() error { return e.Err }

// DefaultExpiryWindow is how long before they expire role-to-assume's
// credentials are renewed.
const DefaultExpiryWindow = time.Minute

// Options say how to reach AWS.
type Options struct {
	Region       string // overrides the chain's region when set
	RoleToAssume string // assumed with IDToken when set
	// IDToken fetches the job's OIDC token (audience sts.amazonaws.com).
	IDToken    func(ctx context.Context) (string, error)
	MaxBackoff time.Duration // 0: DefaultMaxBackoff; tests shorten it
	// ExpiryWindow renews role-to-assume's credentials this long before they
	// expire (0: DefaultExpiryWindow), so that no call is signed with
	// credentials that expire on the way; tests shorten it.
	ExpiryWindow time.Duration
	// Logger receives the SDK's own warnings (nil: the SDK's default, stderr).
	Logger logging.Logger
	// Extra load options, applied last: tests point the SDK at awsfake here.
	Extra []func(*config.LoadOptions) error
}

// Load returns the configuration for every client of the run.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	maxBackoff := o.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = DefaultMaxBackoff
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(s *retry.StandardOptions) {
				s.MaxAttempts = MaxAttempts
				s.MaxBackoff = maxBackoff
				// The client-side retry quota would otherwise run dry under
				// sustained throttling and turn retryable errors fatal.
				s.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Logger != nil {
		opts = append(opts, config.WithLogger(o.Logger))
	}
	opts = append(opts, o.Extra...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	if o.RoleToAssume != "" {
		cfg.Credentials = webIdentity(ctx, cfg, o)
		return cfg, nil
	}
	// The chain is tried once now, so that a machine without credentials
	// fails here, saying so, rather than at the first call of a step with
	// the SDK's words for the last source it tried ("no EC2 IMDS role
	// found"). The credentials are cached for the calls that follow.
	if cfg.Credentials != nil {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return aws.Config{}, ctx.Err()
			}
			return aws.Config{}, &CredentialsError{Err: err}
		}
	}
	return cfg, nil
}

// webIdentity assumes the role with the job's OIDC token; the credentials
// cache renews it ExpiryWindow before it expires, so a wait longer than the
// role's session keeps working.
func webIdentity(ctx context.Context, cfg aws.Config, o Options) aws.CredentialsProvider {
	provider := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), o.RoleToAssume,
		tokenFunc{ctx: ctx, fetch: o.IDToken},
		func(w *stscreds.WebIdentityRoleOptions) { w.RoleSessionName = "ecs-registry-rotate" })
	window := o.ExpiryWindow
	if window == 0 {
		window = DefaultExpiryWindow
	}
	return aws.NewCredentialsCache(provider, func(c *aws.CredentialsCacheOptions) { c.ExpiryWindow = window })
}

// tokenFunc adapts IDToken to the SDK's context-free token retriever.
type tokenFunc struct {
	ctx   context.Context
	fetch func(ctx context.Context) (string, error)
}

func (t tokenFunc) GetIdentityToken() ([]byte, error) {
	if t.fetch == nil {
		return nil, fmt.Errorf("role-to-assume needs the job's OIDC token: run inside GitHub Actions with `permissions: id-token: write`")
	}
	token, err := t.fetch(t.ctx)
	if err != nil {
		return nil, fmt.Errorf("get the job's OIDC token for role-to-assume (does the job have `permissions: id-token: write`?): %w", err)
	}
	return []byte(token), nil
}
