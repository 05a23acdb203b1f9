package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/secret"
)

// rollbackIfFailed puts the previous credentials back when the rollout
// failed after they were replaced, and rolls the services again onto them.
// It does not run when nothing was written, nor on cancel: a cancelled job
// has no time left, and its annotation says how to do it by hand.
func (r *runner) rollbackIfFailed(ctx context.Context) {
	f := r.run.Failure
	if f == nil || !r.cfg.RollbackOnFailure || ctx.Err() != nil || !r.credentialsChanged() {
		return
	}
	if f.Step != report.StepDeploy && f.Step != report.StepRollout && f.Step != report.StepECSConfig {
		return
	}
	rb := &report.Rollback{}
	r.run.Rollback = rb
	if r.cfg.AuthMode == inputs.ModeECSConfig {
		if err := r.rollbackInstances(ctx, rb); err != nil {
			rb.Err = fmt.Errorf("restore ecs.config: %w", err)
			return
		}
	} else if !r.restoreSecret(ctx, rb) {
		return
	}
	r.rollServicesBack(ctx, rb)
	if rb.Err == nil {
		r.run.Result = report.ResultRolledBack
	}
}

// credentialsChanged reports whether this run replaced any credentials.
func (r *runner) credentialsChanged() bool {
	return (r.run.Secret != nil && r.run.Secret.Changed) || len(r.ecsRes.Changed()) > 0
}

// restoreSecret moves AWSCURRENT back; false when it could not.
func (r *runner) restoreSecret(ctx context.Context, rb *report.Rollback) bool {
	r.rep.Group("Roll back: move AWSCURRENT back to version " + r.run.Secret.PreviousVersionID)
	defer r.rep.EndGroup()
	restored, err := secret.Restore(ctx, r.deps.Secrets, *r.run.Secret)
	rb.Secret = &restored
	if err != nil {
		rb.Err = fmt.Errorf("restore the secret: %w", err)
		return false
	}
	r.rep.Infof("secret %s: AWSCURRENT is version %s again", restored.Name, restored.VersionID)
	return true
}

// rollServicesBack forces a new deployment of every service this run rolled,
// and watches it with a timeout budget of its own.
func (r *runner) rollServicesBack(ctx context.Context, rb *report.Rollback) {
	if len(r.run.Deployments) == 0 || !r.cfg.ForceNewDeployment {
		return
	}
	targets := make([]rollout.Target, len(r.run.Deployments))
	for i, d := range r.run.Deployments {
		targets[i] = d.Target
	}
	r.rep.Group(fmt.Sprintf("Roll back: deploy %d services on the previous credentials", len(targets)))
	deps, err := rollout.Deploy(ctx, r.deps.ECS, targets, rollout.DeployOptions{MinimumHealthyPercent: r.cfg.MinimumHealthyPercent}, r.deps.Now)
	r.logDeployments(deps)
	r.rep.EndGroup()
	rb.Deployments = deps
	if err != nil {
		rb.Err = fmt.Errorf("redeploy the services: %w", err)
		return
	}
	if !r.cfg.Wait {
		return
	}
	result, err := r.follow(ctx, "Roll back: wait for", deps, false)
	rb.Watch = &result
	if err != nil {
		rb.Err = fmt.Errorf("roll the services back: %w", err)
	}
}

// undoByHand is the commands that undo what the run changed, for the
// annotation of a cancelled run; "" when nothing needs undoing.
func (r *runner) undoByHand() string {
	if r.cfg.AuthMode == inputs.ModeECSConfig {
		return r.restoreInstancesByHand()
	}
	s := r.run.Secret
	if s == nil || !s.Changed {
		return ""
	}
	// A rollback cancelled half-way may already have done part of it: what
	// it did is not to be done again.
	rb := r.run.Rollback
	restored := rb != nil && rb.Secret != nil && !rb.Secret.Unknown && rb.Secret.VersionID == s.PreviousVersionID
	var steps []string
	if !restored {
		steps = append(steps, secret.RestoreCommand(*s))
	}
	for _, d := range r.run.Deployments {
		if restored && slices.ContainsFunc(rb.Deployments, func(b rollout.Deployment) bool { return b.Service == d.Service && b.Cluster == d.Cluster }) {
			continue // already redeployed on the previous credentials
		}
		steps = append(steps, fmt.Sprintf("aws ecs update-service --cluster %s --service %s --force-new-deployment",
			awsname.Short(d.Cluster), serviceOrARN(d.Target)))
	}
	return strings.Join(steps, "; then ")
}

func serviceOrARN(t rollout.Target) string {
	if t.Service != "" {
		return t.Service
	}
	return awsname.Short(t.ServiceArn)
}

// restoreInstancesByHand says how to put back the instances' backups that a
// cancelled ecs-config run left, and where they are.
func (r *runner) restoreInstancesByHand() string {
	var ids []string
	for _, in := range r.run.Instances {
		if in.FileChanged || in.MaybeChanged {
			ids = append(ids, in.EC2InstanceID)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	suffix := ".ecs-registry-rotate-" + r.runID + ".bak"
	config := "/etc/ecs/ecs.config"
	for _, o := range r.ecsRes.Instances {
		if strings.HasSuffix(o.Backup, suffix) {
			config = strings.TrimSuffix(o.Backup, suffix) // the real path, when /etc/ecs/ecs.config is a symlink
			break
		}
	}
	backup := config + suffix
	return fmt.Sprintf("on instances %s, where %s exists, copy it over %s (keeping that file's mode and owner) and restart the ECS agent (systemctl restart ecs; on Amazon Linux 1: stop ecs; start ecs), then force a new deployment of the services",
		strings.Join(ids, ", "), backup, config)
}
