package awsfake

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// MaxConcurrency, a number or a percentage of the targets, bounds the
// invocations in flight; the others wait Pending until one ends.
func TestSendCommandMaxConcurrency(t *testing.T) {
	for _, c := range []struct {
		maxConcurrency string
		targets, limit int
	}{
		{"50%", 4, 2},
		{"1", 3, 1},
	} {
		t.Run(c.maxConcurrency, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			var ids []string
			for range c.targets {
				ids = append(ids, f.AddContainerInstance(Instance{Cluster: "prod"}).InstanceID)
			}
			log := filepath.Join(t.TempDir(), "runs")
			out, err := f.ssm().SendCommand(ctx, &ssm.SendCommandInput{
				DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids, MaxConcurrency: aws.String(c.maxConcurrency),
				Parameters: cmds(`echo "+1 $(date +%s.%N)" >> `+shellQuote(log), `sleep 0.4`, `echo "-1 $(date +%s.%N)" >> `+shellQuote(log)),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.Command.MaxConcurrency); got != c.maxConcurrency {
				t.Fatalf("MaxConcurrency %q, want %q as sent", got, c.maxConcurrency)
			}
			sawWaiting := false
			waitFor(t, 20*time.Second, "the invocations to end", func() bool {
				l, err := f.ssm().ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: out.Command.CommandId})
				if err != nil {
					t.Fatal(err)
				}
				running, pending, done := 0, 0, 0
				for _, inv := range l.CommandInvocations {
					switch inv.Status {
					case ssmtypes.CommandInvocationStatusInProgress:
						running++
					case ssmtypes.CommandInvocationStatusPending:
						pending++
					case ssmtypes.CommandInvocationStatusSuccess:
						done++
					}
				}
				if running > c.limit {
					t.Fatalf("%d invocations in progress, MaxConcurrency %s of %d allows %d", running, c.maxConcurrency, c.targets, c.limit)
				}
				sawWaiting = sawWaiting || (running == c.limit && pending > 0)
				return done == c.targets
			})
			if !sawWaiting {
				t.Errorf("never saw an invocation wait Pending while %d ran", c.limit)
			}

			// What the instances themselves saw: never more than the limit
			// running at once.
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			type event struct {
				at    float64
				delta int
			}
			var events []event
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				d, at, _ := strings.Cut(line, " ")
				n, _ := strconv.Atoi(d)
				secs, err := strconv.ParseFloat(at, 64)
				if err != nil {
					t.Fatalf("log line %q", line)
				}
				events = append(events, event{secs, n})
			}
			if len(events) != 2*c.targets {
				t.Fatalf("log %q", b)
			}
			slices.SortStableFunc(events, func(a, b event) int {
				// An end before a start at the same instant.
				return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta))
			})
			inFlight, most := 0, 0
			for _, e := range events {
				inFlight += e.delta
				most = max(most, inFlight)
			}
			if most != c.limit {
				t.Fatalf("at most %d ran at once, want %d", most, c.limit)
			}
		})
	}
}
