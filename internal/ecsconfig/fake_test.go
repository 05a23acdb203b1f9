package ecsconfig

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// reply is what the fake instance answers to one mode.
type reply struct {
	status  ssmtypes.CommandInvocationStatus
	details string
	output  string
	code    int32
	never   bool // the invocation never ends
	// restart: the agent disconnects when the command ends, for back
	// describes of it (-1: for ever).
	restart bool
	back    int
	// finished is the plugin's ResponseFinishDateTime once the invocation
	// ended; zero: SSM names none.
	finished time.Time
}

func ok(mode, file, agent string) reply {
	return reply{status: ssmtypes.CommandInvocationStatusSuccess, details: "Success", restart: agent == "restarted", back: 2,
		output: fmt.Sprintf("some line\necs-registry-rotate: ok mode=%s file=%s agent=%s\n", mode, file, agent)}
}

func scriptErr(code, msg string) reply {
	return reply{status: ssmtypes.CommandInvocationStatusFailed, details: "Failed", code: 1,
		output: fmt.Sprintf("\n----------ERROR-------\necs-registry-rotate: error: %s: %s\n", code, msg)}
}

// fakeInvocation is a command's run on one instance.
type fakeInvocation struct {
	instance string
	left     int // ListCommandInvocations of its command before it ends
	r        reply
	done     bool
}

type fakeCommand struct {
	id       string
	mode     string
	in       *ssm.SendCommandInput
	invs     []*fakeInvocation
	lists    int // ListCommandInvocations calls (pages included)
	polls    int // ListCommandInvocations calls without a NextToken
	canceled []string
}

type fakeAgent struct {
	arn       string
	connected bool
	back      int // describes until it connects again; -1 never
}

// fake is SSM and ECS over one small fleet, in memory.
type fake struct {
	t  *testing.T
	mu sync.Mutex

	// behave says what an instance answers to a mode; nil: success.
	behave func(mode, instance string) reply
	// polls is how many ListCommandInvocations a command takes to end.
	polls    int
	pageSize int
	// onList runs (unlocked) before each ListCommandInvocations; an error
	// it returns is the call's.
	onList func(call int) error
	// describeFault, when set, fails DescribeContainerInstances calls.
	describeFault func() error
	// status overrides a container instance's status (e.g. INACTIVE).
	status map[string]string

	params    map[string]string
	puts      []*ssm.PutParameterInput
	deletes   []string
	deleteErr error
	putErr    func(params map[string]string) error // may create the parameter before it fails
	commands  []*fakeCommand
	agents    map[string]*fakeAgent // by EC2 instance id
	byARN     map[string]string     // ARN → EC2 id
	clusterOf map[string]string     // EC2 id → its cluster's name ("prod" when the Instance names none)
	log       []string              // calls in order
	listCalls int
	describes [][]string // ARNs per DescribeContainerInstances
	// describedIn is the Cluster of each DescribeContainerInstances, as sent.
	describedIn []string

	maxAway      int      // most agents disconnected at once
	sentWhileOff []string // apply/rollback commands sent while an agent was away

	// twice makes every SendCommand of these modes start two commands,
	// answering with the second's id, as SSM does when the first answer is
	// lost and the SDK sends the call again.
	twice map[string]bool
	// sendErr, when set, fails SendCommand after it started its command.
	sendErr error
	// onSend, when set, runs (locked) once SendCommand started its command
	// of mode; an error it returns is the call's.
	onSend func(mode string) error
	// sentWhileRunning pairs the first instance of an apply or rollback
	// with an instance on which a command still ran when it was sent.
	sentWhileRunning [][2]string
}

func newFake(t *testing.T, insts []Instance) *fake {
	f := &fake{t: t, polls: 2, pageSize: 50, params: map[string]string{}, agents: map[string]*fakeAgent{}, byARN: map[string]string{}, clusterOf: map[string]string{}}
	for _, i := range insts {
		f.agents[i.EC2InstanceID] = &fakeAgent{arn: i.ContainerInstanceARN, connected: true}
		f.byARN[i.ContainerInstanceARN] = i.EC2InstanceID
		f.clusterOf[i.EC2InstanceID] = awsname.Short(cmp.Or(i.Cluster, "prod"))
	}
	return f
}

func (f *fake) clients() Clients { return Clients{SSM: f, ECS: f} }

func (f *fake) away() int {
	n := 0
	for _, a := range f.agents {
		if !a.connected {
			n++
		}
	}
	return n
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func (f *fake) PutParameter(ctx context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "PutParameter")
	f.puts = append(f.puts, in)
	name := aws.ToString(in.Name)
	if f.putErr != nil {
		return nil, f.putErr(f.params)
	}
	if _, ok := f.params[name]; ok && !aws.ToBool(in.Overwrite) {
		return nil, apiErr("ParameterAlreadyExists", "exists")
	}
	f.params[name] = aws.ToString(in.Value)
	return &ssm.PutParameterOutput{Version: 1}, nil
}

func (f *fake) DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, _ ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		f.t.Errorf("DeleteParameter called with a finished context: %v", ctx.Err())
		return nil, ctx.Err()
	}
	f.log = append(f.log, "DeleteParameter")
	f.deletes = append(f.deletes, aws.ToString(in.Name))
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	if _, ok := f.params[aws.ToString(in.Name)]; !ok {
		return nil, apiErr("ParameterNotFound", "no such parameter")
	}
	delete(f.params, aws.ToString(in.Name))
	return &ssm.DeleteParameterOutput{}, nil
}

func (f *fake) SendCommand(ctx context.Context, in *ssm.SendCommandInput, _ ...func(*ssm.Options)) (*ssm.SendCommandOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(in.InstanceIds) > 50 {
		return nil, apiErr("ValidationException", "more than 50 instance ids")
	}
	mode := strings.Fields(strings.TrimPrefix(aws.ToString(in.Comment), commentPrefix))[0]
	if mode != modePreflight {
		for _, prev := range f.commands {
			for _, inv := range prev.invs {
				if !inv.done && !inv.r.never {
					f.sentWhileRunning = append(f.sentWhileRunning, [2]string{in.InstanceIds[0], inv.instance})
				}
			}
		}
	}
	if f.twice[mode] {
		f.start(in, mode)
	}
	c := f.start(in, mode)
	if f.onSend != nil {
		if err := f.onSend(mode); err != nil {
			return nil, err
		}
	}
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	return &ssm.SendCommandOutput{Command: &ssmtypes.Command{CommandId: aws.String(c.id)}}, nil
}

// start makes one command of in, under f.mu.
func (f *fake) start(in *ssm.SendCommandInput, mode string) *fakeCommand {
	c := &fakeCommand{id: fmt.Sprintf("cmd-%d-%s", len(f.commands)+1, mode), mode: mode, in: in}
	f.log = append(f.log, "SendCommand "+mode)
	if mode != modePreflight && f.away() > 0 {
		f.sentWhileOff = append(f.sentWhileOff, c.id)
	}
	for _, id := range in.InstanceIds {
		r := ok(mode, map[string]string{modeApply: "updated", modeRollback: "restored", modePreflight: "checked"}[mode], "restarted")
		if mode == modePreflight {
			r = ok(mode, "checked", "not-restarted")
		}
		if f.behave != nil {
			r = f.behave(mode, id)
		}
		c.invs = append(c.invs, &fakeInvocation{instance: id, left: f.polls, r: r})
	}
	f.commands = append(f.commands, c)
	return c
}

func (f *fake) command(id string) *fakeCommand {
	for _, c := range f.commands {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (f *fake) ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, _ ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
	f.mu.Lock()
	f.listCalls++
	call := f.listCalls
	f.mu.Unlock()
	if f.onList != nil {
		if err := f.onList(call); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !in.Details {
		f.t.Errorf("ListCommandInvocations without Details")
	}
	c := f.command(aws.ToString(in.CommandId))
	if c == nil {
		return nil, apiErr("InvalidCommandId", "no such command")
	}
	f.log = append(f.log, "ListCommandInvocations "+c.mode)
	c.lists++
	start := 0
	if in.NextToken == nil {
		c.polls++
		// A poll: time passes for the command's invocations.
		for _, inv := range c.invs {
			if inv.done || inv.r.never {
				continue
			}
			if inv.left--; inv.left <= 0 {
				inv.done = true
				if inv.r.restart {
					a := f.agents[inv.instance]
					a.connected, a.back = false, inv.r.back
					f.maxAway = max(f.maxAway, f.away())
				}
			}
		}
	} else {
		fmt.Sscanf(aws.ToString(in.NextToken), "%d", &start)
	}
	end := min(start+f.pageSize, len(c.invs))
	if m := aws.ToInt32(in.MaxResults); m > 0 && int(m) < end-start {
		end = start + int(m)
	}
	out := &ssm.ListCommandInvocationsOutput{}
	for _, inv := range c.invs[start:end] {
		ci := ssmtypes.CommandInvocation{CommandId: aws.String(c.id), InstanceId: aws.String(inv.instance),
			Status: ssmtypes.CommandInvocationStatusInProgress, StatusDetails: aws.String("InProgress")}
		if inv.done {
			ci.Status, ci.StatusDetails = inv.r.status, aws.String(inv.r.details)
			p := ssmtypes.CommandPlugin{Name: aws.String("aws:runShellScript"), Output: aws.String(inv.r.output), ResponseCode: inv.r.code}
			if !inv.r.finished.IsZero() {
				p.ResponseFinishDateTime = aws.Time(inv.r.finished)
			}
			ci.CommandPlugins = []ssmtypes.CommandPlugin{p}
		}
		out.CommandInvocations = append(out.CommandInvocations, ci)
	}
	if end < len(c.invs) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fake) CancelCommand(ctx context.Context, in *ssm.CancelCommandInput, _ ...func(*ssm.Options)) (*ssm.CancelCommandOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		f.t.Errorf("CancelCommand called with a finished context")
	}
	f.log = append(f.log, "CancelCommand")
	c := f.command(aws.ToString(in.CommandId))
	c.canceled = append(c.canceled, in.InstanceIds...)
	return &ssm.CancelCommandOutput{}, nil
}

func (f *fake) DescribeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "DescribeContainerInstances")
	f.describes = append(f.describes, in.ContainerInstances)
	f.describedIn = append(f.describedIn, aws.ToString(in.Cluster))
	if f.describeFault != nil {
		if err := f.describeFault(); err != nil {
			return nil, err
		}
	}
	if len(in.ContainerInstances) > 100 {
		return nil, apiErr("InvalidParameterException", "more than 100")
	}
	out := &ecs.DescribeContainerInstancesOutput{}
	for _, arn := range in.ContainerInstances {
		// As ECS does, a container instance of another cluster is MISSING.
		id, known := f.byARN[arn]
		if !known || f.clusterOf[id] != awsname.Short(aws.ToString(in.Cluster)) {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		a := f.agents[id]
		if !a.connected && a.back >= 0 {
			if a.back--; a.back <= 0 {
				a.connected = true
			}
		}
		status := "ACTIVE"
		if s, ok := f.status[id]; ok {
			status = s
		}
		out.ContainerInstances = append(out.ContainerInstances, ecstypes.ContainerInstance{
			ContainerInstanceArn: aws.String(arn), Ec2InstanceId: aws.String(id), AgentConnected: a.connected, Status: aws.String(status)})
	}
	return out, nil
}

// sent are the commands of mode, in order.
func (f *fake) sent(mode string) []*fakeCommand {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeCommand
	for _, c := range f.commands {
		if c.mode == mode {
			out = append(out, c)
		}
	}
	return out
}

// ListCommands lists every command, newest first, as SSM does; the
// filters the step sends are not modelled here (awsfake models them).
func (f *fake) ListCommands(ctx context.Context, in *ssm.ListCommandsInput, _ ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "ListCommands")
	out := &ssm.ListCommandsOutput{}
	for i := len(f.commands) - 1; i >= 0; i-- {
		c := f.commands[i]
		out.Commands = append(out.Commands, ssmtypes.Command{CommandId: aws.String(c.id), Comment: c.in.Comment, InstanceIds: c.in.InstanceIds})
	}
	return out, nil
}

// DescribeParameters lists the parameters by name, with the description
// each was created with.
func (f *fake) DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, _ ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "DescribeParameters")
	out := &ssm.DescribeParametersOutput{}
	for _, p := range f.puts {
		if _, ok := f.params[aws.ToString(p.Name)]; ok {
			out.Parameters = append(out.Parameters, ssmtypes.ParameterMetadata{Name: p.Name, Description: p.Description, Type: p.Type})
		}
	}
	return out, nil
}
