package script_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// TestParameterThrottling: a throttled GetParameter is retried with
// backoff until it succeeds, within the read budget; past the budget the
// error says to raise the throughput or to rotate fewer instances per run.
func TestParameterThrottling(t *testing.T) {
	f := newFakeAWS(t)
	cr := cred{"u", "throttled-pass"}
	pl := payload(t, "dockercfg", hubKey, cr, true)
	f.setParam(paramName, b64(pl))
	p := script.Params{Mode: script.ModePreflight, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true}

	t.Run("recovers", func(t *testing.T) {
		in := newInstance(t, f, script.InitSystemd, anyAwk())
		in.write(fileWithVars, 0o644)
		f.setThrottle(4)
		start := time.Now()
		r := in.run(p)
		if !r.res.OK || f.readCount() != 5 {
			t.Fatalf("%d reads, %+v\n%s%s", f.readCount(), r.res, r.stdout, r.stderr)
		}
		// Four waits of at most 0.5, 1, 2 and 4 s, and the script's own time.
		if d := time.Since(start); d > 40*time.Second {
			t.Errorf("took %s", d)
		}
	})

	t.Run("gives-up", func(t *testing.T) {
		in := newInstance(t, f, script.InitSystemd, anyAwk())
		in.write(fileWithVars, 0o644)
		f.setThrottle(-1)
		q := p
		q.ReadBudget = 3 * time.Second
		start := time.Now()
		r := in.run(q)
		d, n := time.Since(start), f.readCount()
		f.setThrottle(0)
		if r.res.Code != script.CodeParameterThrottled || !strings.Contains(r.res.Message, "throughput") ||
			!strings.Contains(r.res.Message, "one cluster at a time") || !strings.Contains(r.res.Message, paramName) {
			t.Fatalf("%+v\n%s%s", r.res, r.stdout, r.stderr)
		}
		// Waits of at most 0.5 + 1 + 2 s fit the 3 s budget: at least
		// two calls; the budget ends the retries well before the old 60 s.
		if n < 2 || n > 20 {
			t.Errorf("%d reads", n)
		}
		if d > 30*time.Second {
			t.Errorf("took %s with a 3 s budget", d)
		}
		noSecrets(t, r, append(secretForms(cr, pl), f.imdsSecrets(t)...))
	})
}

func TestReadBudgetParam(t *testing.T) {
	p := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd}
	if joined := strings.Join(script.Commands(p), "\n"); strings.Contains(joined, "ECSRR_READ_BUDGET=") {
		t.Error("the default budget is written out")
	}
	p.ReadBudget = 5 * time.Second
	if joined := strings.Join(script.Commands(p), "\n"); !strings.Contains(joined, "ECSRR_READ_BUDGET='5'") {
		t.Error("no ECSRR_READ_BUDGET='5'")
	}
	for _, d := range []time.Duration{time.Millisecond, 1500 * time.Millisecond, 2 * time.Hour, -time.Second} {
		p.ReadBudget = d
		if p.Validate() == nil {
			t.Errorf("read budget %s accepted", d)
		}
	}
}

// TestBackoffIsJittered: each retry waits a random time in a window that
// doubles from 0.5 s to at most 8 s (full jitter), so a fleet throttled
// together spreads its retries instead of coming back together.
func TestBackoffIsJittered(t *testing.T) {
	out := runFunctions(t, `for n in 1 2 3 4 5 9; do for i in {1..200}; do backoff_ms "$n"; printf '%s %s\n' "$n" "$BACKOFF_MS"; done; done`)
	windows := map[string]int{"1": 500, "2": 1000, "3": 2000, "4": 4000, "5": 8000, "9": 8000}
	seen := map[string]map[string]bool{}
	for _, line := range strings.Fields(strings.ReplaceAll(out, " ", ":")) {
		n, ms, _ := strings.Cut(line, ":")
		v, err := strconv.Atoi(ms)
		if err != nil || v < 0 || v > windows[n] {
			t.Fatalf("retry %s waits %q ms, want 0-%d", n, ms, windows[n])
		}
		if seen[n] == nil {
			seen[n] = map[string]bool{}
		}
		seen[n][ms] = true
	}
	for n := range windows {
		// 200 draws from at least 501 values: a fixed or barely varying
		// wait shows as a handful of distinct values.
		if len(seen[n]) < 100 {
			t.Errorf("retry %s: %d distinct waits in 200, want the window covered at random", n, len(seen[n]))
		}
	}
}
