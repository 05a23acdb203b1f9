package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
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
		d, err := deployOne(ctx, api, t, opts, now)
		if err != nil {
			return deps, err
		}
		deps = append(deps, d)
	}
	return deps, nil
}

func deployOne(ctx context.Context, api ECS, t Target, opts DeployOptions, now func() time.Time) (Deployment, error) {
	in := &ecs.UpdateServiceInput{
		Cluster:            aws.String(t.Cluster),
		Service:            aws.String(serviceRef(t)),
		ForceNewDeployment: true,
	}
	if opts.MinimumHealthyPercent != nil {
		in.DeploymentConfiguration = withMinimumHealthy(t.DeploymentConfiguration, *opts.MinimumHealthyPercent)
	}
	out, err := api.UpdateService(ctx, in)
	if err != nil {
		return Deployment{}, awserr.Wrap(err, "ecs:UpdateService", describeTarget(t))
	}
	if out.Service == nil {
		return Deployment{}, fmt.Errorf("ecs:UpdateService on %s: the response has no service", describeTarget(t))
	}
	primary := primaryDeployment(out.Service.Deployments)
	if primary == nil {
		return Deployment{}, fmt.Errorf("ecs:UpdateService on %s: the response lists no PRIMARY deployment to follow", describeTarget(t))
	}
	return Deployment{
		Target:         t,
		DeploymentID:   aws.ToString(primary.Id),
		TaskDefinition: aws.ToString(primary.TaskDefinition),
		DesiredCount:   primary.DesiredCount,
		StartedAt:      now(),
	}, nil
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
