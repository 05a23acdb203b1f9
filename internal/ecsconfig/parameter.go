package ecsconfig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

// cleanupTimeout bounds the calls that clean up after the run (deleting the
// parameter, cancelling commands), which run even when ctx was cancelled.
const cleanupTimeout = 10 * time.Second

// ErrPayloadTooLarge says the auth data does not fit a Standard parameter.
var ErrPayloadTooLarge = errors.New("the auth data is too large for an SSM parameter")

// encodePayload is the parameter's value (and the inline data): base64 of the
// payload, so that the instance needs no JSON unescaping.
func encodePayload(payload []byte) string { return base64.StdEncoding.EncodeToString(payload) }

// putParameter creates the run's SecureString parameter. It never
// overwrites: a parameter of that name is another run's.
func (r *runner) putParameter(ctx context.Context) error {
	name := ParameterName(r.o.RunID)
	value := encodePayload(r.o.Payload)
	if len(value) > MaxParameterValue {
		return fmt.Errorf("parameter %s: %w (%d bytes in base64, at most %d in a Standard-tier parameter); use `ecs-config-transport: inline`",
			name, ErrPayloadTooLarge, len(value), MaxParameterValue)
	}
	// Named before the call: a call that failed on the way back may still
	// have created it, and the delete afterwards tolerates ParameterNotFound.
	r.res.Parameter = name
	_, err := r.c.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name:        aws.String(name),
		Value:       aws.String(value),
		Type:        ssmtypes.ParameterTypeSecureString,
		Tier:        ssmtypes.ParameterTierStandard,
		Overwrite:   aws.Bool(false),
		Description: aws.String("ecs-registry-rotate: registry auth data for the container instances of cluster " + r.o.Cluster + " during one run; deleted when the run ends"),
	})
	if err != nil {
		if awserr.Code(err) == "ParameterAlreadyExists" {
			r.res.Parameter = "" // another run's: not ours to delete
			return fmt.Errorf("parameter %s already exists: another run uses run id %s: %w", name, r.o.RunID,
				awserr.Wrap(err, "ssm:PutParameter", "parameter "+name))
		}
		return awserr.Wrap(err, "ssm:PutParameter", "parameter "+name)
	}
	r.log(fmt.Sprintf("created SecureString parameter %s for the instances to read", name))
	return nil
}

// deleteParameter deletes the run's parameter, with a context of its own so
// that a cancelled run still deletes it. A parameter that is not there (its
// PutParameter failed) is as good as deleted.
func (r *runner) deleteParameter(ctx context.Context) {
	if r.res.Parameter == "" {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := r.c.SSM.DeleteParameter(cctx, &ssm.DeleteParameterInput{Name: aws.String(r.res.Parameter)})
	if err != nil && awserr.Code(err) != "ParameterNotFound" {
		r.res.CleanupErr = fmt.Errorf("the parameter %s still holds the registry credentials; delete it by hand (aws ssm delete-parameter --name %s): %w",
			r.res.Parameter, r.res.Parameter, awserr.Wrap(err, "ssm:DeleteParameter", "parameter "+r.res.Parameter))
		r.log(fmt.Sprintf("could not delete parameter %s", r.res.Parameter))
		return
	}
	r.res.ParameterDeleted = true
	r.log(fmt.Sprintf("deleted parameter %s", r.res.Parameter))
}
