package ecsconfig

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// commandVar is the value of the script variable name (ECSRR_...) that the
// command's lines set, and whether they set it.
func commandVar(t *testing.T, lines []string, name string) (string, bool) {
	t.Helper()
	for _, l := range lines {
		v, ok := strings.CutPrefix(l, name+"=")
		if !ok {
			continue
		}
		if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' || strings.Contains(v[1:len(v)-1], "'") {
			t.Fatalf("%s is not one single-quoted word: %q", name, l)
		}
		return v[1 : len(v)-1], true
	}
	return "", false
}

// seconds reads a whole number of seconds the script takes; def when the
// command leaves the variable to the script's default.
func seconds(t *testing.T, lines []string, name string, def time.Duration) time.Duration {
	t.Helper()
	v, set := commandVar(t, lines, name)
	if !set {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q is not a positive number of seconds", name, v)
	}
	return time.Duration(n) * time.Second
}

// The script's two waits, for another delivery's lock and for a throttled
// read of the parameter, both fit in the command's executionTimeout with
// room for the script's own work (reading and writing ecs.config,
// restarting the agent): a script that waits the longest for both still
// ends, and says why, before SSM kills it. For the default timeout and
// for short ones, down to 12 s (a second for each wait and the room).
func TestScriptWaitsFitTheExecutionTimeout(t *testing.T) {
	const room = 10 * time.Second // the script's own work beside its waits
	for _, exec := range []time.Duration{0, 30 * time.Second, 20 * time.Second, 12 * time.Second} {
		want := exec
		if exec == 0 {
			want = DefaultExecutionTimeout
		}
		t.Run(want.String(), func(t *testing.T) {
			insts := fleet(3)
			f := newFake(t, insts)
			var l logLines
			o := testOptions(&l)
			o.ExecutionTimeout = exec
			if _, err := Apply(context.Background(), f.clients(), insts, o); err != nil {
				t.Fatal(err)
			}
			if _, err := Rollback(context.Background(), f.clients(), insts, o); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{modePreflight, modeApply, modeRollback} {
				cmds := f.sent(mode)
				if len(cmds) == 0 {
					t.Fatalf("no %s command was sent", mode)
				}
				for _, c := range cmds {
					lines := c.in.Parameters["commands"]
					n, err := strconv.Atoi(strings.Join(c.in.Parameters["executionTimeout"], ","))
					if err != nil || time.Duration(n)*time.Second != want {
						t.Fatalf("%s: executionTimeout %q, want %d", mode, c.in.Parameters["executionTimeout"], int(want/time.Second))
					}
					lock := seconds(t, lines, "ECSRR_LOCK_WAIT", script.DefaultLockWait)
					read := time.Duration(0) // a rollback reads no parameter
					if mode != modeRollback {
						read = seconds(t, lines, "ECSRR_READ_BUDGET", script.DefaultReadBudget)
					}
					if lock+read+room > want {
						t.Errorf("%s: lock wait %s + read budget %s + %s for the script's work > executionTimeout %s",
							mode, lock, read, room, want)
					}
				}
			}
		})
	}
}
