package ecsconfig

import (
	"fmt"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// The script's modes.
const (
	modePreflight = script.ModePreflight
	modeApply     = script.ModeApply
	modeRollback  = script.ModeRollback
)

// params are the script's inputs for inst in mode. Under the parameter
// transport they carry only the parameter's name; a rollback reads no auth
// data and carries none.
func (r *runner) params(mode string, inst Instance) script.Params {
	p := script.Params{
		Mode:        mode,
		RunID:       inst.runID(r.o.RunID),
		Transport:   string(r.o.Transport),
		AuthType:    r.o.AuthType,
		RegistryKey: r.o.RegistryKey,
		Init:        inst.Init,
		Restart:     r.o.Restart,
	}
	p.ReadBudget, p.LockWait = r.scriptWaits()
	switch {
	case mode == modeRollback:
	case r.o.Transport == TransportParameter:
		p.Parameter = ParameterName(r.o.RunID)
	default:
		p.InlineB64 = r.inlineB64
	}
	return p
}

// scriptWaits share the command's executionTimeout between the script's
// two waits, the read of the parameter (under throttling) and another
// delivery's lock, so that a script that waits for both still ends before
// SSM stops it: for the read at most a minute, half the timeout, and a
// second less than the timeout but the margin; for the lock the rest but
// the margin. Under 12 s (a second for each wait, and the margin) each
// wait is a second and they no longer fit.
func (r *runner) scriptWaits() (read, lock time.Duration) {
	exec := r.o.ExecutionTimeout.Truncate(time.Second)
	read = min(script.DefaultReadBudget, max(time.Second, min(exec/2, exec-scriptMargin-time.Second).Truncate(time.Second)))
	lock = max(time.Second, exec-read-scriptMargin)
	return read, lock
}

// scriptMargin is what the script keeps of its executionTimeout for its
// own work beside its waits.
const scriptMargin = 10 * time.Second

// commands are the AWS-RunShellScript lines for inst in mode.
func (r *runner) commands(mode string, inst Instance) []string {
	return script.Commands(r.params(mode, inst))
}

// checkInputs refuses, before anything is written, what the script would
// refuse on every instance: bad parameters, or a payload that is not one
// member for RegistryKey of AuthType. Its messages never quote the payload.
func (r *runner) checkInputs(mode string) error {
	if mode != modeRollback {
		if err := script.CheckPayload(encodePayload(r.o.Payload), r.o.RegistryKey, r.o.AuthType); err != nil {
			return fmt.Errorf("ecs-config: the auth data for %s: %w", r.o.RegistryKey, err)
		}
	}
	for _, inst := range r.insts {
		if err := r.params(mode, inst).Validate(); err != nil {
			return fmt.Errorf("ecs-config: %s: %w", nameInstance(inst), err)
		}
	}
	return nil
}

// scriptResult is what the script's last line said.
type scriptResult struct {
	found   bool // a result line was found
	ok      bool
	file    string    // ok: updated, unchanged, restored, checked
	agent   string    // ok: restarted, not-restarted, restart-not-needed
	written time.Time // ok: when the config was last written, by the instance's clock
	code    string    // error: its code
	message string    // error: its message, untrusted
	// The ok line's other fields and the notes (script.Result); untrusted.
	prior, backup string
	pruned        int
	keys, dormant []string
	keysComplete  bool // keys names every key of the new data
}

// maxMessage caps the instance's message quoted in an error.
const maxMessage = 300

// parseOutput reads the script's result from a plugin's Output (stdout, a
// marker line, stderr, cut to 2,500 characters).
func parseOutput(output string) scriptResult {
	res := script.ParseOutput(output)
	switch {
	case res.OK:
		return scriptResult{found: true, ok: true, file: res.File, agent: res.Agent, written: res.Written,
			prior: res.Prior, backup: res.Backup, pruned: res.Pruned, keys: res.Keys, dormant: res.DormantKeys,
			keysComplete: res.Keys != nil && res.KeysOmitted == 0}
	case res.Code == script.CodeNoResult:
		return scriptResult{}
	}
	return scriptResult{found: true, code: res.Code, message: capText(res.Message, maxMessage)}
}

func capText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
