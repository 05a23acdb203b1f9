package ecsconfig

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

// Apply writes the auth data into every instance's ecs.config.
//
// Under the parameter transport it first creates the run's SecureString
// parameter, and deletes it when every invocation has ended, whether the step
// succeeded, failed or was cancelled (Result.CleanupErr says when the delete
// failed). Under the inline transport the data goes into the commands, and
// the caller warns that ssm:ListCommands shows it.
//
// It runs the read-only preflight on every instance; if any fails, no
// instance is changed and the error is an *Error of StepPreflight. Then it
// changes the instances in batches of at most a quarter of each cluster's
// fleet (see Options.FleetSizes), the clusters side by side: a batch starts
// only when its commands and those before it ended and every agent they
// restarted was seen connected again. The first instance that fails
// (command failed or timed out, agent not back) ends the step after its
// batch, with an *Error of StepApply; the instances not reached are skipped.
//
// The Result is complete even with an error: it says what changed. On
// cancellation or timeout the error wraps ctx's error and the instances whose
// commands were still running are failed with a Detail that says the file may
// have changed.
func Apply(ctx context.Context, c Clients, instances []Instance, o Options) (res Result, err error) {
	r, err := newRunner(c, instances, o)
	if err != nil {
		return r.res, err
	}
	if len(r.o.Payload) == 0 {
		return r.res, errors.New("ecs-config: no auth data to write")
	}
	if r.o.Transport == TransportInline {
		r.inlineB64 = encodePayload(r.o.Payload)
	}
	if err := r.checkInputs(modeApply); err != nil {
		return r.res, err
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if r.o.Transport == TransportParameter {
		defer func() {
			r.deleteParameter(ctx)
			res = r.res
		}()
		if err := r.putParameter(ctx); err != nil {
			return r.res, err
		}
	}
	if err := r.preflight(ctx); err != nil {
		return r.res, err
	}
	return r.res, r.batches(ctx, modeApply)
}

// Rollback puts back each instance's backup of this run (Options.RunID)
// and restarts its agent, in the same batches as Apply, waiting for the
// agents the same way. Restored instances are StatusRestored. Pass the
// instances of Result.Changed and Options.FleetSizes (each cluster's whole
// fleet, as for Apply).
func Rollback(ctx context.Context, c Clients, instances []Instance, o Options) (Result, error) {
	r, err := newRunner(c, instances, o)
	if err != nil {
		return r.res, err
	}
	if err := r.checkInputs(modeRollback); err != nil {
		return r.res, err
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if err := r.batches(ctx, modeRollback); err != nil {
		return r.res, stillNew{err: err, instances: r.notRestored()}
	}
	return r.res, nil
}

// notRestored are the instances a rollback did not put back: they still
// hold the new credentials.
func (r *runner) notRestored() []string {
	var ids []string
	for _, o := range r.res.Instances {
		if o.Status != StatusRestored {
			ids = append(ids, o.EC2InstanceID)
		}
	}
	return ids
}

// stillNew is a rollback's error that names every instance left holding
// the new credentials, failed or not reached.
type stillNew struct {
	err       error
	instances []string
}

func (e stillNew) Error() string {
	return fmt.Sprintf("%v; still holding the new credentials: %s", e.err, strings.Join(e.instances, ", "))
}

func (e stillNew) Unwrap() error { return e.err }

// sendAll sends mode to insts and adds the second deliveries of what it
// sent, so that every command that runs is waited for.
func (r *runner) sendAll(ctx context.Context, mode string, insts []Instance) ([]*sentCommand, error) {
	cmds, sendErr := r.send(ctx, mode, insts)
	dups, dupErr := r.duplicates(ctx, cmds)
	return append(cmds, dups...), errors.Join(sendErr, dupErr)
}

// runner is one Apply or Rollback.
type runner struct {
	c         Clients
	o         Options
	insts     []Instance     // as given, each with its cluster filled in
	clusters  []string       // the instances' clusters, each once, in order of appearance
	sizes     map[string]int // by clusterKey: the fleet a batch takes a quarter of
	res       Result
	byID      map[string]int // EC2 instance id → index in res.Instances
	inlineB64 string
	lastErr   error // the last failed look, retried at the next poll
	calls     int   // SendCommand calls so far: each comment is numbered
	// started is when the step began: the run's commands are listed
	// from then on.
	started time.Time
}

func newRunner(c Clients, instances []Instance, o Options) (*runner, error) {
	r := &runner{c: c, byID: map[string]int{}, started: time.Now()}
	for i, inst := range instances {
		inst.Cluster = cmp.Or(inst.Cluster, o.Cluster)
		r.insts = append(r.insts, inst)
		r.res.Instances = append(r.res.Instances, Outcome{Instance: inst, Status: StatusSkipped, Detail: "not reached"})
		r.byID[inst.EC2InstanceID] = i
	}
	o, err := o.withDefaults()
	r.o = o
	if err != nil {
		return r, err
	}
	if len(instances) == 0 {
		return r, errors.New("ecs-config: no container instances to change")
	}
	seen := map[string]bool{}
	for _, inst := range instances {
		if inst.EC2InstanceID == "" || inst.ContainerInstanceARN == "" {
			return r, fmt.Errorf("ecs-config: container instance %q (EC2 instance %q): both ids are needed", inst.ContainerInstanceARN, inst.EC2InstanceID)
		}
		if seen[inst.EC2InstanceID] {
			return r, fmt.Errorf("ecs-config: EC2 instance %s is listed twice", inst.EC2InstanceID)
		}
		seen[inst.EC2InstanceID] = true
		if inst.Init != "systemd" && inst.Init != "upstart" {
			return r, fmt.Errorf("ecs-config: %s: init system %q is neither systemd nor upstart", nameInstance(inst), inst.Init)
		}
	}
	if err := checkClusters(r.insts); err != nil {
		return r, err
	}
	return r, r.sizeFleets()
}

// bound gives ctx the step's timeout; its cause says which timeout passed.
func (r *runner) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.o.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, r.o.Timeout,
		fmt.Errorf("the timeout of %s passed: %w", r.o.Timeout, context.DeadlineExceeded))
}

func (r *runner) log(line string) { r.o.Log(line) }

func (r *runner) outcome(id string) *Outcome { return &r.res.Instances[r.byID[id]] }

// preflight runs the read-only check on every instance. Its error says that
// nothing was changed.
func (r *runner) preflight(ctx context.Context) error {
	r.log(fmt.Sprintf("preflight: read-only check of %d instances%s", len(r.insts), r.inClusters()))
	start := time.Now()
	cmds, sendErr := r.sendAll(ctx, modePreflight, r.insts)
	for _, c := range cmds {
		r.res.PreflightCommandIDs = append(r.res.PreflightCommandIDs, c.id)
		for _, id := range c.instances {
			if !c.duplicate {
				r.outcome(id).CommandID = c.id
			}
		}
	}
	invs, waitErr := r.wait(ctx, cmds)
	r.cancelUnfinished(ctx, cmds)
	if sendErr != nil || waitErr != nil {
		err := errors.Join(sendErr, waitErr)
		for i := range r.res.Instances {
			r.res.Instances[i].Detail = "not changed: the preflight did not finish"
		}
		return fmt.Errorf("preflight: %w; no instance was changed", err)
	}
	var failed []Outcome
	for _, c := range cmds {
		if c.duplicate {
			continue // its instances are judged with the command it repeats
		}
		for _, id := range c.instances {
			inv := invs[id]
			o := r.outcome(id)
			if inv.succeeded() {
				if o.ErrorCode, o.Detail, o.Hint = r.agentView(id, parseOutput(inv.output)); o.ErrorCode == "" {
					continue
				}
			} else {
				o.ErrorCode, o.Detail, o.Hint = r.failureOf(c, inv, time.Since(start))
			}
			o.Status, o.At = StatusFailed, r.o.Now()
			failed = append(failed, *o)
		}
	}
	if len(failed) == 0 {
		r.warnBeyondPrefix(cmds, invs)
		r.log(fmt.Sprintf("preflight: all %d instances passed", len(r.insts)))
		return nil
	}
	for i := range r.res.Instances {
		if r.res.Instances[i].Status == StatusSkipped {
			r.res.Instances[i].Detail = "not changed: the preflight failed on other instances"
		}
	}
	r.log(fmt.Sprintf("preflight: %d of %d instances failed; no instance was changed", len(failed), len(r.insts)))
	return &Error{Step: StepPreflight, Failed: r.inOrder(failed), Total: len(r.insts), Skipped: len(r.insts) - len(failed), Clusters: len(r.clusters)}
}

// warnBeyondPrefix names the instances whose agent may also use a rotated
// path key for images of its host outside the path (no key for the host
// itself): those images are not this run's to roll or verify.
func (r *runner) warnBeyondPrefix(cmds []*sentCommand, invs map[string]invocation) {
	var ids []string
	for _, c := range cmds {
		for _, id := range c.instances {
			if !c.duplicate && registryauth.BeyondPrefix(parseOutput(invs[id].output).keys, r.o.RegistryKey) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	key := strings.TrimPrefix(r.o.RegistryKey, "https://")
	host, _, _ := strings.Cut(key, "/")
	r.o.Warn(fmt.Sprintf("on instances %s, ECS_ENGINE_AUTH_DATA has no key for %s itself, so for an image of %s that no key's path starts, the agent takes any key of the host, %s among them: such images (outside %s) may pull with the new credentials too, and this run neither rolls nor verifies them; add a key for %s to keep them apart",
		strings.Join(ids, ", "), host, host, key, key, host))
}

// agentView judges what the agent of instance id will read after the
// rewrite, from the keys its preflight reported: an error code, detail and
// hint when the rotated credentials are not the ones the agent will use.
// Keys that the rewrite makes live are warned of.
func (r *runner) agentView(id string, res scriptResult) (code, detail, hint string) {
	if len(res.dormant) > 0 {
		r.o.Warn(fmt.Sprintf("%s: ECS_ENGINE_AUTH_DATA was unreadable to the agent until now (quoted, or not valid JSON), so it pulled anonymously; the rewrite makes these other registries' entries live again: %s",
			id, strings.Join(res.dormant, ", ")))
	}
	if r.o.Judge == nil {
		return "", "", ""
	}
	if !res.keysComplete {
		return codeAgentView, "the preflight did not report every registry key ecs.config will hold, so which one the agent will use for each image is unknown", ""
	}
	if err := r.o.Judge(res.keys); err != nil {
		return codeAgentView, err.Error(), "The agent picks, for each image, the longest key on its host that the image starts with: rotate that key (" +
			r.o.Setting("registry", "ghcr.io/org") + " names a path key), or remove the key that captures the images from ECS_ENGINE_AUTH_DATA."
	}
	return "", "", ""
}

// codeAgentView marks a preflight that passed on the instance but whose
// keys would have the agent pull with other credentials than the rotated.
const codeAgentView = "agent-view"

// batches runs mode (apply or rollback) a quarter of each cluster's fleet
// at a time (fleetBatches).
func (r *runner) batches(ctx context.Context, mode string) error {
	groups := r.fleetBatches()
	for i, g := range groups {
		label := fmt.Sprintf("%s: batch %d of %d", mode, i+1, len(groups))
		r.log(fmt.Sprintf("%s: %s", label, r.describeBatch(g)))
		failed, err := r.runBatch(ctx, mode, label, g)
		if err == nil && len(failed) == 0 {
			continue
		}
		stopped := fmt.Sprintf("not changed: the %s stopped at batch %d of %d", mode, i+1, len(groups))
		if r.several() && len(failed) > 0 {
			stopped += " after failures in " + clustersOf(failed)
		}
		for j := range r.res.Instances {
			if o := &r.res.Instances[j]; o.Status == StatusSkipped {
				o.Detail = stopped
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		step := StepApply
		if mode == modeRollback {
			step = StepRollback
		}
		return &Error{Step: step, Failed: r.inOrder(failed), Total: len(r.insts),
			Changed: r.res.Count(StatusUpdated) + r.res.Count(StatusRestored), Skipped: r.res.Count(StatusSkipped), Clusters: len(r.clusters)}
	}
	r.log(fmt.Sprintf("%s: done on all %d instances%s", mode, len(r.insts), r.inClusters()))
	return nil
}

// runBatch runs mode on g, waits for the commands and then for the agents.
// It returns the instances that failed, and an error when the batch could not
// be followed to its end (a SendCommand failed, ctx ended, access denied).
func (r *runner) runBatch(ctx context.Context, mode, label string, g []Instance) ([]Outcome, error) {
	start := time.Now()
	cmds, sendErr := r.sendAll(ctx, mode, g)
	sentTo := map[string]*sentCommand{}
	for _, c := range cmds {
		for _, id := range c.instances {
			if sentTo[id] != nil {
				continue // a second delivery: the first names the instance's command
			}
			sentTo[id] = c
			o := r.outcome(id)
			o.CommandID, o.Detail = c.id, ""
		}
	}
	invs, waitErr := r.wait(ctx, cmds)
	r.cancelUnfinished(ctx, cmds)

	var succeeded, failed []Instance
	for _, inst := range g {
		c := sentTo[inst.EC2InstanceID]
		if c == nil {
			continue // not sent: stays skipped
		}
		o := r.outcome(inst.EC2InstanceID)
		o.At = r.o.Now()
		inv := invs[inst.EC2InstanceID]
		switch {
		case inv.succeeded():
			res := parseOutput(inv.output)
			o.Status, o.Agent, o.ConfigWritten = settledStatus(mode, res.file), res.agent, res.written
			o.Backup = res.backup
			if res.prior != inst.runID(r.o.RunID) {
				o.PriorRunID = res.prior
			}
			if res.pruned > 0 {
				backups := "backups"
				if res.pruned == 1 {
					backups = "backup"
				}
				r.log(fmt.Sprintf("%s: %s: deleted %d older ecs.config %s (they held old credentials; the newest two are kept)", mode, inst.EC2InstanceID, res.pruned, backups))
			}
			succeeded = append(succeeded, inst)
		case !inv.ended() && waitErr != nil:
			o.Status = StatusFailed
			o.Detail = fmt.Sprintf("the run stopped while command %s ran on it (last status: %s): its ecs.config may have been changed, and a backup kept", c.id, orUnknown(string(inv.status)))
			o.MaybeChanged = true
			failed = append(failed, inst)
		default:
			o.Status = StatusFailed
			o.ErrorCode, o.Detail, o.Hint = r.failureOf(c, inv, time.Since(start))
			failed = append(failed, inst)
		}
	}
	if waitErr != nil {
		return r.outcomes(failed), errors.Join(sendErr, waitErr)
	}
	r.log(fmt.Sprintf("%s: commands ended: %s; waiting for %d agents to connect again", label, r.tally(g), len(succeeded)))

	// Every instance whose command ran is looked at; only the ones that
	// succeeded are waited for (a failed one fails the run anyway).
	views, agentErr := r.waitAgents(ctx, succeeded, failed)
	for _, inst := range append(append([]Instance(nil), succeeded...), failed...) {
		r.outcome(inst.EC2InstanceID).AgentReconnected = views[agentKey(inst.ContainerInstanceARN)].connected
	}
	if agentErr != nil {
		return r.outcomes(failed), errors.Join(sendErr, agentErr)
	}
	var notBack []Instance
	for _, inst := range succeeded {
		v := views[agentKey(inst.ContainerInstanceARN)]
		if v.connected {
			continue
		}
		o := r.outcome(inst.EC2InstanceID)
		o.Detail = fmt.Sprintf("its ECS agent was not connected again within %s after command %s ended", r.o.AgentTimeout, o.CommandID)
		if v.gone != "" {
			o.Detail = fmt.Sprintf("its ECS agent will not connect again after command %s: %s", o.CommandID, v.gone)
		} else if !v.seen && r.lastErr != nil {
			o.Detail += fmt.Sprintf(" (the last failed look: %v)", r.lastErr)
		}
		notBack = append(notBack, inst)
	}
	if len(notBack) == 0 {
		r.log(fmt.Sprintf("%s: every agent is connected again (%s)", label, time.Since(start).Round(time.Second)))
	} else {
		r.log(fmt.Sprintf("%s: %d agents did not connect again", label, len(notBack)))
	}
	return r.outcomes(append(failed, notBack...)), sendErr
}

// settledStatus is the status of an instance whose command succeeded, from
// the script's file=... word. When the word is missing (SSM cuts the output
// to 2,500 characters) an apply counts as updated, so that a rollback does
// not leave it out.
func settledStatus(mode, file string) Status {
	switch {
	case mode == modeRollback:
		return StatusRestored
	case file == "unchanged":
		return StatusUnchanged
	default:
		return StatusUpdated
	}
}

// tally counts the statuses of g for a progress line.
func (r *runner) tally(g []Instance) string {
	counts := map[Status]int{}
	for _, inst := range g {
		counts[r.outcome(inst.EC2InstanceID).Status]++
	}
	var parts []string
	for _, s := range []Status{StatusUpdated, StatusUnchanged, StatusRestored, StatusFailed, StatusSkipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *runner) outcomes(insts []Instance) []Outcome {
	out := make([]Outcome, len(insts))
	for i, inst := range insts {
		out[i] = *r.outcome(inst.EC2InstanceID)
	}
	return out
}

// inOrder sorts failed outcomes into the order the instances were given.
func (r *runner) inOrder(failed []Outcome) []Outcome {
	want := map[string]bool{}
	for _, o := range failed {
		want[o.EC2InstanceID] = true
	}
	var out []Outcome
	for _, o := range r.res.Instances {
		if want[o.EC2InstanceID] {
			out = append(out, o)
		}
	}
	return out
}

func ids(insts []Instance) string {
	s := make([]string, len(insts))
	for i, inst := range insts {
		s[i] = inst.EC2InstanceID
	}
	return strings.Join(s, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
