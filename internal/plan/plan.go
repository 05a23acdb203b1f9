// Package plan asks AWS what a rotation touches: the cluster, the secret and
// its current value, the services that pull with it, their images. The plan is
// computed once, printed in every run, and is all that a dry run does.
package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// ECS is the part of the ECS API the plan reads.
type ECS interface {
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Secrets is the part of the Secrets Manager API the plan reads.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Plan is what the rotation will touch.
type Plan struct {
	Cluster  string // as the cluster input gave it
	Secret   Secret
	Services []Service
	Warnings []string
}

// Container is one container of a service's current task definition.
type Container struct {
	Name       string
	Image      string
	UsesSecret bool // its repositoryCredentials name the secret
}

// Service is one service the rotation deploys.
type Service struct {
	Name                    string
	ARN                     string
	ClusterARN              string
	TaskDefinition          string
	DesiredCount            int32
	RunningCount            int32
	Controller              ecstypes.DeploymentControllerType
	LaunchType              string
	DeploymentConfiguration *ecstypes.DeploymentConfiguration
	Containers              []Container
	// DeployedAt is when the service's PRIMARY deployment started: tasks
	// started before the secret's current version pulled with older credentials.
	DeployedAt time.Time
}

// UsesSecret reports whether any container pulls with the secret.
func (s Service) UsesSecret() bool {
	return slices.ContainsFunc(s.Containers, func(c Container) bool { return c.UsesSecret })
}

// Images are the distinct images pulled with the secret, in plan order: the
// ones the new credentials must be able to pull.
func (p Plan) Images() []string {
	var images []string
	for _, s := range p.Services {
		for _, c := range s.Containers {
			if c.UsesSecret && !slices.Contains(images, c.Image) {
				images = append(images, c.Image)
			}
		}
	}
	return images
}

// Targets are the services to deploy, for the rollout.
func (p Plan) Targets() []rollout.Target {
	targets := make([]rollout.Target, 0, len(p.Services))
	for _, s := range p.Services {
		cluster := s.ClusterARN
		if cluster == "" { // ECS always sends it; the cluster input serves as well
			cluster = p.Cluster
		}
		targets = append(targets, rollout.Target{
			Cluster: cluster, Service: s.Name, ServiceArn: s.ARN,
			DeploymentConfiguration: s.DeploymentConfiguration,
		})
	}
	return targets
}

// Build reads what the rotation described by cfg touches. It changes nothing.
func Build(ctx context.Context, cfg inputs.Config, ecsAPI ECS, sm Secrets) (Plan, error) {
	if cfg.AuthMode != inputs.ModeSecretsManager {
		return Plan{}, fmt.Errorf("auth-mode %s is not supported by this version yet; use secrets-manager", cfg.AuthMode)
	}
	p := Plan{Cluster: cfg.Cluster}
	var err error
	if p.Secret, err = readSecret(ctx, sm, cfg.SecretID); err != nil {
		return Plan{}, err
	}
	d := discovery{api: ecsAPI, cluster: cfg.Cluster, secret: p.Secret}
	if len(cfg.Services) > 0 {
		p.Services, p.Warnings, err = d.listed(ctx, cfg.Services)
	} else {
		p.Services, p.Warnings, err = d.discover(ctx)
	}
	if err != nil {
		return Plan{}, err
	}
	if cfg.ForceNewDeployment {
		if err := checkControllers(p.Services); err != nil {
			return Plan{}, err
		}
	}
	return p, nil
}

// checkControllers refuses services that UpdateService cannot force, before
// anything is written: a half-done rotation is worse than none.
func checkControllers(services []Service) error {
	var blocked []string
	for _, s := range services {
		if s.Controller == ecstypes.DeploymentControllerTypeCodeDeploy || s.Controller == ecstypes.DeploymentControllerTypeExternal {
			blocked = append(blocked, fmt.Sprintf("%s (%s)", s.Name, s.Controller))
		}
	}
	if len(blocked) == 0 {
		return nil
	}
	return fmt.Errorf("cannot force a new deployment of %s: UpdateService cannot roll services with a CODE_DEPLOY or EXTERNAL deployment controller; leave them out of the services input and deploy them through their controller",
		strings.Join(blocked, ", "))
}

// Stale returns the services whose PRIMARY deployment started before the
// secret's current version was made: their tasks pulled with older
// credentials, so an unchanged secret still leaves them to roll. Where AWS
// gave no time, nothing is known to be stale and a re-run stays a no-op.
func (p Plan) Stale() []Service {
	var stale []Service
	for _, s := range p.Services {
		if !s.DeployedAt.IsZero() && !p.Secret.Created.IsZero() && s.DeployedAt.Before(p.Secret.Created) {
			stale = append(stale, s)
		}
	}
	return stale
}

// WithServices is the plan narrowed to services.
func (p Plan) WithServices(services []Service) Plan {
	p.Services = services
	return p
}
