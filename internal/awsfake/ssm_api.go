package awsfake

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
)

var ssmOps = map[string]jsonHandler{
	"PutParameter":                ssmPutParameter,
	"GetParameter":                ssmGetParameter,
	"DeleteParameter":             ssmDeleteParameter,
	"DescribeParameters":          ssmDescribeParameters,
	"DescribeInstanceInformation": ssmDescribeInstanceInformation,
	"SendCommand":                 ssmSendCommand,
	"ListCommands":                ssmListCommands,
	"ListCommandInvocations":      ssmListCommandInvocations,
	"GetCommandInvocation":        ssmGetCommandInvocation,
	"CancelCommand":               ssmCancelCommand,
}

type ssmStore struct {
	params   map[string]*parameter
	commands []*command // in the order sent
}

func newSSMStore() *ssmStore { return &ssmStore{params: map[string]*parameter{}} }

// ---- DescribeInstanceInformation ----

// ssmDescribeInstanceInformation lists managed instances: 10 a page by
// default, MaxResults 5–50, a filter's Values 1–100 (the ssm model's
// MaxResultsEC2Compatible and InstanceInformationFilterValueSet). Instance
// ids the filter names that SSM does not manage are left out rather than
// refused.
func ssmDescribeInstanceInformation(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	if in.MaxResults != nil && (*in.MaxResults < 5 || *in.MaxResults > 50) {
		c := "Member must have value less than or equal to 50"
		if *in.MaxResults < 5 {
			c = "Member must have value greater than or equal to 5"
		}
		return nil, validation(*in.MaxResults, "maxResults", c)
	}
	if len(in.Filters) > 0 && len(in.InstanceInformationFilterList) > 0 {
		return nil, errorf("InvalidFilterKey", "Filters and InstanceInformationFilterList cannot be used together.")
	}
	type filter struct {
		key    string
		values []string
	}
	var filters []filter
	for _, f := range in.Filters {
		filters = append(filters, filter{f.Key, f.Values})
	}
	for _, f := range in.InstanceInformationFilterList {
		filters = append(filters, filter{f.Key, f.ValueSet})
	}
	for _, f := range filters {
		switch f.key {
		case "InstanceIds", "PingStatus", "PlatformTypes", "ResourceType":
		default:
			return nil, errorf("InvalidFilterKey", "awsfake models the filter keys InstanceIds, PingStatus, PlatformTypes and ResourceType, not %q", f.key)
		}
		if len(f.values) < 1 || len(f.values) > 100 {
			return nil, validation(f.values, "filters.member.values", "Member must have length less than or equal to 100")
		}
	}
	var all []ssmtypes.InstanceInformation
	for _, c := range s.world.clusters {
		for _, ci := range c.instances {
			if !ci.managed {
				continue
			}
			info := s.instanceInformation(ci)
			keep := true
			for _, f := range filters {
				var v string
				switch f.key {
				case "InstanceIds":
					v = ci.ec2ID
				case "PingStatus":
					v = string(info.PingStatus)
				case "PlatformTypes":
					v = string(info.PlatformType)
				case "ResourceType":
					v = string(info.ResourceType)
				}
				keep = keep && slices.Contains(f.values, v)
			}
			if keep {
				all = append(all, info)
			}
		}
	}
	page, next, err := paginate(all, in.MaxResults, in.NextToken, 10, 50, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return &ssm.DescribeInstanceInformationOutput{InstanceInformationList: page, NextToken: next}, nil
}

func (s *Server) instanceInformation(ci *containerInstance) ssmtypes.InstanceInformation {
	platform := ssmtypes.PlatformTypeLinux
	if ci.isWindows() {
		platform = ssmtypes.PlatformTypeWindows
	}
	n, _ := strconv.ParseUint(ci.ec2ID[len(ci.ec2ID)-4:], 16, 16)
	ip := fmt.Sprintf("10.0.%d.%d", (n>>8)&0xff, n&0xff)
	return ssmtypes.InstanceInformation{
		InstanceId:       aws.String(ci.ec2ID),
		PingStatus:       ssmtypes.PingStatus(ci.ping),
		LastPingDateTime: aws.Time(time.Now().Truncate(time.Second)),
		AgentVersion:     aws.String("3.3.1957.0"),
		IsLatestVersion:  aws.Bool(false),
		PlatformType:     platform,
		PlatformName:     aws.String(ci.platformName),
		PlatformVersion:  aws.String(ci.platformVersion),
		ResourceType:     ssmtypes.ResourceTypeEc2Instance,
		IPAddress:        aws.String(ip),
		ComputerName:     aws.String("ip-" + strings.ReplaceAll(ip, ".", "-") + "." + s.opts.Region + ".compute.internal"),
		SourceId:         aws.String(ci.ec2ID),
		SourceType:       ssmtypes.SourceTypeAwsEc2Instance,
	}
}

// ---- Run Command ----

// pluginName is AWS-RunShellScript's one step (schema 1.2 runtimeConfig).
const pluginName = "aws:runShellScript"

type command struct {
	id             string
	comment        string
	params         map[string][]string
	instanceIDs    []string
	maxConcurrency string
	maxErrors      string
	timeoutSeconds int32
	execTimeout    time.Duration
	requested      time.Time
	visibleAt      time.Time // invocations show up one tick after SendCommand
	cancelled      bool
	invocations    []*invocation
}

type invocation struct {
	cmd      *command
	instance *containerInstance
	status   ssmtypes.CommandInvocationStatus
	details  string
	code     int32
	start    time.Time
	end      time.Time
	stdout   string
	stderr   string
	cancel   context.CancelFunc // set while bash runs
}

func (inv *invocation) done() bool {
	switch inv.status {
	case ssmtypes.CommandInvocationStatusSuccess, ssmtypes.CommandInvocationStatusFailed,
		ssmtypes.CommandInvocationStatusTimedOut, ssmtypes.CommandInvocationStatusCancelled:
		return true
	}
	return false
}

var (
	maxConcurrencyRE   = regexp.MustCompile(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	maxErrorsRE        = regexp.MustCompile(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	executionTimeoutRE = regexp.MustCompile(`^([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)$`)
)

// ssmSendCommand runs AWS-RunShellScript on up to 50 managed, Online
// instances (SendCommand API reference; InvalidInstanceId worded as SSM
// words it, e.g. aws-samples/eks-security-compromised-cluster-remediation
// #12). Parameters are kept with the command and returned by ListCommands,
// as Run Command keeps them.
func ssmSendCommand(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	if in.DocumentName != "AWS-RunShellScript" {
		return nil, errorf("InvalidDocument", "awsfake models only the document AWS-RunShellScript, not %q", in.DocumentName)
	}
	if len(in.Targets) > 0 {
		return nil, errorf("InvalidParameters", "awsfake models InstanceIds, not Targets")
	}
	switch {
	case len(in.InstanceIds) == 0:
		return nil, errorf("ValidationException", "Either InstanceIds or Targets must be specified.")
	case len(in.InstanceIds) > 50:
		return nil, validation(in.InstanceIds, "instanceIds", "Member must have length less than or equal to 50")
	}
	if in.MaxConcurrency != "" && !maxConcurrencyRE.MatchString(in.MaxConcurrency) {
		return nil, validation(in.MaxConcurrency, "maxConcurrency", "Member must satisfy regular expression pattern: "+maxConcurrencyRE.String())
	}
	if in.MaxErrors != "" && !maxErrorsRE.MatchString(in.MaxErrors) {
		return nil, validation(in.MaxErrors, "maxErrors", "Member must satisfy regular expression pattern: "+maxErrorsRE.String())
	}
	if t := in.TimeoutSeconds; t != nil && (*t < 30 || *t > 2592000) {
		return nil, validation(*t, "timeoutSeconds", "Member must have value between 30 and 2592000")
	}
	size := 0
	for k, vs := range in.Parameters {
		switch k {
		case "commands", "workingDirectory", "executionTimeout":
		default:
			return nil, errorf("InvalidParameters", "Parameter \"%s\" is not defined in the document AWS-RunShellScript.", k)
		}
		for _, v := range vs {
			size += len(v)
		}
	}
	if len(in.Parameters["commands"]) == 0 {
		return nil, errorf("InvalidParameters", "Parameter \"commands\" is required.")
	}
	if size > 100*1024 {
		return nil, errorf("InvalidParameters", "The parameters total %d bytes; a command's parameters may total at most 100 KB.", size)
	}
	execTimeout := 3600 * time.Second
	if v := in.Parameters["executionTimeout"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || !executionTimeoutRE.MatchString(v[0]) || n < 1 || n > 172800 {
			return nil, errorf("InvalidParameters", "Parameter \"executionTimeout\" has an invalid value %q; it must be a number of seconds from 1 to 172800.", strings.Join(v, ","))
		}
		execTimeout = time.Duration(n) * time.Second
	}

	var targets []*containerInstance
	var invalid []string
	for _, id := range in.InstanceIds {
		ci := s.world.instanceByEC2(id)
		if ci == nil || !ci.managed || ci.ping != "Online" {
			invalid = append(invalid, id)
			continue
		}
		if !slices.Contains(targets, ci) {
			targets = append(targets, ci)
		}
	}
	if len(invalid) > 0 {
		return nil, errorf("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(invalid, ", "), s.opts.AccountID)
	}

	cmd := &command{
		id:             newUUID(),
		comment:        in.Comment,
		params:         in.Parameters,
		maxConcurrency: orDefault(in.MaxConcurrency, "50"),
		maxErrors:      orDefault(in.MaxErrors, "0"),
		timeoutSeconds: 3600,
		execTimeout:    execTimeout,
		requested:      now,
		visibleAt:      now.Add(s.opts.Tick),
	}
	if in.TimeoutSeconds != nil {
		cmd.timeoutSeconds = *in.TimeoutSeconds
	}
	for _, ci := range targets {
		cmd.instanceIDs = append(cmd.instanceIDs, ci.ec2ID)
		cmd.invocations = append(cmd.invocations, &invocation{
			cmd: cmd, instance: ci, status: ssmtypes.CommandInvocationStatusPending, details: "Pending", code: -1,
		})
	}
	s.ssm.commands = append(s.ssm.commands, cmd)
	s.dispatch(cmd)
	view := s.commandView(cmd)
	return &ssm.SendCommandOutput{Command: &view}, nil
}

// commandStatus sums up the invocations: in progress while any is not
// done; then Cancelled, Failed, TimedOut or Success.
func (cmd *command) status() (ssmtypes.CommandStatus, string, int32, int32) {
	var completed, errs int32
	started, pending := false, false
	var failed, timedOut bool
	for _, inv := range cmd.invocations {
		if inv.done() {
			completed++
		} else {
			pending = true
		}
		switch inv.status {
		case ssmtypes.CommandInvocationStatusPending:
		default:
			started = true
		}
		switch inv.status {
		case ssmtypes.CommandInvocationStatusFailed:
			failed = true
			errs++
		case ssmtypes.CommandInvocationStatusTimedOut:
			timedOut = true
			errs++
		}
	}
	switch {
	case pending && cmd.cancelled:
		return ssmtypes.CommandStatusCancelling, "Cancelling", completed, errs
	case pending && started:
		return ssmtypes.CommandStatusInProgress, "InProgress", completed, errs
	case pending:
		return ssmtypes.CommandStatusPending, "Pending", completed, errs
	case cmd.cancelled:
		return ssmtypes.CommandStatusCancelled, "Cancelled", completed, errs
	case failed:
		return ssmtypes.CommandStatusFailed, "Failed", completed, errs
	case timedOut:
		return ssmtypes.CommandStatusTimedOut, "TimedOut", completed, errs
	}
	return ssmtypes.CommandStatusSuccess, "Success", completed, errs
}

func (s *Server) commandView(cmd *command) ssmtypes.Command {
	status, details, completed, errs := cmd.status()
	params := map[string][]string{}
	for k, v := range cmd.params {
		params[k] = slices.Clone(v)
	}
	return ssmtypes.Command{
		CommandId:              aws.String(cmd.id),
		DocumentName:           aws.String("AWS-RunShellScript"),
		DocumentVersion:        aws.String("$DEFAULT"),
		Comment:                aws.String(cmd.comment),
		ExpiresAfter:           aws.Time(cmd.requested.Add(time.Duration(cmd.timeoutSeconds)*time.Second + cmd.execTimeout)),
		Parameters:             params,
		InstanceIds:            slices.Clone(cmd.instanceIDs),
		Targets:                []ssmtypes.Target{},
		RequestedDateTime:      aws.Time(cmd.requested),
		Status:                 status,
		StatusDetails:          aws.String(details),
		OutputS3Region:         aws.String(s.opts.Region),
		OutputS3BucketName:     aws.String(""),
		OutputS3KeyPrefix:      aws.String(""),
		MaxConcurrency:         aws.String(cmd.maxConcurrency),
		MaxErrors:              aws.String(cmd.maxErrors),
		TargetCount:            int32(len(cmd.invocations)),
		CompletedCount:         completed,
		ErrorCount:             errs,
		DeliveryTimedOutCount:  0,
		ServiceRole:            aws.String(""),
		TimeoutSeconds:         aws.Int32(cmd.timeoutSeconds),
		NotificationConfig:     &ssmtypes.NotificationConfig{NotificationArn: aws.String(""), NotificationEvents: []ssmtypes.NotificationEvent{}},
		CloudWatchOutputConfig: &ssmtypes.CloudWatchOutputConfig{CloudWatchLogGroupName: aws.String("")},
	}
}

var commandIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// findCommand: a malformed id is InvalidCommandId; an unknown well-formed
// one is nil.
func (s *Server) findCommand(id string) (*command, error) {
	if !commandIDRE.MatchString(id) {
		return nil, errorf("InvalidCommandId", "")
	}
	for _, c := range s.ssm.commands {
		if c.id == id {
			return c, nil
		}
	}
	return nil, nil
}

func ssmMaxResults(in *ssmInput) error {
	if m := in.MaxResults; m != nil && (*m < 1 || *m > 50) {
		c := "Member must have value less than or equal to 50"
		if *m < 1 {
			c = "Member must have value greater than or equal to 1"
		}
		return validation(*m, "maxResults", c)
	}
	return nil
}

// commandQuery reads what ListCommands and ListCommandInvocations share: the
// page size, the filters (as match), and the CommandId, if any, as the
// command it names (want) or none when no such command exists, which lists
// nothing.
func (s *Server) commandQuery(body []byte, op string) (in *ssmInput, match commandMatch, want *command, none bool, err error) {
	if in, err = decodeSSM(body); err != nil {
		return nil, nil, nil, false, err
	}
	if err := ssmMaxResults(in); err != nil {
		return nil, nil, nil, false, err
	}
	if match, err = commandFilters(in, op); err != nil {
		return nil, nil, nil, false, err
	}
	if in.CommandId == "" {
		return in, match, nil, false, nil
	}
	if want, err = s.findCommand(in.CommandId); err != nil {
		return nil, nil, nil, false, err
	}
	return in, match, want, want == nil, nil
}

// commandMatch tells whether a command (ListCommands) or an invocation
// (ListCommandInvocations) passes every filter: requested is when the
// command was sent, status and details its status and status details.
type commandMatch func(requested time.Time, status, details string, done bool) bool

// Status values each operation's Status filter takes (CommandFilter, API
// reference). TimedOut includes delivery and execution time-outs.
var (
	listCommandsStatuses = []string{"Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut",
		"AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut", "Incomplete", "NoInstancesInTag", "LimitExceeded"}
	listInvocationsStatuses = []string{"Pending", "InProgress", "Delayed", "Success", "Cancelled", "Failed", "TimedOut",
		"AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut", "Undeliverable", "InvalidPlatform", "Terminated"}
	commandFilterKeys = []string{"InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName"}
)

// commandFilters reads ListCommands' and ListCommandInvocations' Filters as
// the SSM API reference defines them (CommandFilter; ListCommands: 1 to 5
// filters), all of which must hold:
//
//   - InvokedAfter, InvokedBefore: a timestamp such as 2024-07-07T00:00:00Z;
//     commands sent at or after it, or before it.
//   - Status: one of the operation's status values; a value that is a status
//     matches it, one that is a status detail (DeliveryTimedOut,
//     ExecutionTimedOut, Terminated, ...) matches that detail. The fake's
//     time-outs are all execution time-outs.
//   - ExecutionStage (ListCommands only): Executing (not yet ended) or
//     Complete.
//   - DocumentName: the document's name.
//
// A key outside the enum fails the model's validation (ValidationException);
// ExecutionStage on ListCommandInvocations is InvalidFilterKey. AWS does not
// document its answer to a value it cannot use, and ListCommands lists no
// InvalidFilterValue among its errors; the fake answers InvalidFilterValue,
// as SSM's other filtered lists do.
func commandFilters(in *ssmInput, op string) (commandMatch, error) {
	switch {
	case in.Filters == nil:
		return func(time.Time, string, string, bool) bool { return true }, nil
	case len(in.Filters) < 1:
		return nil, validation("[]", "filters", "Member must have length greater than or equal to 1")
	case len(in.Filters) > 5:
		return nil, validation(len(in.Filters), "filters", "Member must have length less than or equal to 5")
	}
	statuses := listCommandsStatuses
	if op == "ListCommandInvocations" {
		statuses = listInvocationsStatuses
	}
	var preds []commandMatch
	for i, f := range in.Filters {
		if !slices.Contains(commandFilterKeys, f.Key) {
			return nil, validation(f.Key, fmt.Sprintf("filters.%d.member.key", i+1),
				"Member must satisfy enum value set: ["+strings.Join(commandFilterKeys, ", ")+"]")
		}
		if f.Value == nil || *f.Value == "" {
			return nil, validation(aws.ToString(f.Value), fmt.Sprintf("filters.%d.member.value", i+1), "Member must have length greater than or equal to 1")
		}
		v := *f.Value
		bad := func(valid string) error {
			return errorf("InvalidFilterValue", "The filter value %s is not valid for the filter key %s. Valid values: %s", v, f.Key, valid)
		}
		switch f.Key {
		case "InvokedAfter", "InvokedBefore":
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, bad("a timestamp such as 2024-07-07T00:00:00Z")
			}
			after := f.Key == "InvokedAfter"
			preds = append(preds, func(req time.Time, _, _ string, _ bool) bool {
				if after {
					return !req.Before(at)
				}
				return req.Before(at)
			})
		case "Status":
			if !slices.Contains(statuses, v) {
				return nil, bad("[" + strings.Join(statuses, ", ") + "]")
			}
			preds = append(preds, func(_ time.Time, status, details string, _ bool) bool {
				return v == status || v == details || (v == "ExecutionTimedOut" && status == string(ssmtypes.CommandStatusTimedOut))
			})
		case "ExecutionStage":
			if op == "ListCommandInvocations" {
				return nil, errorf("InvalidFilterKey", "The ExecutionStage filter can't be used with the ListCommandInvocations operation, only with ListCommands.")
			}
			if v != "Executing" && v != "Complete" {
				return nil, bad("[Executing, Complete]")
			}
			complete := v == "Complete"
			preds = append(preds, func(_ time.Time, _, _ string, done bool) bool { return done == complete })
		case "DocumentName":
			preds = append(preds, func(time.Time, string, string, bool) bool { return v == "AWS-RunShellScript" })
		}
	}
	return func(req time.Time, status, details string, done bool) bool {
		for _, p := range preds {
			if !p(req, status, details, done) {
				return false
			}
		}
		return true
	}, nil
}

// ssmListCommands: newest first, 50 a page by default (MaxResults 1–50).
func ssmListCommands(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, match, want, none, err := s.commandQuery(body, "ListCommands")
	if err != nil {
		return nil, err
	}
	if none {
		return &ssm.ListCommandsOutput{Commands: []ssmtypes.Command{}}, nil
	}
	all := []ssmtypes.Command{}
	for _, cmd := range slices.Backward(s.ssm.commands) {
		if (want != nil && cmd != want) || (in.InstanceId != "" && !slices.Contains(cmd.instanceIDs, in.InstanceId)) {
			continue
		}
		status, details, completed, _ := cmd.status()
		if !match(cmd.requested, string(status), details, int(completed) == len(cmd.invocations)) {
			continue
		}
		all = append(all, s.commandView(cmd))
	}
	page, next, err := paginate(all, in.MaxResults, in.NextToken, 50, 50, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return &ssm.ListCommandsOutput{Commands: page, NextToken: next}, nil
}

// ssmListCommandInvocations: one entry per instance, 50 a page by default.
// Right after SendCommand a command has no invocations to list yet, as
// with SSM; with Details each carries the aws:runShellScript plugin, whose
// Output is stdout then stderr cut to 2500 characters as the SSM agent
// cuts them (API_CommandPlugin: Output maximum length 2500;
// aws/amazon-ssm-agent agent/framework/processor/executer/iohandler
// TruncateOutput).
func ssmListCommandInvocations(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, match, want, none, err := s.commandQuery(body, "ListCommandInvocations")
	if err != nil {
		return nil, err
	}
	if none {
		return &ssm.ListCommandInvocationsOutput{CommandInvocations: []ssmtypes.CommandInvocation{}}, nil
	}
	all := []ssmtypes.CommandInvocation{}
	for _, cmd := range slices.Backward(s.ssm.commands) {
		if (want != nil && cmd != want) || now.Before(cmd.visibleAt) {
			continue
		}
		for _, inv := range cmd.invocations {
			if in.InstanceId != "" && inv.instance.ec2ID != in.InstanceId {
				continue
			}
			if !match(cmd.requested, string(inv.status), inv.details, inv.done()) {
				continue
			}
			all = append(all, s.invocationView(inv, in.Details))
		}
	}
	page, next, err := paginate(all, in.MaxResults, in.NextToken, 50, 50, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return &ssm.ListCommandInvocationsOutput{CommandInvocations: page, NextToken: next}, nil
}

func (s *Server) invocationView(inv *invocation, details bool) ssmtypes.CommandInvocation {
	cmd := inv.cmd
	out := ssmtypes.CommandInvocation{
		CommandId:              aws.String(cmd.id),
		InstanceId:             aws.String(inv.instance.ec2ID),
		InstanceName:           aws.String(""),
		Comment:                aws.String(cmd.comment),
		DocumentName:           aws.String("AWS-RunShellScript"),
		DocumentVersion:        aws.String("$DEFAULT"),
		RequestedDateTime:      aws.Time(cmd.requested),
		Status:                 inv.status,
		StatusDetails:          aws.String(inv.details),
		TraceOutput:            aws.String(""),
		StandardOutputUrl:      aws.String(""),
		StandardErrorUrl:       aws.String(""),
		ServiceRole:            aws.String(""),
		NotificationConfig:     &ssmtypes.NotificationConfig{NotificationArn: aws.String(""), NotificationEvents: []ssmtypes.NotificationEvent{}},
		CloudWatchOutputConfig: &ssmtypes.CloudWatchOutputConfig{CloudWatchLogGroupName: aws.String("")},
	}
	if !details {
		return out
	}
	plugin := ssmtypes.CommandPlugin{
		Name:               aws.String(pluginName),
		Status:             ssmtypes.CommandPluginStatus(inv.status),
		StatusDetails:      aws.String(inv.details),
		ResponseCode:       inv.code,
		Output:             aws.String(""),
		StandardOutputUrl:  aws.String(""),
		StandardErrorUrl:   aws.String(""),
		OutputS3Region:     aws.String(s.opts.Region),
		OutputS3BucketName: aws.String(""),
		OutputS3KeyPrefix:  aws.String(""),
	}
	if !inv.start.IsZero() {
		plugin.ResponseStartDateTime = aws.Time(inv.start)
	}
	if inv.done() {
		plugin.ResponseFinishDateTime = aws.Time(inv.end)
		plugin.Output = aws.String(truncateOutput(inv.stdout, inv.stderr, maxPluginOutput))
	}
	out.CommandPlugins = []ssmtypes.CommandPlugin{plugin}
	return out
}

// ssmGetCommandInvocation answers InvocationDoesNotExist until the
// invocation exists (a tick after SendCommand), as SSM does: the SDK's
// CommandExecutedWaiter retries on it. StandardOutputContent holds the
// first 24,000 characters of stdout and StandardErrorContent the first
// 8,000 of stderr, empty until the invocation ends (GetCommandInvocation
// API reference; ssm-agent iohandler DefaultOutputConfig).
func ssmGetCommandInvocation(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	cmd, err := s.findCommand(in.CommandId)
	if err != nil {
		return nil, err
	}
	var inv *invocation
	if cmd != nil && !now.Before(cmd.visibleAt) {
		for _, i := range cmd.invocations {
			if i.instance.ec2ID == in.InstanceId {
				inv = i
			}
		}
	}
	if inv == nil {
		return nil, errorf("InvocationDoesNotExist", "")
	}
	if in.PluginName != "" && in.PluginName != pluginName {
		return nil, errorf("InvalidPluginName", "")
	}
	out := &ssm.GetCommandInvocationOutput{
		CommandId:              aws.String(cmd.id),
		InstanceId:             aws.String(inv.instance.ec2ID),
		Comment:                aws.String(cmd.comment),
		DocumentName:           aws.String("AWS-RunShellScript"),
		DocumentVersion:        aws.String("$DEFAULT"),
		PluginName:             aws.String(pluginName),
		ResponseCode:           inv.code,
		Status:                 inv.status,
		StatusDetails:          aws.String(inv.details),
		StandardOutputContent:  aws.String(""),
		StandardOutputUrl:      aws.String(""),
		StandardErrorContent:   aws.String(""),
		StandardErrorUrl:       aws.String(""),
		ExecutionStartDateTime: aws.String(""),
		ExecutionElapsedTime:   aws.String(""),
		ExecutionEndDateTime:   aws.String(""),
		CloudWatchOutputConfig: &ssmtypes.CloudWatchOutputConfig{CloudWatchLogGroupName: aws.String("")},
	}
	if !inv.start.IsZero() {
		out.ExecutionStartDateTime = aws.String(inv.start.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if inv.done() {
		out.StandardOutputContent = aws.String(prefix(inv.stdout, maxStdout))
		out.StandardErrorContent = aws.String(prefix(inv.stderr, maxStderr))
		if !inv.start.IsZero() {
			out.ExecutionEndDateTime = aws.String(inv.end.UTC().Format("2006-01-02T15:04:05.000Z"))
			out.ExecutionElapsedTime = aws.String(fmt.Sprintf("PT%.3fS", inv.end.Sub(inv.start).Seconds()))
		}
	}
	return out, nil
}

// ssmCancelCommand stops the command's invocations (all, or those of
// InstanceIds): pending ones never run, running ones are killed.
func ssmCancelCommand(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	cmd, err := s.findCommand(in.CommandId)
	if err != nil {
		return nil, err
	}
	if cmd == nil {
		return nil, errorf("InvalidCommandId", "")
	}
	cmd.cancelled = true
	for _, inv := range cmd.invocations {
		if inv.done() || (len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, inv.instance.ec2ID)) {
			continue
		}
		if inv.cancel != nil {
			inv.status, inv.details = ssmtypes.CommandInvocationStatusCancelling, "Cancelling"
			inv.cancel()
			continue
		}
		inv.status, inv.details, inv.end = ssmtypes.CommandInvocationStatusCancelled, "Cancelled", now
	}
	return &ssm.CancelCommandOutput{}, nil
}

// Output limits of the SSM agent (aws/amazon-ssm-agent
// agent/framework/processor/executer/iohandler/iohandler.go).
const (
	maxPluginOutput = 2500
	maxStdout       = 24000
	maxStderr       = 8000
	truncOut        = "\n---Output truncated---"
	truncErr        = "\n---Error truncated----"
)

// truncateOutput is the agent's TruncateOutput: stdout, then a banner and
// stderr when there is any, cut to capacity with markers.
func truncateOutput(stdout, stderr string, capacity int) string {
	title := ""
	if len(stderr) > 0 {
		title = "\n----------ERROR-------\n"
	}
	avail := capacity - len(title)
	if len(stdout)+len(stderr) < avail {
		return stdout + title + stderr
	}
	if len(stdout) > avail/2 && len(stderr) > avail/2 {
		n := (avail - len(truncErr) - len(truncOut)) / 2
		return prefix(stdout, n) + truncOut + title + prefix(stderr, n) + truncErr
	}
	if len(stdout) < avail/2 {
		return stdout + title + prefix(stderr, avail-len(truncErr)-len(stdout)) + truncErr
	}
	return prefix(stdout, max(0, avail-len(truncOut)-len(stderr))) + truncOut + title + stderr
}

// prefix cuts s to at most n bytes without splitting a UTF-8 sequence.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
