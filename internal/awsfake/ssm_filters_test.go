package awsfake

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func commandFilter(key ssmtypes.CommandFilterKey, value string) ssmtypes.CommandFilter {
	return ssmtypes.CommandFilter{Key: key, Value: aws.String(value)}
}

// ListCommands filters as the API reference defines them, and each
// command's Comment as sent.
func TestListCommandsFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := f.AddContainerInstance(Instance{Cluster: "prod"})
	send := func(comment string) string {
		t.Helper()
		out, err := f.ssm().SendCommand(ctx, &ssm.SendCommandInput{
			DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{ref.InstanceID},
			Parameters: cmds("sleep 0.3"), Comment: aws.String(comment),
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Command.CommandId)
	}
	list := func(filters ...ssmtypes.CommandFilter) ([]string, error) {
		out, err := f.ssm().ListCommands(ctx, &ssm.ListCommandsInput{Filters: filters})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, c := range out.Commands {
			ids = append(ids, aws.ToString(c.CommandId)+"="+aws.ToString(c.Comment))
		}
		return ids, nil
	}
	first := send("run 1")
	time.Sleep(20 * time.Millisecond)
	between := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	second := send("run 2")

	expect := func(what string, want []string, filters ...ssmtypes.CommandFilter) {
		t.Helper()
		got, err := list(filters...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}
	}
	both := []string{second + "=run 2", first + "=run 1"}
	expect("no filter", both)
	expect("InvokedAfter", both[:1], commandFilter(ssmtypes.CommandFilterKeyInvokedAfter, between))
	expect("InvokedBefore", both[1:], commandFilter(ssmtypes.CommandFilterKeyInvokedBefore, between))
	expect("InvokedAfter a day ago, before now", both,
		commandFilter(ssmtypes.CommandFilterKeyInvokedAfter, time.Now().Add(-24*time.Hour).UTC().Format(time.RFC3339)),
		commandFilter(ssmtypes.CommandFilterKeyInvokedBefore, time.Now().Add(time.Second).UTC().Format(time.RFC3339)))
	expect("DocumentName", both, commandFilter(ssmtypes.CommandFilterKeyDocumentName, "AWS-RunShellScript"))
	expect("another DocumentName", nil, commandFilter(ssmtypes.CommandFilterKeyDocumentName, "AWS-RunPowerShellScript"))
	expect("Executing", both, commandFilter(ssmtypes.CommandFilterKeyExecutionStage, "Executing"))
	expect("Complete while running", nil, commandFilter(ssmtypes.CommandFilterKeyExecutionStage, "Complete"))

	waitFor(t, 5*time.Second, "both commands to end", func() bool {
		got, err := list(commandFilter(ssmtypes.CommandFilterKeyExecutionStage, "Complete"))
		return err == nil && len(got) == 2
	})
	expect("Success", both, commandFilter(ssmtypes.CommandFilterKeyStatus, "Success"))
	expect("Failed", nil, commandFilter(ssmtypes.CommandFilterKeyStatus, "Failed"))
	expect("Success and InvokedAfter", both[:1], commandFilter(ssmtypes.CommandFilterKeyStatus, "Success"),
		commandFilter(ssmtypes.CommandFilterKeyInvokedAfter, between))

	invs, err := f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{Filters: []ssmtypes.CommandFilter{
		commandFilter(ssmtypes.CommandFilterKeyInvokedBefore, between), commandFilter(ssmtypes.CommandFilterKeyStatus, "Success"),
	}})
	if err != nil || len(invs.CommandInvocations) != 1 || aws.ToString(invs.CommandInvocations[0].CommandId) != first ||
		aws.ToString(invs.CommandInvocations[0].Comment) != "run 1" {
		t.Fatalf("ListCommandInvocations filtered: %+v, %v", invs, err)
	}

	for _, c := range []struct {
		what    string
		filters []ssmtypes.CommandFilter
		code    string
	}{
		{"unknown key", []ssmtypes.CommandFilter{commandFilter("Comment", "x")}, "ValidationException"},
		{"empty value", []ssmtypes.CommandFilter{commandFilter(ssmtypes.CommandFilterKeyStatus, "")}, "ValidationException"},
		{"not a timestamp", []ssmtypes.CommandFilter{commandFilter(ssmtypes.CommandFilterKeyInvokedAfter, "yesterday")}, "InvalidFilterValue"},
		{"not a ListCommands status", []ssmtypes.CommandFilter{commandFilter(ssmtypes.CommandFilterKeyStatus, "Terminated")}, "InvalidFilterValue"},
		{"bad stage", []ssmtypes.CommandFilter{commandFilter(ssmtypes.CommandFilterKeyExecutionStage, "Running")}, "InvalidFilterValue"},
		{"six filters", []ssmtypes.CommandFilter{
			commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"), commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"),
			commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"), commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"),
			commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"), commandFilter(ssmtypes.CommandFilterKeyDocumentName, "a"),
		}, "ValidationException"},
	} {
		if _, err := list(c.filters...); apiCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.what, err, c.code)
		}
	}
	_, err = f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{Filters: []ssmtypes.CommandFilter{
		commandFilter(ssmtypes.CommandFilterKeyExecutionStage, "Complete"),
	}})
	if apiCode(err) != "InvalidFilterKey" {
		t.Errorf("ExecutionStage on ListCommandInvocations: %v", err)
	}
	if _, err := f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{Filters: []ssmtypes.CommandFilter{
		commandFilter(ssmtypes.CommandFilterKeyStatus, "Terminated"),
	}}); err != nil {
		t.Errorf("Terminated is a ListCommandInvocations status: %v", err)
	}
}
