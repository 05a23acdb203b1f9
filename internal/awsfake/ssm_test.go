package awsfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
)

func (f *fixture) ssm() *ssm.Client { return ssm.NewFromConfig(f.cfg) }

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// send runs commands on the instances and waits for every invocation to
// end, returning them with their plugin details.
func (f *fixture) send(t *testing.T, params map[string][]string, ids ...string) []ssmtypes.CommandInvocation {
	t.Helper()
	ctx := context.Background()
	out, err := f.ssm().SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids, Parameters: params, MaxErrors: aws.String("0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Command.CommandId)
	var invs []ssmtypes.CommandInvocation
	waitFor(t, 10*time.Second, "command "+id, func() bool {
		list, err := f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id), Details: true})
		if err != nil {
			t.Fatal(err)
		}
		invs = list.CommandInvocations
		if len(invs) != len(ids) {
			return false
		}
		for _, inv := range invs {
			switch inv.Status {
			case ssmtypes.CommandInvocationStatusPending, ssmtypes.CommandInvocationStatusInProgress:
				return false
			}
		}
		return true
	})
	return invs
}

func cmds(lines ...string) map[string][]string { return map[string][]string{"commands": lines} }

func TestDescribeInstanceInformation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	al1 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL1})
	al2 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL2, PingStatus: "ConnectionLost"})
	win := f.AddContainerInstance(Instance{Cluster: "prod", OS: Windows})
	dark := f.AddContainerInstance(Instance{Cluster: "prod", Unmanaged: true})
	out, err := f.ssm().DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{al1.InstanceID, al2.InstanceID, win.InstanceID, dark.InstanceID, "i-0123456789abcdef0"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ssmtypes.InstanceInformation{}
	for _, i := range out.InstanceInformationList {
		got[aws.ToString(i.InstanceId)] = i
	}
	if len(got) != 3 {
		t.Fatalf("want the 3 managed instances, got %+v", out.InstanceInformationList)
	}
	if i := got[al1.InstanceID]; aws.ToString(i.PlatformName) != "Amazon Linux AMI" || aws.ToString(i.PlatformVersion) != "2018.03" || i.PingStatus != "Online" || i.PlatformType != ssmtypes.PlatformTypeLinux {
		t.Errorf("AL1: %+v", i)
	}
	if i := got[al2.InstanceID]; aws.ToString(i.PlatformName) != "Amazon Linux" || aws.ToString(i.PlatformVersion) != "2" || i.PingStatus != ssmtypes.PingStatusConnectionLost {
		t.Errorf("AL2: %+v", i)
	}
	if i := got[win.InstanceID]; i.PlatformType != ssmtypes.PlatformTypeWindows {
		t.Errorf("Windows: %+v", i)
	}
	if _, err := f.ssm().DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)}); apiCode(err) != "ValidationException" {
		t.Errorf("MaxResults 51: %v", err)
	}
	for range 12 {
		f.AddContainerInstance(Instance{Cluster: "prod"})
	}
	n, pages := 0, 0
	p := ssm.NewDescribeInstanceInformationPaginator(f.ssm(), &ssm.DescribeInstanceInformationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, pages = n+len(page.InstanceInformationList), pages+1
	}
	if n != 15 || pages != 2 {
		t.Errorf("%d instances in %d pages; want 15 in 2 (10 by default)", n, pages)
	}
}

func TestParameterStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.ssm()
	name := "/ecs-registry-rotate/run-1"
	put := func(value string, overwrite bool) (*ssm.PutParameterOutput, error) {
		return c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(overwrite)})
	}
	if out, err := put("s3cret", false); err != nil || out.Version != 1 || out.Tier != ssmtypes.ParameterTierStandard {
		t.Fatalf("put: %+v, %v", out, err)
	}
	var exists *ssmtypes.ParameterAlreadyExists
	if _, err := put("other", false); !errors.As(err, &exists) {
		t.Fatalf("second put without Overwrite: %v", err)
	}
	if out, err := put("s3cret2", true); err != nil || out.Version != 2 {
		t.Fatalf("overwrite: %+v, %v", out, err)
	}
	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(got.Parameter.Value) != "s3cret2" || got.Parameter.Type != ssmtypes.ParameterTypeSecureString ||
		aws.ToString(got.Parameter.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/ecs-registry-rotate/run-1" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	enc, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil || strings.Contains(aws.ToString(enc.Parameter.Value), "s3cret") {
		t.Fatalf("get without decryption shows the value: %+v, %v", enc, err)
	}
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/x"), Value: aws.String(strings.Repeat("a", 4097)), Type: ssmtypes.ParameterTypeSecureString}); apiCode(err) != "ValidationException" {
		t.Fatalf("4097 characters: %v", err)
	}
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	var nf *ssmtypes.ParameterNotFound
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); !errors.As(err, &nf) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}); !errors.As(err, &nf) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, ok := f.ParameterValue(name); ok {
		t.Fatal("still there")
	}
	// Faults apply to SSM too, naming the parameter.
	f.DenyAccess("PutParameter")
	_, err = put("v", true)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" ||
		!strings.Contains(ae.ErrorMessage(), "ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/ecs-registry-rotate/run-1") {
		t.Fatalf("denied: %v", err)
	}
}

// A tiny command really runs in bash on the instance, with its
// environment, and its output comes back as SSM returns it.
func TestSendCommandRunsBash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := f.AddContainerInstance(Instance{Cluster: "prod", ECSConfig: "ECS_CLUSTER=prod\n"})
	invs := f.send(t, cmds(
		`echo "hello from $AWS_SSM_INSTANCE_ID in $AWS_SSM_REGION_NAME"`,
		`cat "$ECS_REGISTRY_ROTATE_CONFIG_FILE"`,
		`echo "imds=$AWS_EC2_METADATA_SERVICE_ENDPOINT ssm=$AWS_ENDPOINT_URL_SSM"`,
		`echo warning >&2`,
	), ref.InstanceID)
	inv := invs[0]
	plugin := inv.CommandPlugins[0]
	wantOut := "hello from " + ref.InstanceID + " in us-east-1\nECS_CLUSTER=prod\nimds=" + f.URL() + "/imds/" + ref.InstanceID + " ssm=" + f.URL() + "\n"
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(plugin.Name) != "aws:runShellScript" || plugin.ResponseCode != 0 ||
		aws.ToString(plugin.Output) != wantOut+"\n----------ERROR-------\nwarning\n" {
		t.Fatalf("invocation %+v, plugin output %q", inv, aws.ToString(plugin.Output))
	}
	got, err := f.ssm().GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: inv.CommandId, InstanceId: aws.String(ref.InstanceID)})
	if err != nil || aws.ToString(got.StandardOutputContent) != wantOut || aws.ToString(got.StandardErrorContent) != "warning\n" || got.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("GetCommandInvocation: %+v, %v", got, err)
	}

	// Exit status, and the agent's 2500-character cut of the plugin output
	// against 24000 for StandardOutputContent.
	invs = f.send(t, cmds(`head -c 30000 /dev/zero | tr '\0' x`, `echo "ecs-registry-rotate: error: config-missing: no file" >&2`, `exit 3`), ref.InstanceID)
	inv, plugin = invs[0], invs[0].CommandPlugins[0]
	out := aws.ToString(plugin.Output)
	if inv.Status != ssmtypes.CommandInvocationStatusFailed || plugin.ResponseCode != 3 || len(out) > 2500 ||
		!strings.Contains(out, "---Output truncated---\n----------ERROR-------\necs-registry-rotate: error: config-missing: no file\n") {
		t.Fatalf("failed invocation %+v, output %d chars %q", inv, len(out), out[max(0, len(out)-200):])
	}
	got, _ = f.ssm().GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: inv.CommandId, InstanceId: aws.String(ref.InstanceID)})
	if len(aws.ToString(got.StandardOutputContent)) != 24000 || got.ResponseCode != 3 {
		t.Fatalf("stdout content %d chars, code %d", len(aws.ToString(got.StandardOutputContent)), got.ResponseCode)
	}

	// The command keeps its parameters, as ListCommands shows anyone.
	list, err := f.ssm().ListCommands(ctx, &ssm.ListCommandsInput{CommandId: inv.CommandId})
	if err != nil || len(list.Commands) != 1 || list.Commands[0].Parameters["commands"][2] != "exit 3" || list.Commands[0].Status != ssmtypes.CommandStatusFailed {
		t.Fatalf("ListCommands: %+v, %v", list, err)
	}
}

// Right after SendCommand there is no invocation yet; then Pending,
// InProgress, and an end.
func TestInvocationLifecycle(t *testing.T) {
	s, err := Start(Options{Tick: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), s.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(cfg)
	ctx := context.Background()
	ref := s.AddContainerInstance(Instance{Cluster: "prod"})
	out, err := c.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{ref.InstanceID},
		Parameters: cmds("sleep 0.5")})
	if err != nil {
		t.Fatal(err)
	}
	id := out.Command.CommandId
	if out.Command.Status != ssmtypes.CommandStatusPending || aws.ToString(out.Command.MaxConcurrency) != "50" || aws.ToString(out.Command.MaxErrors) != "0" {
		t.Fatalf("sent: %+v", out.Command)
	}
	list, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: id})
	if err != nil || len(list.CommandInvocations) != 0 {
		t.Fatalf("invocations listed right after SendCommand: %+v, %v", list, err)
	}
	var dne *ssmtypes.InvocationDoesNotExist
	if _, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: id, InstanceId: aws.String(ref.InstanceID)}); !errors.As(err, &dne) {
		t.Fatalf("GetCommandInvocation right after SendCommand: %v", err)
	}
	w := ssm.NewCommandExecutedWaiter(c, func(o *ssm.CommandExecutedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	got, err := w.WaitForOutput(ctx, &ssm.GetCommandInvocationInput{CommandId: id, InstanceId: aws.String(ref.InstanceID)}, 10*time.Second)
	if err != nil || got.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(got.ExecutionElapsedTime) == "" {
		t.Fatalf("waiter: %+v, %v", got, err)
	}
}

func TestSendCommandRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok := f.AddContainerInstance(Instance{Cluster: "prod"})
	dark := f.AddContainerInstance(Instance{Cluster: "prod", Unmanaged: true})
	lost := f.AddContainerInstance(Instance{Cluster: "prod", PingStatus: "ConnectionLost"})
	send := func(in *ssm.SendCommandInput) error {
		if in.DocumentName == nil {
			in.DocumentName = aws.String("AWS-RunShellScript")
		}
		if in.Parameters == nil {
			in.Parameters = cmds("true")
		}
		_, err := f.ssm().SendCommand(ctx, in)
		return err
	}
	var bad *ssmtypes.InvalidInstanceId
	err := send(&ssm.SendCommandInput{InstanceIds: []string{ok.InstanceID, dark.InstanceID, lost.InstanceID}})
	if !errors.As(err, &bad) || bad.ErrorMessage() != fmt.Sprintf("Instances [[%s, %s]] not in a valid state for account 123456789012", dark.InstanceID, lost.InstanceID) {
		t.Fatalf("unmanaged and offline: %v", err)
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = ok.InstanceID
	}
	if err := send(&ssm.SendCommandInput{InstanceIds: many}); apiCode(err) != "ValidationException" {
		t.Fatalf("51 ids: %v", err)
	}
	if err := send(&ssm.SendCommandInput{InstanceIds: []string{ok.InstanceID}, DocumentName: aws.String("AWS-RunPowerShellScript")}); apiCode(err) != "InvalidDocument" {
		t.Fatalf("another document: %v", err)
	}
	if err := send(&ssm.SendCommandInput{InstanceIds: []string{ok.InstanceID}, Parameters: map[string][]string{"commands": {"true"}, "executionTimeout": {"0"}}}); apiCode(err) != "InvalidParameters" {
		t.Fatalf("executionTimeout 0: %v", err)
	}
	if err := send(&ssm.SendCommandInput{InstanceIds: []string{ok.InstanceID}, MaxConcurrency: aws.String("0")}); apiCode(err) != "ValidationException" {
		t.Fatalf("MaxConcurrency 0: %v", err)
	}
	f.DenyAccess("SendCommand")
	var ae smithy.APIError
	if err := send(&ssm.SendCommandInput{InstanceIds: []string{ok.InstanceID}}); !errors.As(err, &ae) ||
		!strings.Contains(ae.ErrorMessage(), "ssm:SendCommand on resource: arn:aws:ssm:us-east-1::document/AWS-RunShellScript") {
		t.Fatalf("denied: %v", err)
	}
	if n := len(f.MutatingCalls()); n != 0 {
		t.Fatalf("%d refused calls counted as mutations", n)
	}
}

func TestCommandTimesOutAndCancels(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := f.AddContainerInstance(Instance{Cluster: "prod"})
	start := time.Now()
	invs := f.send(t, map[string][]string{"commands": {"echo started", "sleep 30"}, "executionTimeout": {"1"}}, ref.InstanceID)
	p := invs[0].CommandPlugins[0]
	if invs[0].Status != ssmtypes.CommandInvocationStatusTimedOut || p.ResponseCode != 137 || aws.ToString(p.Output) != "started\n" {
		t.Fatalf("timed out: %+v %+v", invs[0], p)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}

	out, err := f.ssm().SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{ref.InstanceID}, Parameters: cmds("sleep 30")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "InProgress", func() bool {
		l, _ := f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: out.Command.CommandId})
		return len(l.CommandInvocations) == 1 && l.CommandInvocations[0].Status == ssmtypes.CommandInvocationStatusInProgress
	})
	if _, err := f.ssm().CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: out.Command.CommandId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "Cancelled", func() bool {
		l, _ := f.ssm().ListCommands(ctx, &ssm.ListCommandsInput{CommandId: out.Command.CommandId})
		return l.Commands[0].Status == ssmtypes.CommandStatusCancelled
	})
}

// The stub restart tools: systemctl on AL2/AL2023 (with ActiveEnterTimestamp),
// stop/start on AL1; an instance without them has none, whatever the host
// has; the agent disconnects when the command ends and comes back.
func TestRestartThroughRunCommand(t *testing.T) {
	f := newFixture(t)
	al2 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL2})
	al1 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL1})
	bare := f.AddContainerInstance(Instance{Cluster: "prod", NoRestartTool: true})
	never := f.AddContainerInstance(Instance{Cluster: "prod", NeverReconnects: true})

	before, _ := f.Agent(al2.InstanceID)
	invs := f.send(t, cmds(`systemctl show ecs --property=ActiveEnterTimestamp --value`), al2.InstanceID)
	if want := before.StartedAt.UTC().Format("Mon 2006-01-02 15:04:05 UTC") + "\n"; aws.ToString(invs[0].CommandPlugins[0].Output) != want {
		t.Fatalf("ActiveEnterTimestamp %q, want %q", aws.ToString(invs[0].CommandPlugins[0].Output), want)
	}

	invs = f.send(t, cmds(`command -v systemctl start stop aws || echo none`), bare.InstanceID)
	if out := aws.ToString(invs[0].CommandPlugins[0].Output); out != "none\n" {
		t.Fatalf("an instance without a restart tool found %q", out)
	}

	time.Sleep(1100 * time.Millisecond) // so the restart shows a later second
	invs = f.send(t, cmds(`systemctl restart ecs`), al2.InstanceID)
	if invs[0].Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("restart: %+v", invs[0])
	}
	if a, _ := f.Agent(al2.InstanceID); a.Connected || a.Restarts != 1 || !a.StartedAt.After(before.StartedAt) {
		t.Fatalf("after the restart command: %+v (before %+v)", a, before)
	}
	invs = f.send(t, cmds(`stop ecs`, `start ecs`), al1.InstanceID)
	if out := aws.ToString(invs[0].CommandPlugins[0].Output); !strings.HasPrefix(out, "ecs stop/waiting\necs start/running, process ") {
		t.Fatalf("upstart output %q", out)
	}
	if invs = f.send(t, cmds(`systemctl restart ecs`), never.InstanceID); invs[0].Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("restart of the agent that never reconnects: %+v", invs[0])
	}
	waitFor(t, 2*time.Second, "agents to reconnect", func() bool {
		a1, _ := f.Agent(al1.InstanceID)
		a2, _ := f.Agent(al2.InstanceID)
		return a1.Connected && a2.Connected && a1.Restarts == 1
	})
	time.Sleep(5 * testTick)
	if a, _ := f.Agent(never.InstanceID); a.Connected {
		t.Fatal("the agent that never reconnects is back")
	}
}

// Instances read parameters with their own role: the SDK's IMDS
// credentials provider gets credentials from instance.go's IMDSv2, signs
// GetParameter with them, and the fake routes that call to instance.go,
// which answers from the fake's parameters with the role's rights.
func TestInstanceReadsParameterWithItsRole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reader := f.AddContainerInstance(Instance{Cluster: "prod"})
	denied := f.AddContainerInstance(Instance{Cluster: "prod", DenyParameterRead: true, RoleName: "dhmcRole"})
	if _, err := f.ssm().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/rr/run"), Value: aws.String("cGF5bG9hZA=="), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	as := func(instanceID string) *ssm.Client {
		client := imds.New(imds.Options{Endpoint: f.URL(), ClientEnableState: imds.ClientEnabled, HTTPClient: &http.Client{Transport: pathPrefix{"/imds/" + instanceID}}})
		cfg := f.cfg.Copy()
		cfg.Credentials = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }))
		return ssm.NewFromConfig(cfg)
	}
	got, err := as(reader.InstanceID).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rr/run"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(got.Parameter.Value) != "cGF5bG9hZA==" {
		t.Fatalf("instance read: %+v, %v", got, err)
	}
	_, err = as(denied.InstanceID).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rr/run"), WithDecryption: aws.Bool(true)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" ||
		!strings.Contains(ae.ErrorMessage(), "assumed-role/dhmcRole/"+denied.InstanceID+" is not authorized to perform: ssm:GetParameter") {
		t.Fatalf("denied instance: %v", err)
	}
	var calls []string
	for _, c := range f.Calls() {
		if c.Operation == "GetParameter" {
			calls = append(calls, c.ErrorCode)
			if !strings.HasPrefix(c.AccessKeyID, "ASIA") {
				t.Errorf("GetParameter signed with %s", c.AccessKeyID)
			}
		}
	}
	if strings.Join(calls, ",") != ",AccessDeniedException" {
		t.Fatalf("recorded GetParameter calls: %q", calls)
	}
	// The CI caller's own GetParameter stays with the fake.
	if _, err := f.ssm().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rr/run")}); err != nil {
		t.Fatal(err)
	}
}

// pathPrefix puts an instance's IMDS path prefix back: the SDK's IMDS
// client replaces the endpoint's path with the operation's.
type pathPrefix struct{ prefix string }

func (p pathPrefix) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = p.prefix + r.URL.Path
	return http.DefaultTransport.RoundTrip(r)
}
