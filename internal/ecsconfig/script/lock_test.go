package script_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// lockedSection is the index range of the log lines tagged tag after its
// flock call: what the script did while holding the lock.
func lockedSection(t *testing.T, lines []string, tag string) (first, last int) {
	t.Helper()
	first, last = -1, -1
	locked := false
	for i, l := range lines {
		if !strings.HasPrefix(l, tag+" ") {
			continue
		}
		if strings.HasPrefix(l, tag+" flock ") {
			locked = true
			continue
		}
		if locked {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if !locked || first < 0 {
		t.Fatalf("script %s called no flock, or nothing after it", tag)
	}
	return first, last
}

// TestOneScriptAtATime: the same apply delivered twice at once (SSM may
// run a command twice) runs one script after the other; both succeed and
// the backup holds the original file.
func TestOneScriptAtATime(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	log := in.wrapTools()
	in.write(fileWithVars, 0o644)
	cr := cred{"u", "concurrent-pass"}
	pl := payload(t, "dockercfg", hubKey, cr, true)
	f.setParam(paramName, b64(pl))
	p := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true}

	var wg sync.WaitGroup
	var res [2]run
	for i, tag := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Slow writes widen any window in which the two could overlap.
			res[i] = in.runWith(p, "ARGV_TAG="+tag, "ARGV_SLOW=mv cat")
		}()
	}
	wg.Wait()
	for i, r := range res {
		if !r.res.OK || r.res.File == script.FileChecked {
			t.Fatalf("script %d: %+v\n%s%s", i, r.res, r.stdout, r.stderr)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	a1, a2 := lockedSection(t, lines, "A")
	b1, b2 := lockedSection(t, lines, "B")
	if !(a2 < b1 || b2 < a1) {
		t.Errorf("the scripts interleaved: A ran tools at lines %d-%d, B at %d-%d", a1, a2, b1, b2)
	}
	backup, err := os.ReadFile(in.cfg + ".ecs-registry-rotate-" + runID + ".bak")
	if err != nil || !bytes.Equal(backup, []byte(fileWithVars)) {
		t.Errorf("the backup does not hold the original file: %v", err)
	}
	if got, ok := agentCred(t, ecsInit(in.read()), hubKey); !ok || got != cr {
		t.Errorf("the agent would read %+v", got)
	}
	if fi, err := os.Stat(filepath.Join(in.dir, lockName)); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 0 {
		t.Errorf("lock file: %v %v", fi, err)
	}
}

// TestLockWait: a script that cannot get the lock within its wait fails
// with "locked" and changes nothing, in every mode.
func TestLockWait(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	pl := payload(t, "dockercfg", hubKey, cred{"u", "p"}, true)
	held, err := os.OpenFile(filepath.Join(in.dir, lockName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	state := in.dirState()
	for _, mode := range []string{script.ModePreflight, script.ModeApply, script.ModeRollback} {
		p := script.Params{Mode: mode, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
			AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true, LockWait: time.Second}
		if mode == script.ModeRollback {
			p.InlineB64, p.Transport = "", ""
		}
		start := time.Now()
		r := in.run(p)
		d := time.Since(start)
		if r.res.Code != script.CodeLocked || !strings.Contains(r.res.Message, lockName) {
			t.Errorf("%s: %+v\n%s%s", mode, r.res, r.stdout, r.stderr)
		}
		if d < 900*time.Millisecond || d > 30*time.Second {
			t.Errorf("%s: gave up after %s, want about the 1 s wait", mode, d)
		}
	}
	if got := in.dirState(); got != state {
		t.Errorf("the directory changed:\n%s\n%s", state, got)
	}
	if len(in.restarts()) > 0 {
		t.Errorf("restarted: %v", in.restarts())
	}

	// Released, the next script runs.
	_ = syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
	p := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, LockWait: time.Second}
	if r := in.run(p); !r.res.OK {
		t.Errorf("%+v", r.res)
	}
}

func TestLockWaitParam(t *testing.T) {
	p := script.Params{Mode: script.ModeRollback, RunID: runID, Init: script.InitSystemd}
	if joined := strings.Join(script.Commands(p), "\n"); strings.Contains(joined, "ECSRR_LOCK_WAIT=") {
		t.Error("the default wait is written out")
	}
	p.LockWait = 90 * time.Second
	if joined := strings.Join(script.Commands(p), "\n"); !strings.Contains(joined, "ECSRR_LOCK_WAIT='90'") {
		t.Error("no ECSRR_LOCK_WAIT='90'")
	}
	for _, d := range []time.Duration{time.Millisecond, 2500 * time.Millisecond, 2 * time.Hour, -time.Second} {
		p.LockWait = d
		if p.Validate() == nil {
			t.Errorf("lock wait %s accepted", d)
		}
	}
}
