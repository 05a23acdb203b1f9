package awsfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// How invocations run: each one is `bash -c <commands joined by "\n">` in a
// process group of its own, with the command's executionTimeout, bounded
// by the command's MaxConcurrency and by Options.CommandConcurrency across
// the fake. The world's lock is held only to read the invocation before
// and to record its result after; never while bash runs.
//
// Each instance has, outside its /etc/ecs, a directory of the fake's own:
//
//	bin/           stub systemctl (AL2, AL2023, Bottlerocket) or start and stop (AL1)
//	agent.log      what the stubs did: "restart|start|stop <unix seconds>"
//	agent-started  the agent's start, unix seconds, for ActiveEnterTimestamp
//	agent-state    systemd's ActiveState of ecs (active, inactive, failed)
//	home/, orchestration/<command id>/  HOME and working directory
//
// Once an invocation ends, the fake applies what its stubs logged to the
// instance's agent (agent.go).

type execState struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}
	closed bool // under Server.mu

	rootOnce sync.Once
	root     string
	rootErr  error

	hostOnce sync.Once
	hostBin  string
	hostErr  error
}

func newExecState(concurrency int) execState {
	ctx, cancel := context.WithCancel(context.Background())
	return execState{ctx: ctx, cancel: cancel, slots: make(chan struct{}, concurrency)}
}

// rootDir is the fake's scratch directory, made on first use and removed
// by Close.
func (s *Server) rootDir() (string, error) {
	s.exec.rootOnce.Do(func() {
		s.exec.root, s.exec.rootErr = os.MkdirTemp("", "awsfake-")
	})
	return s.exec.root, s.exec.rootErr
}

// shutdownExec kills running invocations, waits for them and removes the
// scratch directory.
func (s *Server) shutdownExec() {
	s.mu.Lock()
	s.exec.closed = true
	s.mu.Unlock()
	s.exec.cancel()
	s.exec.wg.Wait()
	if s.exec.root != "" {
		_ = os.RemoveAll(s.exec.root)
	}
}

// hostBinDir mirrors the host's PATH as symlinks, leaving out the init
// tools (so an instance without a restart tool has none, whatever the
// host has) and the AWS CLI (which ECS-optimized AMIs do not ship).
func (s *Server) hostBinDir() (string, error) {
	s.exec.hostOnce.Do(func() {
		root, err := s.rootDir()
		if err != nil {
			s.exec.hostErr = err
			return
		}
		dir := filepath.Join(root, "hostbin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.exec.hostErr = err
			return
		}
		hidden := []string{"systemctl", "start", "stop", "restart", "initctl", "service", "aws"}
		seen := map[string]bool{}
		for _, p := range filepath.SplitList(os.Getenv("PATH")) {
			entries, err := os.ReadDir(p)
			if err != nil || p == "" {
				continue
			}
			for _, e := range entries {
				n := e.Name()
				if seen[n] || slices.Contains(hidden, n) {
					continue
				}
				info, err := os.Stat(filepath.Join(p, n))
				if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
					continue
				}
				seen[n] = true
				_ = os.Symlink(filepath.Join(p, n), filepath.Join(dir, n))
			}
		}
		s.exec.hostBin = dir
	})
	return s.exec.hostBin, s.exec.hostErr
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeInstanceTools makes the instance's own directory and its stubs.
func (s *Server) writeInstanceTools(ci *containerInstance) error {
	bin := filepath.Join(ci.sysDir, "bin")
	for _, d := range []string{bin, filepath.Join(ci.sysDir, "home"), filepath.Join(ci.sysDir, "orchestration")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(ci.sysDir, "agent.log"), nil, 0o644); err != nil {
		return err
	}
	if ci.noRestartTool || ci.isWindows() {
		return nil
	}
	head := "#!/bin/bash\n# awsfake stub on " + ci.ec2ID + ": records what it would do to the ECS agent.\n" +
		"log=" + shellQuote(filepath.Join(ci.sysDir, "agent.log")) + "\n" +
		"started=" + shellQuote(filepath.Join(ci.sysDir, "agent-started")) + "\n" +
		"fails=" + strconv.FormatBool(ci.restartFails) + "\n"
	tools := map[string]string{}
	if ci.os == AL1 {
		tools["stop"] = head + `[ "$1" = ecs ] || { echo "stop: Unknown job: $1" >&2; exit 1; }
echo "stop $(date +%s.%N)" >> "$log"
echo "ecs stop/waiting"
`
		tools["start"] = head + `[ "$1" = ecs ] || { echo "start: Unknown job: $1" >&2; exit 1; }
if [ "$fails" = true ]; then echo "start: Job failed to start" >&2; exit 1; fi
now=$(date +%s.%N)
echo "start $now" >> "$log"
echo "${now%.*}" > "$started"
echo "ecs start/running, process $$"
`
	} else {
		tools["systemctl"] = head + `state=${started%/*}/agent-state
unit_ok() { case "$1" in ecs|ecs.service) return 0;; esac; echo "Unit $1 could not be found." >&2; return 1; }
verb=$1; shift || true
case "$verb" in
restart|start)
	unit_ok "$1" || exit 5
	if [ "$fails" = true ]; then
		echo "stop $(date +%s.%N)" >> "$log"
		echo failed > "$state"
		echo "Job for ecs.service failed because the control process exited with error code." >&2
		echo "See \"systemctl status ecs.service\" and \"journalctl -xeu ecs.service\" for details." >&2
		exit 1
	fi
	now=$(date +%s.%N)
	echo "$verb $now" >> "$log"
	echo "${now%.*}" > "$started"
	echo active > "$state"
	;;
stop)
	unit_ok "$1" || exit 5
	echo "stop $(date +%s.%N)" >> "$log"
	echo inactive > "$state"
	;;
show)
	unit="" props=" " value=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--value) value=1 ;;
		--property=*) props="$props${1#--property=} " ;;
		-p) shift; props="$props$1 " ;;
		-p*) props="$props${1#-p} " ;;
		-*) ;;
		*) unit=$1 ;;
		esac
		shift
	done
	unit_ok "$unit" || exit 5
	props=$(echo "$props" | tr ',' ' ')
	# In systemd's order, not the order asked; only these two are modelled.
	for p in ActiveState ActiveEnterTimestamp; do
		case " $props " in *" $p "*) ;; *) continue ;; esac
		case $p in
		ActiveState) v=$(cat "$state" 2>/dev/null || echo active) ;;
		ActiveEnterTimestamp) v=$(LC_ALL=C date -u -d "@$(cat "$started")" '+%a %Y-%m-%d %H:%M:%S UTC') ;;
		esac
		if [ "$value" = 1 ]; then echo "$v"; else echo "$p=$v"; fi
	done
	;;
is-active)
	unit_ok "$1" || exit 5
	v=$(cat "$state" 2>/dev/null || echo active)
	echo "$v"
	[ "$v" = active ]
	;;
*)
	echo "awsfake systemctl: unsupported: $verb $*" >&2
	exit 1
	;;
esac
`
	}
	for name, body := range tools {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// dispatch starts the command's invocations a tick after SendCommand (the
// delivery), at most MaxConcurrency at a time. Called under the lock.
func (s *Server) dispatch(cmd *command) {
	if s.exec.closed {
		return
	}
	limit := percentOf(cmd.maxConcurrency, len(cmd.invocations), 1)
	invs := slices.Clone(cmd.invocations)
	ctx := s.exec.ctx
	s.exec.wg.Add(1)
	go func() {
		defer s.exec.wg.Done()
		select {
		case <-time.After(s.opts.Tick):
		case <-ctx.Done():
			return
		}
		sem := make(chan struct{}, limit)
		var wg sync.WaitGroup
		defer wg.Wait()
		for _, inv := range invs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.runInvocation(ctx, inv)
			}()
		}
	}()
}

// percentOf reads "10" or "10%" (of n), at least least.
func percentOf(v string, n, least int) int {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		pct, _ := strconv.Atoi(p)
		return max(least, (pct*n+99)/100)
	}
	k, _ := strconv.Atoi(v)
	return max(least, k)
}

type bashRun struct {
	script, dir string
	env         []string
}

func (s *Server) runInvocation(ctx context.Context, inv *invocation) {
	select {
	case s.exec.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.exec.slots }()
	_, _ = s.hostBinDir() // made once, outside the lock

	now := s.lock()
	cmd, ci := inv.cmd, inv.instance
	if inv.status != ssmtypes.CommandInvocationStatusPending {
		s.unlock() // cancelled before it started
		return
	}
	if _, _, _, errs := cmd.status(); int(errs) > percentOf(cmd.maxErrors, len(cmd.invocations), 0) {
		// MaxErrors reached: the rest is not sent.
		inv.status, inv.details, inv.end = ssmtypes.CommandInvocationStatusCancelled, "Terminated", now
		s.unlock()
		return
	}
	inv.status, inv.details, inv.start = ssmtypes.CommandInvocationStatusInProgress, "InProgress", now
	if ci.isWindows() {
		inv.status, inv.details, inv.end = ssmtypes.CommandInvocationStatusFailed, "Failed", now
		inv.stderr = "awsfake: AWS-RunShellScript is a Linux document; it does not run on Windows instance " + ci.ec2ID
		s.unlock()
		return
	}
	runCtx, cancel := context.WithTimeout(ctx, cmd.execTimeout)
	inv.cancel = cancel
	run := bashRun{
		script: strings.Join(cmd.params["commands"], "\n"),
		dir:    filepath.Join(ci.sysDir, "orchestration", cmd.id),
		env:    s.invocationEnv(ci),
	}
	s.unlock()

	stdout, stderr, code, err := s.runBash(runCtx, run)
	ctxErr := runCtx.Err()
	cancel()

	now = s.lock()
	defer s.unlock()
	inv.cancel = nil
	inv.end, inv.stdout, inv.stderr, inv.code = now, stdout, stderr, int32(code)
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		// The agent kills the process group; 137 is its Linux code for a
		// command stopped before completion (amazon-ssm-agent appconfig).
		inv.status, inv.details, inv.code = ssmtypes.CommandInvocationStatusTimedOut, "ExecutionTimedOut", 137
	case ctxErr != nil:
		inv.status, inv.details, inv.code = ssmtypes.CommandInvocationStatusCancelled, "Cancelled", 137
	case err != nil:
		inv.status, inv.details, inv.code = ssmtypes.CommandInvocationStatusFailed, "Failed", 1
		inv.stderr += "failed to run commands: " + err.Error()
	case code == 0:
		inv.status, inv.details = ssmtypes.CommandInvocationStatusSuccess, "Success"
	default:
		inv.status, inv.details = ssmtypes.CommandInvocationStatusFailed, "Failed"
	}
	s.applyAgentLog(ci, now)
}

// invocationEnv is the environment the SSM agent gives the commands, plus
// the endpoints that point the instance's tools at the fake.
func (s *Server) invocationEnv(ci *containerInstance) []string {
	hostBin, _ := s.hostBinDir()
	return []string{
		"PATH=" + filepath.Join(ci.sysDir, "bin") + string(os.PathListSeparator) + hostBin,
		"HOME=" + filepath.Join(ci.sysDir, "home"),
		"AWS_SSM_INSTANCE_ID=" + ci.ec2ID,
		"AWS_SSM_REGION_NAME=" + s.opts.Region,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + s.IMDSEndpoint(ci.ec2ID),
		"AWS_ENDPOINT_URL_SSM=" + s.url,
		"ECS_REGISTRY_ROTATE_CONFIG_FILE=" + ci.configPath(),
	}
}

// maxCapture bounds what the fake keeps of each stream.
const maxCapture = 1 << 20

type capped struct {
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	if room := maxCapture - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// runBash runs the script; code is its exit status (128+signal when a
// signal ended it). err: bash could not run at all.
func (s *Server) runBash(ctx context.Context, r bashRun) (stdout, stderr string, code int, err error) {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return "", "", -1, err
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return "", "", -1, err
	}
	var out, errb capped
	c := exec.CommandContext(ctx, bash, "-c", r.script)
	c.Dir, c.Env = r.dir, r.env
	c.Stdout, c.Stderr = &out, &errb
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	runErr := c.Run()
	stdout, stderr = out.buf.String(), errb.buf.String()
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
		return stdout, stderr, 0, nil
	case errors.As(runErr, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return stdout, stderr, 128 + int(ws.Signal()), nil
		}
		return stdout, stderr, exitErr.ExitCode(), nil
	case ctx.Err() != nil:
		return stdout, stderr, -1, nil
	}
	return stdout, stderr, -1, runErr
}

// applyAgentLog applies what the instance's stubs logged since last time:
// a restart (or upstart start) restarts the agent, a stop without a start
// leaves it down. Called under the lock.
func (s *Server) applyAgentLog(ci *containerInstance, now time.Time) {
	f, err := os.Open(filepath.Join(ci.sysDir, "agent.log"))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(ci.logOffset, io.SeekStart); err != nil {
		return
	}
	b, _ := io.ReadAll(f)
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return
	}
	ci.logOffset += int64(end + 1)
	for _, line := range strings.Split(string(b[:end]), "\n") {
		verb, ts, _ := strings.Cut(strings.TrimSpace(line), " ")
		at := now
		if secs, err := strconv.ParseFloat(ts, 64); err == nil {
			at = time.Unix(0, int64(secs*float64(time.Second))).Truncate(time.Millisecond)
		}
		switch verb {
		case "restart", "start":
			s.world.restartAgent(ci, at, now)
		case "stop":
			s.world.stopAgent(ci)
		default:
			fmt.Fprintf(os.Stderr, "awsfake: %s: unreadable agent.log line %q\n", ci.ec2ID, line)
		}
	}
}
