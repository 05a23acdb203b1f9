package ecsconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
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
	comment   string // names the run and the call: a second delivery has the same
	// duplicate is set for a second delivery of a SendCommand (its answer
	// was lost and the SDK sent it again): it runs too and is waited for.
	duplicate bool
	invs      map[string]invocation // by instance id, as last listed
}

// invocation is a command's run on one instance, as last listed.
type invocation struct {
	command  string
	status   ssmtypes.CommandInvocationStatus
	details  string
	output   string
	exitCode int32
	finished time.Time // when its plugin finished, by SSM's clock; zero when unknown
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
// for them. A call that failed may still have started its command (its
// answer was lost): such a command is found by its comment and kept.
func (r *runner) send(ctx context.Context, mode string, insts []Instance) ([]*sentCommand, error) {
	var sent []*sentCommand
	// The commands differ by init system, and for a rollback by the run
	// whose backup is restored.
	for _, group := range batch.GroupBy(insts, func(i Instance) string { return i.Init + " " + i.BackupRunID }) {
		lines := r.commands(mode, group[0])
		for _, chunk := range batch.Chunks(group, maxSendCommandIDs) {
			ids := make([]string, len(chunk))
			for i, inst := range chunk {
				ids[i] = inst.EC2InstanceID
			}
			c, err := r.sendOne(ctx, mode, ids, lines)
			if c == nil {
				return sent, err
			}
			sent = append(sent, c)
			r.log(fmt.Sprintf("%s: sent command %s to %d instances", mode, c.id, len(ids)))
		}
	}
	return sent, nil
}

// sendOne is one SendCommand, named by a comment of its own.
func (r *runner) sendOne(ctx context.Context, mode string, ids, lines []string) (*sentCommand, error) {
	r.calls++
	comment := fmt.Sprintf("%s%s %s #%d", commentPrefix, mode, r.o.RunID, r.calls)
	out, err := r.c.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String(documentName),
		InstanceIds:  ids,
		Parameters: map[string][]string{
			"commands":         lines,
			"executionTimeout": {strconv.Itoa(executionTimeoutSeconds(r.o.ExecutionTimeout))},
		},
		MaxErrors:      aws.String("0"),
		MaxConcurrency: aws.String(r.maxConcurrency(mode)),
		TimeoutSeconds: aws.Int32(int32(r.deliveryTimeout() / time.Second)),
		Comment:        aws.String(comment),
	})
	c := &sentCommand{instances: ids, mode: mode, comment: comment}
	if err == nil && (out.Command == nil || aws.ToString(out.Command.CommandId) == "") {
		err = fmt.Errorf("the response has no command id")
	}
	if err == nil {
		c.id = aws.ToString(out.Command.CommandId)
		return c, nil
	}
	err = awserr.Wrap(err, "ssm:SendCommand", fmt.Sprintf("%s on instances %s", mode, strings.Join(ids, ", ")))
	if awserr.Permanent(err) {
		return nil, err
	}
	// A run cancelled while SendCommand was on its way still looks: the
	// command may have started, and the instances it reached must be named.
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if ctx.Err() != nil {
		lctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	}
	defer cancel()
	found, lerr := r.findCommand(lctx, comment)
	if lerr != nil || found == nil {
		return nil, errors.Join(err, lerr)
	}
	c.id = found.id
	r.log(fmt.Sprintf("%s: SendCommand failed (%v), but command %s with its comment was started: following it", mode, err, c.id))
	return c, nil
}

// maxConcurrency bounds the invocations of one command in flight. Each
// instance reads the run's parameter once: Parameter Store's default
// throughput for GetParameter is 40 transactions per second per account
// and region, so a command does not start more readers than that at once.
func (r *runner) maxConcurrency(mode string) string {
	if mode == modeRollback || r.o.Transport != TransportParameter {
		return "100%"
	}
	return strconv.Itoa(maxConcurrentReads)
}

// maxConcurrentReads is SendCommand's MaxConcurrency when instances read
// the parameter.
const maxConcurrentReads = 25

// duplicates finds the second deliveries of the commands just sent (a
// SendCommand whose answer was lost ran twice), so that they are waited for
// and shown; each shares its comment with the command it repeats. When it
// cannot look, the step cannot say what runs on the instances and fails
// like a SendCommand that failed: the commands sent are still waited for.
func (r *runner) duplicates(ctx context.Context, sent []*sentCommand) ([]*sentCommand, error) {
	if len(sent) == 0 {
		return nil, nil
	}
	found, err := r.runCommands(ctx)
	if err != nil {
		return nil, fmt.Errorf("look for second deliveries of its commands: %w", err)
	}
	known := map[string]bool{}
	for _, c := range sent {
		known[c.id] = true
	}
	var dups []*sentCommand
	for _, c := range sent {
		for _, f := range found {
			if f.comment != c.comment || known[f.id] {
				continue
			}
			known[f.id] = true
			d := &sentCommand{id: f.id, instances: f.instances, mode: c.mode, comment: c.comment, duplicate: true}
			if len(d.instances) == 0 {
				d.instances = c.instances
			}
			r.log(fmt.Sprintf("%s: command %s is a second delivery of command %s (SendCommand's answer was lost and it was sent again): it runs on %s too, one script at a time, and is waited for",
				c.mode, d.id, c.id, strings.Join(d.instances, ", ")))
			dups = append(dups, d)
		}
	}
	return dups, nil
}

// findCommand is the oldest command of this run with comment.
func (r *runner) findCommand(ctx context.Context, comment string) (*sentCommand, error) {
	found, err := r.runCommands(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		if f.comment == comment {
			return &f, nil
		}
	}
	return nil, nil
}

// runCommands are the commands of this run (started since it began, with
// its comments), oldest first.
func (r *runner) runCommands(ctx context.Context) ([]sentCommand, error) {
	in := &ssm.ListCommandsInput{
		MaxResults: aws.Int32(maxInvocationsPerPage),
		Filters: []ssmtypes.CommandFilter{
			{Key: ssmtypes.CommandFilterKeyInvokedAfter, Value: aws.String(r.started.Add(-clockSkew).UTC().Format(time.RFC3339))},
			{Key: ssmtypes.CommandFilterKeyDocumentName, Value: aws.String(documentName)},
		},
	}
	var found []sentCommand
	for range maxInvocationsListPage {
		out, err := r.c.SSM.ListCommands(ctx, in)
		if err != nil {
			return nil, awserr.Wrap(err, "ssm:ListCommands", "the commands of run "+r.o.RunID)
		}
		for _, c := range out.Commands {
			comment := aws.ToString(c.Comment)
			if strings.HasPrefix(comment, commentPrefix) && strings.Contains(comment, " "+r.o.RunID+" #") {
				found = append(found, sentCommand{id: aws.ToString(c.CommandId), instances: c.InstanceIds, comment: comment})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	slices.Reverse(found) // ListCommands answers newest first
	return found, nil
}

// clockSkew is how far SSM's clock may be ahead of the runner's.
const clockSkew = 5 * time.Minute

// wait polls each command with an unfinished invocation, one
// ListCommandInvocations (with its pages) per command and poll, until every
// invocation ended, the wait's own deadline passed (the unfinished ones are
// then returned as they were last seen) or ctx ends (error). Only an access
// denial or expired credentials, which no retry cures, stop it early with
// an error; other failed calls are tried again at the next poll. It returns
// each instance's outcome over all the commands it was sent (see merge).
func (r *runner) wait(ctx context.Context, cmds []*sentCommand) (map[string]invocation, error) {
	if len(cmds) == 0 {
		return map[string]invocation{}, nil
	}
	r.lastErr = nil // an earlier wait's failed look says nothing of this one
	wctx, cancel := context.WithTimeout(ctx, r.deliveryTimeout()+r.o.ExecutionTimeout+invocationWaitSlack)
	defer cancel()
	timer := time.NewTimer(r.o.PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-wctx.Done():
			return merge(cmds), r.waitEnded(ctx, "the SSM commands")
		case <-timer.C:
		}
		for _, c := range cmds {
			if c.ended() {
				continue
			}
			err := r.list(wctx, c)
			if wctx.Err() != nil {
				r.cutOff(err)
				return merge(cmds), r.waitEnded(ctx, "the SSM commands")
			}
			if err != nil {
				if awserr.Permanent(err) {
					return merge(cmds), err
				}
				r.lastErr = err
				r.log(fmt.Sprintf("%s: %v (trying again)", c.mode, err))
			}
		}
		if !slices.ContainsFunc(cmds, func(c *sentCommand) bool { return !c.ended() }) {
			return merge(cmds), nil
		}
		timer.Reset(r.o.PollInterval)
	}
}

// merge is each instance's outcome over every command it was sent: the
// command and its second delivery run one after the other (the script holds
// a lock), and the one that ended last saw the file as it stays. One that
// has not ended is what counts while there is one; a delivery that gave up
// waiting for the other's lock changed nothing and counts only when no
// other ended.
func merge(cmds []*sentCommand) map[string]invocation {
	out := map[string]invocation{}
	for _, c := range cmds {
		for _, id := range c.instances {
			inv := c.invs[id]
			if prev, seen := out[id]; seen && !supersedes(inv, prev) {
				continue
			}
			out[id] = inv
		}
	}
	return out
}

// supersedes reports whether inv tells more of an instance's outcome than
// prev, both invocations of commands sent to it.
func supersedes(inv, prev invocation) bool {
	switch {
	case !prev.ended():
		return false
	case !inv.ended():
		return true
	case lockedOut(inv) != lockedOut(prev):
		return lockedOut(prev)
	case inv.finished.IsZero() || prev.finished.IsZero():
		return false
	}
	return inv.finished.After(prev.finished)
}

// lockedOut reports whether the script gave up waiting for another run of
// itself on the instance, having changed nothing.
func lockedOut(inv invocation) bool { return parseOutput(inv.output).code == script.CodeLocked }

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

// cutOff keeps the error of a look that the deadline cut off (the SDK
// was still retrying it) when no earlier look failed: the wait may have
// ended only because that call never got through, and the error names it.
func (r *runner) cutOff(err error) {
	if err != nil && r.lastErr == nil {
		r.lastErr = err
	}
}

// list is one ListCommandInvocations of c, page after page.
func (r *runner) list(ctx context.Context, c *sentCommand) error {
	if c.invs == nil {
		c.invs = map[string]invocation{}
	}
	in := &ssm.ListCommandInvocationsInput{CommandId: aws.String(c.id), Details: true, MaxResults: aws.Int32(maxInvocationsPerPage)}
	for range maxInvocationsListPage {
		out, err := r.c.SSM.ListCommandInvocations(ctx, in)
		if err != nil {
			return awserr.Wrap(err, "ssm:ListCommandInvocations", "command "+c.id)
		}
		for _, ci := range out.CommandInvocations {
			c.invs[aws.ToString(ci.InstanceId)] = invocationOf(ci)
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
	return nil
}

func invocationOf(ci ssmtypes.CommandInvocation) invocation {
	v := invocation{command: aws.ToString(ci.CommandId), status: ci.Status, details: aws.ToString(ci.StatusDetails), listed: true}
	var outputs []string
	for _, p := range ci.CommandPlugins {
		outputs = append(outputs, aws.ToString(p.Output))
		if p.ResponseCode != 0 {
			v.exitCode = p.ResponseCode
		}
		if t := aws.ToTime(p.ResponseFinishDateTime); t.After(v.finished) {
			v.finished = t
		}
	}
	v.output = strings.Join(outputs, "\n")
	return v
}

// ended reports whether every invocation of c reached a terminal state.
func (c *sentCommand) ended() bool {
	for _, id := range c.instances {
		if !c.invs[id].ended() {
			return false
		}
	}
	return true
}

// cancelUnfinished asks SSM to cancel the invocations that have not ended,
// so that none of them changes an instance after the step stopped following
// it. It runs even after ctx was cancelled; its failure is only logged.
func (r *runner) cancelUnfinished(ctx context.Context, cmds []*sentCommand) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, c := range cmds {
		var ids []string
		for _, id := range c.instances {
			if !c.invs[id].ended() {
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
