package ecsconfig

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// SSM's limits: instance ids per SendCommand, results per
// ListCommandInvocations page, the least delivery timeout.
const (
	maxSendCommandIDs      = 50
	maxInvocationsPerPage  = 50
	documentName           = "AWS-RunShellScript"
	commentPrefix          = "ecs-registry-rotate "
	maxInvocationsListPage = 100 // a guard against a service that never stops paging
)

// The least delivery timeout SSM takes, and how much longer than delivery
// and execution together a command is waited for (variables for the tests).
var (
	minDeliveryTimeout  = 30 * time.Second
	invocationWaitSlack = 30 * time.Second
)

// sentCommand is one SendCommand: its id and the instances it went to.
type sentCommand struct {
	id        string
	instances []string // EC2 instance ids
	mode      string
}

// invocation is a command's run on one instance, as last listed.
type invocation struct {
	status   ssmtypes.CommandInvocationStatus
	details  string
	output   string
	exitCode int32
	listed   bool
}

// ended reports whether the invocation reached a terminal state.
func (v invocation) ended() bool {
	switch v.status {
	case "", ssmtypes.CommandInvocationStatusPending, ssmtypes.CommandInvocationStatusInProgress,
		ssmtypes.CommandInvocationStatusDelayed, ssmtypes.CommandInvocationStatusCancelling:
		return false
	}
	return true
}

func (v invocation) succeeded() bool { return v.status == ssmtypes.CommandInvocationStatusSuccess }

// deliveryTimeout is SendCommand's TimeoutSeconds: a command not started on
// an instance by then never runs there, so none runs after the step gave up
// waiting for it.
func (r *runner) deliveryTimeout() time.Duration {
	return max(minDeliveryTimeout, r.o.ExecutionTimeout)
}

// executionTimeoutSeconds is d as AWS-RunShellScript's executionTimeout
// takes it: whole seconds from 1 to 172800.
func executionTimeoutSeconds(d time.Duration) int {
	return min(max(1, int((d+time.Second-1)/time.Second)), 172800)
}

// send runs mode on insts: one SendCommand per init system (the commands
// differ) and per 50 instances. When a SendCommand fails it stops and returns
// the commands already sent with the error, so that the caller still waits
// for them.
func (r *runner) send(ctx context.Context, mode string, insts []Instance) ([]*sentCommand, error) {
	var sent []*sentCommand
	for _, group := range batch.GroupBy(insts, func(i Instance) string { return i.Init }) {
		lines := r.commands(mode, group[0])
		for _, chunk := range batch.Chunks(group, maxSendCommandIDs) {
			ids := make([]string, len(chunk))
			for i, inst := range chunk {
				ids[i] = inst.EC2InstanceID
			}
			out, err := r.c.SSM.SendCommand(ctx, &ssm.SendCommandInput{
				DocumentName: aws.String(documentName),
				InstanceIds:  ids,
				Parameters: map[string][]string{
					"commands":         lines,
					"executionTimeout": {strconv.Itoa(executionTimeoutSeconds(r.o.ExecutionTimeout))},
				},
				MaxErrors:      aws.String("0"),
				MaxConcurrency: aws.String("100%"),
				TimeoutSeconds: aws.Int32(int32(r.deliveryTimeout() / time.Second)),
				Comment:        aws.String(commentPrefix + mode + " run " + r.o.RunID),
			})
			if err != nil {
				return sent, awserr.Wrap(err, "ssm:SendCommand", fmt.Sprintf("%s on instances %s", mode, strings.Join(ids, ", ")))
			}
			if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
				return sent, fmt.Errorf("ssm:SendCommand (%s on instances %s): the response has no command id", mode, strings.Join(ids, ", "))
			}
			c := &sentCommand{id: aws.ToString(out.Command.CommandId), instances: ids, mode: mode}
			sent = append(sent, c)
			r.log(fmt.Sprintf("%s: sent command %s to %d instances", mode, c.id, len(ids)))
		}
	}
	return sent, nil
}

// wait polls each command with an unfinished invocation, one
// ListCommandInvocations (with its pages) per command and poll, until every
// invocation ended, the wait's own deadline passed (the unfinished ones are
// then returned as they were last seen) or ctx ends (error). Only an access
// denial or expired credentials, which no retry cures, stop it early with an error; other failed
// calls are tried again at the next poll.
func (r *runner) wait(ctx context.Context, cmds []*sentCommand) (map[string]invocation, error) {
	invs := map[string]invocation{}
	if len(cmds) == 0 {
		return invs, nil
	}
	r.lastErr = nil // an earlier wait's failed look says nothing of this one
	wctx, cancel := context.WithTimeout(ctx, r.deliveryTimeout()+r.o.ExecutionTimeout+invocationWaitSlack)
	defer cancel()
	timer := time.NewTimer(r.o.PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-wctx.Done():
			return invs, r.waitEnded(ctx, "the SSM commands")
		case <-timer.C:
		}
		for _, c := range cmds {
			if allEnded(invs, c.instances) {
				continue
			}
			err := r.list(wctx, c, invs)
			if wctx.Err() != nil {
				return invs, r.waitEnded(ctx, "the SSM commands")
			}
			if err != nil {
				if awserr.Permanent(err) {
					return invs, err
				}
				r.lastErr = err
				r.log(fmt.Sprintf("%s: %v (trying again)", c.mode, err))
			}
		}
		done := true
		for _, c := range cmds {
			done = done && allEnded(invs, c.instances)
		}
		if done {
			return invs, nil
		}
		timer.Reset(r.o.PollInterval)
	}
}

// waitEnded is the error of a wait whose context ended: nil when only the
// wait's own deadline passed, ctx's error (the run's timeout or its
// cancellation) otherwise.
func (r *runner) waitEnded(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		if r.lastErr != nil {
			// The wait may have ended only because no look got through:
			// say which call failed, and how.
			err = fmt.Errorf("%w; the last failed look: %v", err, r.lastErr)
		}
		return err
	}
	return nil
}

// list is one ListCommandInvocations of c, page after page.
func (r *runner) list(ctx context.Context, c *sentCommand, invs map[string]invocation) error {
	in := &ssm.ListCommandInvocationsInput{CommandId: aws.String(c.id), Details: true, MaxResults: aws.Int32(maxInvocationsPerPage)}
	for range maxInvocationsListPage {
		out, err := r.c.SSM.ListCommandInvocations(ctx, in)
		if err != nil {
			return awserr.Wrap(err, "ssm:ListCommandInvocations", "command "+c.id)
		}
		for _, ci := range out.CommandInvocations {
			invs[aws.ToString(ci.InstanceId)] = invocationOf(ci)
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
	return nil
}

func invocationOf(ci ssmtypes.CommandInvocation) invocation {
	v := invocation{status: ci.Status, details: aws.ToString(ci.StatusDetails), listed: true}
	var outputs []string
	for _, p := range ci.CommandPlugins {
		outputs = append(outputs, aws.ToString(p.Output))
		if p.ResponseCode != 0 {
			v.exitCode = p.ResponseCode
		}
	}
	v.output = strings.Join(outputs, "\n")
	return v
}

func allEnded(invs map[string]invocation, ids []string) bool {
	for _, id := range ids {
		if !invs[id].ended() {
			return false
		}
	}
	return true
}

// cancelUnfinished asks SSM to cancel the invocations that have not ended,
// so that none of them changes an instance after the step stopped following
// it. It runs even after ctx was cancelled; its failure is only logged.
func (r *runner) cancelUnfinished(ctx context.Context, cmds []*sentCommand, invs map[string]invocation) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, c := range cmds {
		var ids []string
		for _, id := range c.instances {
			if !invs[id].ended() {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		_, err := r.c.SSM.CancelCommand(cctx, &ssm.CancelCommandInput{CommandId: aws.String(c.id), InstanceIds: ids})
		if err != nil {
			r.log(fmt.Sprintf("%s: could not cancel command %s on %s: %v", c.mode, c.id, strings.Join(ids, ", "), awserr.Wrap(err, "ssm:CancelCommand", "command "+c.id)))
			continue
		}
		r.log(fmt.Sprintf("%s: cancelled command %s on %s", c.mode, c.id, strings.Join(ids, ", ")))
	}
}
