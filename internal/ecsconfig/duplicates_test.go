package ecsconfig

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// twoDeliveries makes every SendCommand of mode start two commands, as SSM
// does when the first answer is lost and the SDK sends the call again. On
// each instance the command started first (the one the step finds as the
// second delivery: SendCommand answered the other) replies repeat, the one
// SendCommand answered replies answered. The other modes succeed.
func twoDeliveries(f *fake, mode string, repeat, answered reply) {
	f.twice = map[string]bool{mode: true}
	seen := map[string]int{} // under f.mu: behave runs in SendCommand
	f.behave = func(m, id string) reply {
		if m == mode {
			seen[id]++
			if seen[id] == 1 {
				return repeat
			}
			return answered
		}
		if m == modePreflight {
			return ok(m, "checked", "not-restarted")
		}
		return ok(m, "updated", "restarted")
	}
}

// finishedAt is r with its plugin's ResponseFinishDateTime.
func finishedAt(r reply, at time.Time) reply {
	r.finished = at
	return r
}

var deliveryClock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A delivery that waited for the instance's lock while the other delivery
// of the same command held it, and gave up (the script's code "locked")
// after that one succeeded, changed nothing: the instance is what the
// other made it, whichever of the two SendCommand answered and whichever
// SSM lists as ended last.
func TestDeliveryLockedOutAfterTheOtherSucceeded(t *testing.T) {
	locked := scriptErr(script.CodeLocked, "another ecs-registry-rotate script on this instance holds /etc/ecs/.ecs-registry-rotate.lock; gave up after 50 s")
	for _, c := range []struct {
		name             string
		mode             string
		repeat, answered reply
	}{
		{"apply: the second delivery gave up later", modeApply,
			finishedAt(locked, deliveryClock.Add(50*time.Second)), finishedAt(ok(modeApply, "updated", "restarted"), deliveryClock)},
		{"apply: the answered command gave up later", modeApply,
			finishedAt(ok(modeApply, "updated", "restarted"), deliveryClock), finishedAt(locked, deliveryClock.Add(50*time.Second))},
		{"apply: SSM names no end times", modeApply, ok(modeApply, "updated", "restarted"), locked},
		{"preflight: the answered command gave up later", modePreflight,
			finishedAt(ok(modePreflight, "checked", "not-restarted"), deliveryClock), finishedAt(locked, deliveryClock.Add(50*time.Second))},
	} {
		t.Run(c.name, func(t *testing.T) {
			insts := fleet(2)
			f := newFake(t, insts)
			twoDeliveries(f, c.mode, c.repeat, c.answered)
			var l logLines
			res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
			if err != nil {
				t.Fatalf("the run failed: %v", err)
			}
			for _, o := range res.Instances {
				if o.Status != StatusUpdated || o.ErrorCode != "" || o.Agent != "restarted" {
					t.Errorf("%s: status %s, code %q, agent %q (%s); want updated and restarted", o.EC2InstanceID, o.Status, o.ErrorCode, o.Agent, o.Detail)
				}
			}
			if !slices.ContainsFunc(strings.Split(l.String(), "\n"), func(s string) bool {
				return strings.HasPrefix(s, c.mode+": command ") && strings.Contains(s, "is a second delivery")
			}) {
				t.Errorf("the log does not name the second delivery of the %s:\n%s", c.mode, l.String())
			}
		})
	}
}

// Of two deliveries of one command that ended differently, the one that
// ended last (the plugins' ResponseFinishDateTime) saw the file as it
// stays: its outcome is the instance's, whichever of the two SendCommand
// answered.
func TestDeliveryThatEndedLastWins(t *testing.T) {
	success := ok(modeApply, "updated", "restarted")
	failure := scriptErr(script.CodeRestartFailed, "systemctl restart ecs failed: Job for ecs.service failed")
	early, late := deliveryClock, deliveryClock.Add(5*time.Second)
	for _, c := range []struct {
		name             string
		repeat, answered reply
		want             Status
		code             string
	}{
		{"success last, on the second delivery", finishedAt(success, late), finishedAt(failure, early), StatusUpdated, ""},
		{"success last, on the answered command", finishedAt(failure, early), finishedAt(success, late), StatusUpdated, ""},
		{"failure last, on the second delivery", finishedAt(failure, late), finishedAt(success, early), StatusFailed, script.CodeRestartFailed},
		{"failure last, on the answered command", finishedAt(success, early), finishedAt(failure, late), StatusFailed, script.CodeRestartFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			insts := fleet(1)
			f := newFake(t, insts)
			twoDeliveries(f, modeApply, c.repeat, c.answered)
			var l logLines
			res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
			o := res.Instances[0]
			if o.Status != c.want || o.ErrorCode != c.code {
				t.Fatalf("status %s, code %q (%s); want %s, code %q", o.Status, o.ErrorCode, o.Detail, c.want, c.code)
			}
			var e *Error
			switch {
			case c.want == StatusUpdated && err != nil:
				t.Errorf("the run failed: %v", err)
			case c.want == StatusFailed && (!errors.As(err, &e) || e.Step != StepApply || !strings.Contains(err.Error(), c.code)):
				t.Errorf("err = %v, want the apply failed with %s", err, c.code)
			}
			if len(f.sent(modeApply)) != 2 {
				t.Errorf("%d apply commands ran, want the command and its second delivery", len(f.sent(modeApply)))
			}
		})
	}
}
