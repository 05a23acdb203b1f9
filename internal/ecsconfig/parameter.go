package ecsconfig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

// cleanupTimeout bounds the calls that clean up after the run (deleting the
// parameter, cancelling commands), which run even when ctx was cancelled.
const cleanupTimeout = 10 * time.Second

// ErrPayloadTooLarge says the auth data does not fit a parameter.
var ErrPayloadTooLarge = errors.New("the auth data is too large for an SSM parameter")

// encodePayload is the parameter's value (and the inline data): base64 of the
// payload, so that the instance needs no JSON unescaping.
func encodePayload(payload []byte) string { return base64.StdEncoding.EncodeToString(payload) }

// putParameter creates the run's SecureString parameter. It never
// overwrites: the run id is random, so a parameter of that name that exists
// already is this run's own, made by a call whose answer was lost before
// the SDK sent it again.
func (r *runner) putParameter(ctx context.Context) error {
	name := ParameterName(r.o.RunID)
	value := encodePayload(r.o.Payload)
	tier, err := tierFor(name, len(value), r.inline())
	if err != nil {
		return err
	}
	if tier == ssmtypes.ParameterTierAdvanced {
		r.log(fmt.Sprintf("the auth data is %d bytes in base64, more than a Standard parameter's %d: parameter %s uses the Advanced tier (up to %d bytes), which Parameter Store charges for while it exists; the run deletes it",
			len(value), MaxParameterValue, name, MaxAdvancedParameterValue))
	}
	// Named before the call: a call that failed on the way back may still
	// have created it, and the delete afterwards tolerates ParameterNotFound.
	r.res.Parameter = name
	_, err = r.c.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name:        aws.String(name),
		Value:       aws.String(value),
		Type:        ssmtypes.ParameterTypeSecureString,
		Tier:        tier,
		Overwrite:   aws.Bool(false),
		Description: aws.String(parameterDescription(r.clusters, r.deadline())),
	})
	switch {
	case awserr.Code(err) == "ParameterAlreadyExists":
		r.log(fmt.Sprintf("parameter %s exists already: a PutParameter whose answer was lost created it, and the SDK's retry met it; it is this run's", name))
	case err != nil:
		return awserr.Wrap(err, "ssm:PutParameter", "parameter "+name)
	}
	r.log(fmt.Sprintf("created SecureString parameter %s for the instances to read", name))
	return nil
}

// MaxAdvancedParameterValue is the largest value an Advanced-tier parameter
// holds.
const MaxAdvancedParameterValue = 8192

// tierFor is the cheapest tier that holds a value of n bytes.
func tierFor(name string, n int, inline string) (ssmtypes.ParameterTier, error) {
	switch {
	case n <= MaxParameterValue:
		return ssmtypes.ParameterTierStandard, nil
	case n <= MaxAdvancedParameterValue:
		return ssmtypes.ParameterTierAdvanced, nil
	}
	return "", fmt.Errorf("parameter %s: %w (%d bytes in base64, at most %d in an Advanced-tier parameter); only %s carries more, inside the command, where ssm:ListCommands shows it",
		name, ErrPayloadTooLarge, n, MaxAdvancedParameterValue, inline)
}

// deadline is when the run has certainly ended: its parameter is then
// left over, and the next run deletes it.
func (r *runner) deadline() time.Time {
	if !r.o.Deadline.IsZero() {
		return r.o.Deadline
	}
	return r.o.Now().Add(max(r.o.Timeout, DefaultAgentTimeout) + staleAfter)
}

// staleAfter is how long a parameter whose description names no deadline
// (or a run without a timeout) is kept.
const staleAfter = 24 * time.Hour

const deadlineWord = "deadline "

// maxDescription is the most characters a parameter's description holds.
const maxDescription = 1024

// parameterDescription says what the parameter is for, for which clusters,
// and until when: a run that finds it after that deletes it. Clusters that
// do not fit within maxDescription are only counted.
func parameterDescription(clusters []string, deadline time.Time) string {
	head := "ecs-registry-rotate: registry auth data for the container instances of cluster "
	if len(clusters) > 1 {
		head = "ecs-registry-rotate: registry auth data for the container instances of clusters "
	}
	tail := " during one run; deleted when the run ends (" + deadlineWord + deadline.UTC().Format(time.RFC3339) + ")"
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = clusterKey(c)
	}
	return head + nameList(names, maxDescription-len(head)-len(tail)) + tail
}

// parameterDeadline reads the deadline of a run's parameter from its
// description; without one, it is a day after it was last written.
func parameterDeadline(p ssmtypes.ParameterMetadata) time.Time {
	d := aws.ToString(p.Description)
	if i := strings.LastIndex(d, deadlineWord); i >= 0 {
		if t, err := time.Parse(time.RFC3339, strings.TrimSuffix(d[i+len(deadlineWord):], ")")); err == nil {
			return t
		}
	}
	return aws.ToTime(p.LastModifiedDate).Add(staleAfter)
}

// CleanupStale deletes the run parameters under ParameterPrefix whose run
// has certainly ended (a killed runner never deletes its own): they hold
// registry credentials. It returns the names it deleted; a failure is only
// reported, since the rotation does not depend on it.
func CleanupStale(ctx context.Context, api SSM, now time.Time) ([]string, error) {
	in := &ssm.DescribeParametersInput{
		MaxResults: aws.Int32(50),
		ParameterFilters: []ssmtypes.ParameterStringFilter{
			{Key: aws.String("Path"), Option: aws.String("OneLevel"), Values: []string{strings.TrimSuffix(ParameterPrefix, "/")}},
		},
	}
	var deleted []string
	for range maxInvocationsListPage {
		out, err := api.DescribeParameters(ctx, in)
		if err != nil {
			return deleted, awserr.Wrap(err, "ssm:DescribeParameters", "parameters under "+ParameterPrefix)
		}
		for _, p := range out.Parameters {
			name := aws.ToString(p.Name)
			if !strings.HasPrefix(name, ParameterPrefix) || !now.After(parameterDeadline(p)) {
				continue
			}
			_, err := api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
			if err != nil && awserr.Code(err) != "ParameterNotFound" {
				return deleted, awserr.Wrap(err, "ssm:DeleteParameter", "parameter "+name)
			}
			deleted = append(deleted, name)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	return deleted, nil
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
