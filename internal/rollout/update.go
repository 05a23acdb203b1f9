package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

// update is one target's forced deployment. UpdateService has no client
// token: when its answer is lost, the SDK's retry starts a second
// deployment. So it is sent with the SDK's retries off, and deployOne
// decides after each failure: AWS refused it (sent again after a wait when
// throttled), or it may have been carried out, and the service is read back
// before it is sent again.
type update struct {
	api   ECS
	t     Target
	in    *ecs.UpdateServiceInput
	pacer *Pacer
	log   func(string)
	// retryer is the client's, taken from the call's options: the waits and
	// the attempts are those the SDK makes for every other call of the run.
	retryer aws.Retryer
}

// readBackTimeout bounds the read-back once ctx is done: a cancelled job has
// seconds left, and the truth about a deployment is worth one call of them.
const readBackTimeout = 5 * time.Second

// fallbackRetryer stands in for the client's when the ECS given is not an SDK
// client (which never calls the options): the run's settings.
var fallbackRetryer = retry.NewStandard(func(o *retry.StandardOptions) {
	o.MaxAttempts = awsclient.MaxAttempts
	o.MaxBackoff = awsclient.DefaultMaxBackoff
	o.RateLimiter = ratelimit.None
})

func newUpdate(api ECS, t Target, opts DeployOptions, pacer *Pacer) *update {
	return &update{api: api, t: t, in: updateInput(t, opts), pacer: pacer, log: opts.Log, retryer: fallbackRetryer}
}

func (u *update) send(ctx context.Context) (*ecs.UpdateServiceOutput, error) {
	return u.api.UpdateService(ctx, u.in, u.once)
}

// once is the call's option that turns the SDK's retries off for it.
func (u *update) once(o *ecs.Options) {
	if o.Retryer != nil {
		u.retryer = o.Retryer
	}
	o.RetryMaxAttempts = 1
}

// afterFailure decides what follows the attempt-th send's failure err: the
// deployment the call started after all, the error to return, or neither
// (send again, its wait and turn taken).
func (u *update) afterFailure(ctx context.Context, attempt int, err error) (*ecstypes.Deployment, error) {
	failed := awserr.Wrap(withoutSDKAttempts(err), "ecs:UpdateService", describeTarget(u.t))
	if attempt > 1 {
		failed = fmt.Errorf("%w; sent %d times", failed, attempt)
	}
	switch outcomeOf(err) {
	case refused:
		return nil, failed
	case throttled:
		return nil, u.resend(ctx, attempt, err, failed)
	}
	return u.settle(ctx, attempt, err, failed)
}

// settle follows a send that may have been carried out: the service is read
// back, and the call sent again only when it shows no deployment it started.
func (u *update) settle(ctx context.Context, attempt int, err, failed error) (*ecstypes.Deployment, error) {
	if u.t.KnownDeployments == nil {
		return nil, u.resend(ctx, attempt, err, failed) // nothing to tell ours by
	}
	// The wait gives ECS's eventually consistent reads time to show the
	// deployment; a ctx done meanwhile still reads back.
	_ = u.backoff(ctx, attempt, err)
	primary, rerr := u.readBack(ctx)
	switch {
	case rerr != nil:
		return nil, fmt.Errorf("%w; it may have started a deployment all the same: %w", failed, rerr)
	case primary != nil:
		u.say(fmt.Sprintf("UpdateService's answer was lost; following deployment %s that it started", aws.ToString(primary.Id)))
		return primary, nil
	case attempt >= u.retryer.MaxAttempts() || ctx.Err() != nil:
		return nil, fmt.Errorf("%w; read back, the service shows no deployment that it started", failed)
	}
	if attempt == 1 { // the final error tells of the others
		u.say(fmt.Sprintf("UpdateService failed without saying whether it was carried out (%v); read back, the service shows no deployment that it started: sending it again", withoutSDKAttempts(err)))
	}
	return nil, u.turn(ctx, failed)
}

// resend waits, as the SDK would have, to send the call again: nil when it
// may go, failed when the attempts ran out.
func (u *update) resend(ctx context.Context, attempt int, err, failed error) error {
	if attempt >= u.retryer.MaxAttempts() {
		return failed
	}
	if err := u.backoff(ctx, attempt, err); err != nil {
		return fmt.Errorf("%w; not sent again, stopped while waiting to: %w", failed, err)
	}
	return u.turn(ctx, failed)
}

// backoff waits as the SDK would have before its next attempt.
func (u *update) backoff(ctx context.Context, attempt int, err error) error {
	d, derr := u.retryer.RetryDelay(attempt, err)
	if derr != nil {
		d = 0
	}
	return sleepContext(ctx, d)
}

// turn waits for the next send's turn under ECS's limit, which a resend
// draws on as every call does; nil: send it.
func (u *update) turn(ctx context.Context, failed error) error {
	if err := u.pacer.wait(ctx); err != nil {
		return fmt.Errorf("%w; not sent again, stopped while waiting for its turn under ECS's request limit: %w", failed, err)
	}
	return nil
}

// readBack is the service's PRIMARY deployment when it is none of those
// known before the call: the one a call whose answer was lost started.
func (u *update) readBack(ctx context.Context) (*ecstypes.Deployment, error) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), readBackTimeout)
		defer cancel()
	}
	out, err := u.api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(u.t.Cluster), Services: []string{serviceRef(u.t)}})
	if err != nil {
		return nil, fmt.Errorf("reading the service back failed: %w", awserr.Wrap(err, "ecs:DescribeServices", describeTarget(u.t)))
	}
	for _, s := range out.Services {
		p := primaryDeployment(s.Deployments)
		if p != nil && !slices.Contains(u.t.KnownDeployments, aws.ToString(p.Id)) {
			return p, nil
		}
	}
	return nil, nil
}

func (u *update) say(line string) {
	if u.log != nil {
		u.log(describeTarget(u.t) + ": " + line)
	}
}

// outcome is what a failed call says about its effect.
type outcome int

const (
	// refused: AWS answered that it did not do it (a client error), or the
	// call never left (no credentials): sending it again would not help.
	refused outcome = iota
	// throttled: AWS refused it for the rate; it may go again after a wait.
	throttled
	// unknown: no answer (the connection ended, a timeout, ctx done on the
	// way), a server error, or an answer that could not be read: the call
	// may have been carried out.
	unknown
)

func outcomeOf(err error) outcome {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return throttled
	}
	// The SDK gives a send that got no response the status 0.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if code := status.HTTPStatusCode(); code >= http.StatusBadRequest && code < http.StatusInternalServerError {
			return refused
		}
		return unknown
	}
	if sentUnanswered(err) {
		return unknown
	}
	return refused
}

// sentUnanswered reports whether err left the call on its way: sent, or
// perhaps sent, with no answer read.
func sentUnanswered(err error) bool {
	var send *smithyhttp.RequestSendError
	var cancelled *smithy.CanceledError
	return errors.As(err, &send) || errors.As(err, &cancelled) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// withoutSDKAttempts drops the SDK's "exceeded maximum number of attempts,
// 1" from err: the attempts are deployOne's, and its error counts them.
func withoutSDKAttempts(err error) error {
	var op *smithy.OperationError
	var most *retry.MaxAttemptsError
	if errors.As(err, &op) && errors.As(op.Err, &most) {
		return &smithy.OperationError{ServiceID: op.ServiceID, OperationName: op.OperationName, Err: most.Err}
	}
	return err
}
