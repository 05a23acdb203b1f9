package rotate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
)

// ecsConfigSteps is the pipeline of ecs-config mode: verify, rewrite
// ecs.config on every instance, then roll the services with the same deploy
// and watch as secrets-manager mode.
func (r *runner) ecsConfigSteps(ctx context.Context, p plan.Plan) {
	if !r.verify(ctx, p) || !r.lock(ctx, p) {
		return
	}
	r.cleanupStaleParameters(ctx)
	res, ok := r.applyECSConfig(ctx, p)
	if !ok {
		r.rollbackIfFailed(ctx)
		return
	}
	// Every file already held the credentials: a re-run. An agent restarted
	// on the way (AL1's cannot tell when it started) loads the same ones;
	// services deployed before the files were written are rolled, the
	// others' current deployments checked.
	if res.Count(ecsconfig.StatusUpdated) == 0 {
		r.rep.Infof("every instance already holds these credentials: nothing written")
		r.rerun(ctx, p, staleSince(p, res))
		r.rollbackIfFailed(ctx)
		return
	}
	r.run.Result = report.ResultSuccess
	if !r.cfg.ForceNewDeployment {
		return
	}
	deployments, ok := r.deploy(ctx, targets(p))
	if ok && r.cfg.Wait {
		r.watch(ctx, deployments, nil)
	}
	r.rollbackIfFailed(ctx)
}

// staleSince are the services whose current deployment started before the
// newest of the instances' ecs.config files was written: their tasks pulled
// with what the agents had loaded before.
func staleSince(p plan.Plan, res ecsconfig.Result) []plan.Service {
	var written time.Time
	for _, o := range res.Instances {
		if o.ConfigWritten.After(written) {
			written = o.ConfigWritten
		}
	}
	var stale []plan.Service
	for _, s := range p.Services {
		if !s.DeployedAt.IsZero() && s.DeployedAt.Before(written) {
			stale = append(stale, s)
		}
	}
	return stale
}

// ecsConfigOptions are the options of Apply and Rollback for this run.
func (r *runner) ecsConfigOptions(p plan.Plan, payload []byte) ecsconfig.Options {
	return ecsconfig.Options{
		Cluster: r.cfg.Cluster, RunID: r.runID, Transport: ecsconfig.Transport(r.cfg.ECSConfigTransport),
		AuthType: r.cfg.ECSConfigAuthType, RegistryKey: p.RegistryKey, Payload: payload,
		Restart: r.cfg.RestartAgent, Timeout: r.cfg.Timeout, Deadline: r.lockHolder.Deadline, PollInterval: r.cfg.PollInterval,
		FleetSize: len(p.Instances), Log: func(line string) { r.rep.Infof("%s", line) }, Now: r.deps.Now,
		Warn: func(line string) { r.rep.Warningf("%s", line) }, Judge: p.JudgeKeys, Setting: r.cfg.Setting,
	}
}

func (r *runner) applyECSConfig(ctx context.Context, p plan.Plan) (ecsconfig.Result, bool) {
	r.rep.Group(fmt.Sprintf("Rewrite ecs.config on %d container instances", len(p.Instances)))
	defer r.rep.EndGroup()
	payload, err := registryauth.Payload(r.cfg.ECSConfigAuthType, p.RegistryKey, r.cfg.Username, r.cfg.Password)
	if err != nil {
		r.fail(report.StepECSConfig, "registry "+p.RegistryKey, err)
		return ecsconfig.Result{}, false
	}
	if !r.cfg.RestartAgent {
		r.rep.Warningf("restart-agent is false: each ECS agent keeps the credentials it loaded when it started until something restarts it, so new tasks on these instances may still pull with the old credentials")
	}
	if r.cfg.ECSConfigTransport == inputs.TransportInline {
		r.rep.Warningf("ecs-config-transport is inline: the auth data travels inside the SSM command, where ssm:ListCommands shows it to every reader of this account's command history for as long as Systems Manager keeps it; the default, parameter, sends only a parameter's name")
	}
	res, err := ecsconfig.Apply(ctx, r.clients(), instancesOf(p), r.ecsConfigOptions(p, payload))
	r.ecsRes = res
	r.run.Instances = reportInstances(res)
	r.reportCleanup(res)
	if err != nil {
		r.fail(report.StepECSConfig, "", err)
		return res, false
	}
	r.run.Result = report.ResultSuccess
	return res, true
}

// cleanupStaleParameters deletes the parameters that runs killed before
// their end left behind (they hold registry credentials), and names them.
// It cannot stop the rotation: a failure is a warning.
func (r *runner) cleanupStaleParameters(ctx context.Context) {
	deleted, err := ecsconfig.CleanupStale(ctx, r.deps.SSM, r.deps.Now())
	for _, name := range deleted {
		r.rep.Warningf("deleted parameter %s, left with registry credentials by a run that ended before it could delete it (its deadline had passed)", name)
	}
	if err != nil {
		r.rep.Warningf("could not look for parameters left by earlier runs under %s: %v", ecsconfig.ParameterPrefix, awserr.ExplainExpired(err, r.cfg.RoleToAssume != ""))
	}
}

// reportCleanup says so loudly when the run's parameter outlived the run.
func (r *runner) reportCleanup(res ecsconfig.Result) {
	if res.CleanupErr != nil {
		// CleanupErr names the parameter, the command that deletes it and
		// the failed call.
		r.rep.Errorf("parameter not deleted", "%s", awserr.ExplainExpired(res.CleanupErr, r.cfg.RoleToAssume != ""))
	}
}

func (r *runner) clients() ecsconfig.Clients {
	return ecsconfig.Clients{SSM: r.deps.SSM, ECS: r.deps.ECS}
}

func instancesOf(p plan.Plan) []ecsconfig.Instance {
	out := make([]ecsconfig.Instance, len(p.Instances))
	for i, in := range p.Instances {
		out[i] = ecsconfig.Instance{ContainerInstanceARN: in.ContainerInstanceARN, EC2InstanceID: in.EC2InstanceID, Init: in.Init}
	}
	return out
}

// reportInstances is the instances output: each instance's own outcome.
func reportInstances(res ecsconfig.Result) []report.Instance {
	changed := res.Changed()
	out := make([]report.Instance, len(res.Instances))
	for i, o := range res.Instances {
		out[i] = report.Instance{
			ContainerInstanceArn: o.ContainerInstanceARN, EC2InstanceID: o.EC2InstanceID, CommandID: o.CommandID,
			Status: string(o.Status), AgentReconnected: o.AgentReconnected,
			FileChanged:  slices.ContainsFunc(changed, func(c ecsconfig.Instance) bool { return c.EC2InstanceID == o.EC2InstanceID }),
			MaybeChanged: o.MaybeChanged,
			Detail:       o.Detail,
		}
	}
	return out
}

// rollbackInstances restores every instance this run changed from its
// backup, and those an earlier run changed that this one continued from
// that run's backup, and records each one's outcome over the apply's.
func (r *runner) rollbackInstances(ctx context.Context, rb *report.Rollback) error {
	changed := append(r.ecsRes.Changed(), r.ecsRes.Continued()...)
	if len(changed) == 0 {
		return nil
	}
	r.rep.Group(fmt.Sprintf("Roll back: restore ecs.config on %d container instances", len(changed)))
	defer r.rep.EndGroup()
	opts := r.ecsConfigOptions(*r.run.Plan, nil)
	res, err := ecsconfig.Rollback(ctx, r.clients(), changed, opts)
	rb.Instances = reportInstances(res)
	restored := map[string]bool{}
	for _, o := range res.Instances {
		restored[o.EC2InstanceID] = o.Status == ecsconfig.StatusRestored
	}
	for i, in := range r.run.Instances {
		if restored[in.EC2InstanceID] {
			r.run.Instances[i].Status = string(ecsconfig.StatusRestored)
		}
	}
	r.reportCleanup(res)
	return err
}

// newRunID names the run's parameter and the instances' backups: unique per
// run, and [a-z0-9-] as both allow.
func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", now.UTC().Format("20060102t150405"), hex.EncodeToString(b[:]))
}
