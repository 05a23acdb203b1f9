package rollout

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// Deploy forces a new deployment of each target (UpdateService
// forceNewDeployment=true; when opts.MinimumHealthyPercent is set, it sends the
// target's current DeploymentConfiguration with only minimumHealthyPercent
// replaced) and returns, in order, the deployments it started: the id is the
// PRIMARY deployment in UpdateService's response. It stops at the first error
// and returns the deployments started before it with the error, so that the
// caller can still watch and report what it changed.
//
// Each deployment lands once: a call that fails without saying whether it
// was carried out (no answer, a server error) is not sent again before the
// service is read back, and a deployment it started is followed (see update).
//
// Each call first waits for its turn under ECS's UpdateService limit (see
// Pacer): 50 go at once, then 5 a second. ctx done during that wait stops
// Deploy as an error does, with an error that wraps ctx's.
func Deploy(ctx context.Context, api ECS, targets []Target, opts DeployOptions, now func() time.Time) ([]Deployment, error) {
	if now == nil {
		now = time.Now
	}
	pacer := opts.Pacer
	if pacer == nil {
		pacer = processPacer.Load()
	}
	if opts.Log != nil {
		if line := pacer.notice(len(targets)); line != "" {
			opts.Log(line)
		}
	}
	deps := make([]Deployment, 0, len(targets))
	for _, t := range targets {
		if err := pacer.wait(ctx); err != nil {
			return deps, fmt.Errorf("ecs:UpdateService on %s: not sent, stopped while waiting for its turn under ECS's request limit: %w", describeTarget(t), err)
		}
		d, err := deployOne(ctx, newUpdate(api, t, opts, pacer), now)
		if err != nil {
			return deps, err
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// deployOne sends u's UpdateService until it lands, AWS refuses it, or the
// attempts run out.
func deployOne(ctx context.Context, u *update, now func() time.Time) (Deployment, error) {
	for attempt := 1; ; attempt++ {
		out, err := u.send(ctx)
		if err == nil {
			return started(u.t, out, now)
		}
		primary, err := u.afterFailure(ctx, attempt, err)
		if primary != nil {
			return deploymentOf(u.t, primary, now), nil
		}
		if err != nil {
			return Deployment{}, err
		}
	}
}

// started is the deployment UpdateService's response names as PRIMARY.
func started(t Target, out *ecs.UpdateServiceOutput, now func() time.Time) (Deployment, error) {
	if out.Service == nil {
		return Deployment{}, fmt.Errorf("ecs:UpdateService on %s: the response has no service", describeTarget(t))
	}
	primary := primaryDeployment(out.Service.Deployments)
	if primary == nil {
		return Deployment{}, fmt.Errorf("ecs:UpdateService on %s: the response lists no PRIMARY deployment to follow", describeTarget(t))
	}
	return deploymentOf(t, primary, now), nil
}

// deploymentOf is the deployment to follow; its target knows it from now
// on, so that a redeploy does not take it for its own.
func deploymentOf(t Target, primary *ecstypes.Deployment, now func() time.Time) Deployment {
	id := aws.ToString(primary.Id)
	t.KnownDeployments = append(slices.Clip(t.KnownDeployments), id)
	return Deployment{
		Target:         t,
		DeploymentID:   id,
		TaskDefinition: aws.ToString(primary.TaskDefinition),
		DesiredCount:   primary.DesiredCount,
		StartedAt:      now(),
	}
}

// updateInput is the UpdateService call that forces t's new deployment.
func updateInput(t Target, opts DeployOptions) *ecs.UpdateServiceInput {
	in := &ecs.UpdateServiceInput{
		Cluster:            aws.String(t.Cluster),
		Service:            aws.String(serviceRef(t)),
		ForceNewDeployment: true,
	}
	if opts.MinimumHealthyPercent != nil {
		in.DeploymentConfiguration = withMinimumHealthy(t.DeploymentConfiguration, *opts.MinimumHealthyPercent)
	}
	return in
}

// withMinimumHealthy copies the service's configuration so that the caller's
// plan is not changed, and so that UpdateService keeps every other setting
// (circuit breaker, maximumPercent, alarms) as it was.
func withMinimumHealthy(current *ecstypes.DeploymentConfiguration, percent int32) *ecstypes.DeploymentConfiguration {
	var c ecstypes.DeploymentConfiguration
	if current != nil {
		c = *current
	}
	c.MinimumHealthyPercent = aws.Int32(percent)
	return &c
}

func primaryDeployment(deps []ecstypes.Deployment) *ecstypes.Deployment {
	for i := range deps {
		if aws.ToString(deps[i].Status) == "PRIMARY" {
			return &deps[i]
		}
	}
	return nil
}

// serviceRef is what to name the service by in a call: its name, or its ARN
// when the plan has no name.
func serviceRef(t Target) string {
	if t.Service != "" {
		return t.Service
	}
	return t.ServiceArn
}

// describeTarget names a service for a person: "service web in cluster prod".
func describeTarget(t Target) string {
	return fmt.Sprintf("service %s in cluster %s", awsname.Short(serviceRef(t)), awsname.Short(t.Cluster))
}
