package rotate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// fleetStore keeps the credentials in ECS_ENGINE_AUTH_DATA of ecs.config on
// every container instance of the cluster, which the ECS agent reads when
// it starts: apply rewrites the files through SSM Run Command in batches and
// restarts the agents.
type fleetStore struct {
	env
	scope plan.Scope
	creds inputs.Credentials
	conf  inputs.ECSConfigStore
	// timeout and poll bound the commands and the waits for the agents.
	timeout, poll time.Duration
	setting       func(name, value string) string
	fleet         plan.Fleet // as the plan read it
	planned       plan.Plan
	res           ecsconfig.Result // what apply did, for the rollback
	out           *report.FleetStored
}

func newFleetStore(cfg inputs.Config, e env) *fleetStore {
	return &fleetStore{env: e, scope: scopeOf(cfg), creds: cfg.Credentials, conf: cfg.ECSConfigStore,
		timeout: cfg.Timeout, poll: cfg.PollInterval, setting: cfg.Setting, out: &report.FleetStored{}}
}

func (f *fleetStore) plan(ctx context.Context) (plan.Plan, error) {
	p, fleet, err := plan.ForFleet(ctx, f.scope, f.creds, f.conf.ECSConfigAuthType, f.deps.ECS, f.deps.SSM)
	f.fleet, f.out.Planned, f.planned = fleet, fleet, p
	return p, err
}

func (f *fleetStore) report() report.Stored { return f.out }

func (f *fleetStore) step() string { return report.StepECSConfig }

// inPlace: only the instances' preflight can tell, inside apply.
func (f *fleetStore) inPlace(plan.Plan) (bool, []plan.Service) { return false, nil }

// locks are the clusters whose instances apply rewrites.
func (f *fleetStore) locks() []lock.Resource {
	var res []lock.Resource
	for _, in := range f.fleet.Instances {
		res = append(res, lock.Cluster(in.Cluster))
	}
	return res
}

func (f *fleetStore) asPlanned(context.Context) error { return nil }

// apply rewrites ecs.config on every instance. When every file already held
// the credentials (a re-run), an agent restarted on the way (AL1's cannot
// tell when it started) loads the same ones; the services deployed before
// the newest file was written are stale.
func (f *fleetStore) apply(ctx context.Context, p plan.Plan) (bool, []plan.Service, error) {
	f.cleanupStaleParameters(ctx)
	res, err := f.rewrite(ctx, p)
	if err != nil {
		return false, nil, err
	}
	if res.Count(ecsconfig.StatusUpdated) == 0 {
		f.rep.Infof("every instance already holds these credentials: nothing written")
		return false, p.DeployedBefore(lastWritten(res)), nil
	}
	return true, nil, nil
}

// lastWritten is when the newest of the instances' ecs.config files was
// written: services deployed before it pulled with what the agents had
// loaded before.
func lastWritten(res ecsconfig.Result) time.Time {
	var written time.Time
	for _, o := range res.Instances {
		if o.ConfigWritten.After(written) {
			written = o.ConfigWritten
		}
	}
	return written
}

func (f *fleetStore) changed() bool { return len(f.res.Changed()) > 0 }

// options are the options of Apply and Rollback for this run.
func (f *fleetStore) options(services []plan.Service, payload []byte) ecsconfig.Options {
	return ecsconfig.Options{
		RunID: f.runID, Transport: ecsconfig.Transport(f.conf.ECSConfigTransport),
		AuthType: f.conf.ECSConfigAuthType, RegistryKey: f.fleet.RegistryKey, Payload: payload,
		Restart: f.conf.RestartAgent, Timeout: f.timeout, Deadline: f.holder.Deadline, PollInterval: f.poll,
		FleetSizes: fleetSizes(f.fleet), Log: func(line string) { f.rep.Infof("%s", line) }, Now: f.deps.Now,
		Warn:    func(line string) { f.rep.Warningf("%s", line) },
		Judge:   func(keys []string) error { return f.fleet.JudgeKeys(services, keys) },
		Setting: f.setting,
	}
}

// rewrite runs the apply command on every instance.
func (f *fleetStore) rewrite(ctx context.Context, p plan.Plan) (ecsconfig.Result, error) {
	f.rep.Group(fmt.Sprintf("Rewrite ecs.config on %d container instances", len(f.fleet.Instances)))
	defer f.rep.EndGroup()
	payload, err := registryauth.Payload(f.conf.ECSConfigAuthType, f.fleet.RegistryKey, f.creds.Username, f.creds.Password)
	if err != nil {
		return ecsconfig.Result{}, at("registry "+f.fleet.RegistryKey, err)
	}
	if !f.conf.RestartAgent {
		f.rep.Warningf("restart-agent is false: each ECS agent keeps the credentials it loaded when it started until something restarts it, so new tasks on these instances may still pull with the old credentials")
	}
	if f.conf.ECSConfigTransport == inputs.TransportInline {
		f.rep.Warningf("ecs-config-transport is inline: the auth data travels inside the SSM command, where ssm:ListCommands shows it to every reader of this account's command history for as long as Systems Manager keeps it; the default, parameter, sends only a parameter's name")
	}
	res, err := ecsconfig.Apply(ctx, f.clients(), instancesOf(f.fleet), f.options(p.Services, payload))
	f.res = res
	f.out.Instances = reportInstances(res)
	f.reportCleanup(res)
	return res, err
}

// cleanupStaleParameters deletes the parameters that runs killed before
// their end left behind (they hold registry credentials), and names them.
// It cannot stop the rotation: a failure is a warning.
func (f *fleetStore) cleanupStaleParameters(ctx context.Context) {
	deleted, err := ecsconfig.CleanupStale(ctx, f.deps.SSM, f.deps.Now())
	for _, name := range deleted {
		f.rep.Warningf("deleted parameter %s, left with registry credentials by a run that ended before it could delete it (its deadline had passed)", name)
	}
	if err != nil {
		f.rep.Warningf("could not look for parameters left by earlier runs under %s: %v", ecsconfig.ParameterPrefix, awserr.ExplainExpired(err, f.renewing))
	}
}

// reportCleanup says so loudly when the run's parameter outlived the run.
func (f *fleetStore) reportCleanup(res ecsconfig.Result) {
	if res.CleanupErr != nil {
		// CleanupErr names the parameter, the command that deletes it and
		// the failed call.
		f.rep.Errorf("parameter not deleted", "%s", awserr.ExplainExpired(res.CleanupErr, f.renewing))
	}
}

func (f *fleetStore) clients() ecsconfig.Clients {
	return ecsconfig.Clients{SSM: f.deps.SSM, ECS: f.deps.ECS}
}

func instancesOf(fleet plan.Fleet) []ecsconfig.Instance {
	out := make([]ecsconfig.Instance, len(fleet.Instances))
	for i, in := range fleet.Instances {
		out[i] = ecsconfig.Instance{Cluster: in.Cluster, ContainerInstanceARN: in.ContainerInstanceARN, EC2InstanceID: in.EC2InstanceID, Init: in.Init}
	}
	return out
}

// fleetSizes are the planned fleet's sizes per cluster: the apply and the
// rollback (given only the changed instances) take at most a quarter of
// each cluster's whole fleet a batch.
func fleetSizes(fleet plan.Fleet) map[string]int {
	sizes := map[string]int{}
	for _, in := range fleet.Instances {
		sizes[in.Cluster]++
	}
	return sizes
}

// reportInstances is the instances output: each instance's own outcome.
func reportInstances(res ecsconfig.Result) []report.Instance {
	changed := res.Changed()
	out := make([]report.Instance, len(res.Instances))
	for i, o := range res.Instances {
		out[i] = report.Instance{
			Cluster:              o.Cluster,
			ContainerInstanceArn: o.ContainerInstanceARN, EC2InstanceID: o.EC2InstanceID, CommandID: o.CommandID,
			Status: string(o.Status), AgentReconnected: o.AgentReconnected,
			FileChanged:  slices.ContainsFunc(changed, func(c ecsconfig.Instance) bool { return c.EC2InstanceID == o.EC2InstanceID }),
			MaybeChanged: o.MaybeChanged,
			Detail:       o.Detail,
		}
	}
	return out
}

// restore puts back, from its backup, every instance this run changed, and
// those an earlier run changed that this one continued from that run's
// backup, and records each one's outcome over the apply's.
func (f *fleetStore) restore(ctx context.Context) error {
	continued := f.res.Continued(f.rolledSince)
	changed := append(f.res.Changed(), continued...)
	if len(changed) == 0 {
		return nil
	}
	f.sayLeft(continued)
	f.rep.Group(fmt.Sprintf("Roll back: restore ecs.config on %d container instances", len(changed)))
	defer f.rep.EndGroup()
	res, err := ecsconfig.Rollback(ctx, f.clients(), changed, f.options(f.planned.Services, nil))
	restored := map[string]bool{}
	for _, o := range res.Instances {
		restored[o.EC2InstanceID] = o.Status == ecsconfig.StatusRestored
	}
	for i, in := range f.out.Instances {
		if restored[in.EC2InstanceID] {
			f.out.Instances[i].Status = string(ecsconfig.StatusRestored)
		}
	}
	f.reportCleanup(res)
	if err != nil {
		return fmt.Errorf("restore ecs.config: %w", err)
	}
	return nil
}

// rolledSince says whether every service of the plan was deployed after
// written (as the plan found them, before this run deployed): the rotation
// that wrote a file then was finished. An unknown time counts as finished,
// so that a backup of credentials that may be revoked is not put back.
func (f *fleetStore) rolledSince(written time.Time) bool {
	return len(f.planned.DeployedBefore(written)) == 0
}

// sayLeft names the instances that hold these credentials from an earlier,
// finished rotation: the rollback leaves them, as it found them.
func (f *fleetStore) sayLeft(continued []ecsconfig.Instance) {
	var left []string
	for _, o := range f.res.Instances {
		if o.Status == ecsconfig.StatusUnchanged && o.PriorRunID != "" &&
			!slices.ContainsFunc(continued, func(c ecsconfig.Instance) bool { return c.EC2InstanceID == o.EC2InstanceID }) {
			left = append(left, o.EC2InstanceID)
		}
	}
	if len(left) > 0 {
		f.rep.Infof("instances %s held these credentials before this run, written by an earlier rotation that finished (every service rolled after it): the rollback leaves them as they are", strings.Join(left, ", "))
	}
}

// undoByHand says how to put back the instances' backups that a cancelled
// run left, and where they are: each instance's own path, which is not
// /etc/ecs/ecs.config where that is a symlink.
func (f *fleetStore) undoByHand([]rollout.Deployment, *report.Rollback) string {
	suffix := ".ecs-registry-rotate-" + f.runID + ".bak"
	backups := map[string]string{}
	for _, o := range f.res.Instances {
		if strings.HasSuffix(o.Backup, suffix) {
			backups[o.EC2InstanceID] = o.Backup
		}
	}
	var order []string
	byConfig := map[string][]string{}
	for _, in := range f.out.Instances {
		if !in.FileChanged && !in.MaybeChanged {
			continue
		}
		config := "/etc/ecs/ecs.config"
		if b, ok := backups[in.EC2InstanceID]; ok {
			config = strings.TrimSuffix(b, suffix)
		}
		if byConfig[config] == nil {
			order = append(order, config)
		}
		byConfig[config] = append(byConfig[config], in.EC2InstanceID)
	}
	if len(order) == 0 {
		return ""
	}
	var where []string
	for _, config := range order {
		where = append(where, fmt.Sprintf("on instances %s, where %s exists, copy it over %s",
			strings.Join(byConfig[config], ", "), config+suffix, config))
	}
	return strings.Join(where, "; ") + " (keeping that file's mode and owner) and restart the ECS agent (systemctl restart ecs; on Amazon Linux 1: stop ecs; start ecs), then force a new deployment of the services"
}

// newRunID names the run's parameter and the instances' backups: unique per
// run, and [a-z0-9-] as both allow.
func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", now.UTC().Format("20060102t150405"), hex.EncodeToString(b[:]))
}
