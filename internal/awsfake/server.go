// Package awsfake is a wire-level fake of the AWS APIs that
// ecs-registry-rotate calls (ECS, Secrets Manager, SSM, STS) plus a Docker
// registry. Tests point the real aws-sdk-go-v2 clients at it, so request
// signing, serialisation, retries and error decoding all run for real.
package awsfake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-containerregistry/pkg/registry"
)

// Options configures a fake.
type Options struct {
	Region    string        // default "us-east-1"
	AccountID string        // default "123456789012"
	Tick      time.Duration // how long each task phase lasts; default 100ms
	Seed      int64         // for throttling randomness; 0 = fixed default
	// STSSessionDuration is how long the credentials that
	// AssumeRoleWithWebIdentity hands out last when the caller names no
	// DurationSeconds; default one hour, as STS's. A call signed with them
	// after that fails with ExpiredTokenException.
	STSSessionDuration time.Duration
	// CommandConcurrency bounds how many SSM invocations run bash at once
	// across the fake; default 8.
	CommandConcurrency int
	// GetParameterTPS, when above zero, holds GetParameter to that many
	// transactions a second across the fake (see LimitGetParameter).
	GetParameterTPS float64
	// ThrottleUpdateService holds UpdateService to ECS's request
	// throttling: a bucket of 50 calls refilled at 5 a second across the
	// fake (see LimitUpdateService). Off by default.
	ThrottleUpdateService bool
}

const (
	fakeAccessKeyID     = "AKIDFAKEEXAMPLE00000"
	fakeSecretAccessKey = "fake"
	defaultSeed         = 20141113
)

// Server is one running fake: an AWS endpoint and a registry endpoint.
type Server struct {
	opts Options

	awsSrv, regSrv *http.Server
	url, regHost   string
	registry       http.Handler // in-memory registry, without the auth gate

	mu      sync.Mutex
	rng     *rand.Rand
	world   *world
	secrets *secretStore
	faults  faultSet
	// persistent are the faults of Fail and Inject, by operation.
	persistent map[string]*armedFault
	// issued are the expiries of the credentials the fake's STS handed
	// out, by access key id: a call signed with one past it is refused.
	issued map[string]time.Time
	// replyLatency delays the answer of a call that already took effect.
	replyLatency map[string]time.Duration
	// lose are the operations of LoseAnswer; lostCount counts the answers
	// dropped, by operation.
	lose      map[string]*lostAnswers
	lostCount map[string]int
	// quotas are the token buckets of LimitGetParameter and
	// LimitUpdateService, by X-Amz-Target; none when unlimited.
	quotas map[string]*tokenBucket
	// regDenyMessage words the registry's 401 answer; "" is the usual one.
	regDenyMessage string
	calls          []Call
	regCreds       map[string]registryCred

	ssm          *ssmStore
	exec         execState
	instanceSide InstanceSide // IMDS and instance-signed SSM: instance.go, mounted by Start
}

// Start listens on two loopback ports, one for every AWS service and one
// for the registry, and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	if opts.CommandConcurrency <= 0 {
		opts.CommandConcurrency = 8
	}
	seed := opts.Seed
	if seed == 0 {
		seed = defaultSeed
	}

	awsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awsfake: listen: %w", err)
	}
	regLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		awsLn.Close()
		return nil, fmt.Errorf("awsfake: listen: %w", err)
	}

	s := &Server{
		opts:     opts,
		url:      "http://" + awsLn.Addr().String(),
		regHost:  regLn.Addr().String(),
		registry: registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>1|1)),
		secrets:  newSecretStore(opts.Region, opts.AccountID),
		faults:   newFaultSet(),
		regCreds: map[string]registryCred{},
		quotas:   map[string]*tokenBucket{},
		ssm:      newSSMStore(),
		exec:     newExecState(opts.CommandConcurrency),
	}
	s.world = newWorld(opts.Region, opts.AccountID, opts.Tick, s.startTask)
	s.instanceSide = s.defaultInstanceSide()
	s.LimitGetParameter(opts.GetParameterTPS, 0)
	if opts.ThrottleUpdateService {
		s.LimitUpdateService(updateServicePerSecond, updateServiceBurst)
	}
	s.awsSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.regSrv = &http.Server{Handler: http.HandlerFunc(s.serveRegistry), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.awsSrv.Serve(awsLn) }()
	go func() { _ = s.regSrv.Serve(regLn) }()
	return s, nil
}

// Close stops both listeners and drops open connections, kills the
// commands still running and removes the instances' directories.
func (s *Server) Close() {
	_ = s.awsSrv.Close()
	_ = s.regSrv.Close()
	s.shutdownExec()
}

// URL is the AWS endpoint, for AWS_ENDPOINT_URL or config.WithBaseEndpoint.
func (s *Server) URL() string { return s.url }

// Env is the environment a child process needs to talk to the fake with
// the SDK's default chain. The shared config files are pointed at nothing
// so a developer's ~/.aws cannot leak into a test.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.url,
		"AWS_REGION=" + s.opts.Region,
		"AWS_DEFAULT_REGION=" + s.opts.Region,
		"AWS_ACCESS_KEY_ID=" + fakeAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + fakeSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

// LoadOptions are config.LoadDefaultConfig options for in-process clients.
func (s *Server) LoadOptions() []func(*config.LoadOptions) error {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID:     fakeAccessKeyID,
			SecretAccessKey: fakeSecretAccessKey,
			Source:          "awsfake",
		}, nil
	})
	return []func(*config.LoadOptions) error{
		config.WithRegion(s.opts.Region),
		config.WithBaseEndpoint(s.url),
		config.WithCredentialsProvider(creds),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
}

// lock takes the one mutex and brings the simulation up to the present,
// so every reader sees the world as if time had flowed continuously.
func (s *Server) lock() time.Time {
	s.mu.Lock()
	// Milliseconds, as the wire carries them, so that ServiceSnapshot and
	// DescribeServices agree to the instant.
	now := time.Now().Truncate(time.Millisecond)
	s.world.advance(now)
	return now
}

func (s *Server) unlock() { s.mu.Unlock() }

// callerArn is who the fake says is calling: the identity a CI job gets
// from configure-aws-credentials.
func (s *Server) callerArn() string {
	return "arn:aws:sts::" + s.opts.AccountID + ":assumed-role/ci/session"
}

// apiError is an error AWS would answer with.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
}

// isMutating tells which operations change AWS state, by AWS's own naming
// convention, so MutatingCalls stays right as operations are added.
func isMutating(op string) bool {
	for _, p := range []string{
		"Put", "Update", "Create", "Delete", "Register", "Deregister", "Send",
		"Start", "Stop", "Run", "Tag", "Untag", "Restore", "Rotate", "Cancel",
		"Submit", "Execute",
	} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}
