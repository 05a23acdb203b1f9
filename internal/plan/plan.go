// Package plan asks AWS what a rotation touches: the cluster, the secret and
// its current value (secrets-manager mode) or the container instances and the
// registry key (ecs-config mode), the services that pull with those
// credentials, their images. The plan is computed once, printed in every run,
// and is all that a dry run does. Build refuses, before anything is written,
// a rotation that no service would use.
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

// ECS is the part of the ECS API the plan reads.
type ECS interface {
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	// ecs-config mode only.
	ListContainerInstances(ctx context.Context, in *ecs.ListContainerInstancesInput, optFns ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error)
	DescribeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
}

// SSM is the part of the Systems Manager API the plan reads (ecs-config mode
// only).
type SSM interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// Secrets is the part of the Secrets Manager API the plan reads.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Plan is what the rotation will touch.
type Plan struct {
	Cluster string // as the cluster input gave it
	Secret  Secret // secrets-manager mode
	// RegistryKey is, in ecs-config mode, the key written to
	// ECS_ENGINE_AUTH_DATA, the rotated key: registryauth.Key of the
	// registry input (host[:port], host[:port]/path, or Docker Hub's key).
	RegistryKey string
	// Instances are, in ecs-config mode, the cluster's ACTIVE container
	// instances, every one of which the plan found fit to rewrite.
	Instances []Instance
	Services  []Service
	Warnings  []string
}

// Container is one container of a service's current task definition.
type Container struct {
	Name       string
	Image      string
	UsesSecret bool // its repositoryCredentials name the secret
	// UsesECSConfig is true in ecs-config mode when the ECS agent pulls the
	// image with the credentials of ECS_ENGINE_AUTH_DATA under the plan's
	// registry key: the key affects the image as the agent matches them
	// (registryauth.Affects: the image's host, and for a path key a string
	// prefix of the image, so ghcr.io/org covers ghcr.io/orgx/app too), the
	// container has no repositoryCredentials, and the service is not on
	// Fargate (which has no ecs.config). Whether another key an instance
	// holds captures the image instead, only the instance's keys tell
	// (Plan.JudgeKeys).
	UsesECSConfig bool
}

// Rotated reports whether the container pulls with the credentials being
// rotated, in either mode.
func (c Container) Rotated() bool { return c.UsesSecret || c.UsesECSConfig }

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

// Rotated reports whether any container pulls with the credentials being
// rotated: the secret, or in ecs-config mode the registry's entry of
// ECS_ENGINE_AUTH_DATA.
func (s Service) Rotated() bool { return slices.ContainsFunc(s.Containers, Container.Rotated) }

// Images are the distinct images pulled with the credentials being rotated
// (the secret, or in ecs-config mode the registry's ecs.config entry), in
// plan order: the ones the new credentials must be able to pull.
func (p Plan) Images() []string {
	var images []string
	for _, s := range p.Services {
		for _, c := range s.Containers {
			if c.Rotated() && !slices.Contains(images, c.Image) {
				images = append(images, c.Image)
			}
		}
	}
	return images
}

// AffectedImages are, in ecs-config mode, the distinct images the service
// pulls with ECS_ENGINE_AUTH_DATA's credentials under the plan's registry
// key, in task-definition order: the images for which the agent must pick
// the rotated key once ecs.config is rewritten.
func (s Service) AffectedImages() []string {
	var images []string
	for _, c := range s.Containers {
		if c.UsesECSConfig && !slices.Contains(images, c.Image) {
			images = append(images, c.Image)
		}
	}
	return images
}

// JudgeKeys says, in ecs-config mode, whether an ECS agent holding keysAfter
// (the member names of ECS_ENGINE_AUTH_DATA after the rewrite, as an
// instance's preflight reports them, decoded) will pull every affected image
// of every planned service with RegistryKey's credentials. Its error wraps
// the *registryauth.JudgeError, which names each key that captures images,
// each image no key matches and each image whose key the agent picks at
// random, and says which services pull those images.
func (p Plan) JudgeKeys(keysAfter []string) error {
	var images []string
	for _, s := range p.Services {
		for _, image := range s.AffectedImages() {
			if !slices.Contains(images, image) {
				images = append(images, image)
			}
		}
	}
	err := registryauth.Judge(keysAfter, p.RegistryKey, images)
	var je *registryauth.JudgeError
	if !errors.As(err, &je) {
		return err
	}
	faulty := slices.Clone(je.Unmatched)
	for _, captured := range je.Captured {
		faulty = append(faulty, captured...)
	}
	for image := range je.Ambiguous {
		faulty = append(faulty, image)
	}
	var services []string
	for _, s := range p.Services {
		if slices.ContainsFunc(s.AffectedImages(), func(image string) bool { return slices.Contains(faulty, image) }) {
			services = append(services, s.Name)
		}
	}
	if len(services) == 0 {
		return err
	}
	return fmt.Errorf("%w (services that pull these images: %s)", err, strings.Join(services, ", "))
}

// Build reads what the rotation described by cfg touches. It changes nothing.
// ssmAPI is read in ecs-config mode only (it may be nil in secrets-manager
// mode). It returns an error, so that nothing is written, when no planned
// service pulls with the credentials being rotated, and in ecs-config mode
// when the cluster has no container instance or any instance cannot be
// rewritten.
func Build(ctx context.Context, cfg inputs.Config, ecsAPI ECS, sm Secrets, ssmAPI SSM) (Plan, error) {
	var (
		p   Plan
		err error
	)
	switch cfg.AuthMode {
	case inputs.ModeSecretsManager:
		p, err = buildSecretsManager(ctx, cfg, ecsAPI, sm)
	case inputs.ModeECSConfig:
		p, err = buildECSConfig(ctx, cfg, ecsAPI, ssmAPI)
	default:
		return Plan{}, fmt.Errorf("auth-mode %q is not one of %s, %s", cfg.AuthMode, inputs.ModeSecretsManager, inputs.ModeECSConfig)
	}
	if err != nil {
		return Plan{}, err
	}
	if cfg.ForceNewDeployment {
		if err := checkControllers(cfg, p.Services); err != nil {
			return Plan{}, err
		}
	}
	return p, nil
}

func buildSecretsManager(ctx context.Context, cfg inputs.Config, ecsAPI ECS, sm Secrets) (Plan, error) {
	p := Plan{Cluster: cfg.Cluster}
	var err error
	if p.Secret, err = readSecret(ctx, sm, cfg.SecretID); err != nil {
		return Plan{}, err
	}
	d := discovery{api: ecsAPI, cluster: cfg.Cluster, secret: p.Secret, refer: cfg.Refer}
	p.Services, p.Warnings, err = d.services(ctx, cfg.Services)
	if err != nil {
		return Plan{}, err
	}
	return p, nil
}

func buildECSConfig(ctx context.Context, cfg inputs.Config, ecsAPI ECS, ssmAPI SSM) (Plan, error) {
	if ssmAPI == nil {
		return Plan{}, errors.New("ecs-config mode needs a Systems Manager client to read the container instances")
	}
	key, changed := registryauth.Key(cfg.Registry)
	if registryauth.IsECR(key) {
		return Plan{}, fmt.Errorf("registry %s is an Amazon ECR registry: the ECS agent pulls ECR images with an ECR token for the task (the instance role or the task execution role), never with ECS_ENGINE_AUTH_DATA, so there is nothing to rotate in ecs.config; grant ECR pull permissions to the role instead", key)
	}
	if cfg.Username != "" && cfg.Password != "" {
		// The auth data must be writable before anything is: Entry refuses
		// what the agent would misread (a ":" in a dockercfg user name).
		if _, err := registryauth.Entry(cfg.ECSConfigAuthType, cfg.Username, cfg.Password); err != nil {
			return Plan{}, err
		}
	}
	p := Plan{Cluster: cfg.Cluster, RegistryKey: key}
	if changed {
		p.Warnings = append(p.Warnings, fmt.Sprintf("registry %s is written to ECS_ENGINE_AUTH_DATA as %s: that is the key under which the ECS agent looks up the images of this registry (Docker Hub is always %s; other registries are host[:port] and any path, lower case, without scheme or trailing slash)", cfg.Registry, key, registryauth.DockerHubKey))
	}
	instances, err := readInstances(ctx, ecsAPI, ssmAPI, cfg.Cluster)
	if err != nil {
		return Plan{}, err
	}
	d := discovery{api: ecsAPI, cluster: cfg.Cluster, registryKey: key, refer: cfg.Refer}
	services, warnings, servicesErr := d.services(ctx, cfg.Services)
	if servicesErr != nil && !errors.Is(servicesErr, ErrNoConsumers) {
		return Plan{}, servicesErr
	}
	instancesErr := checkInstances(cfg, instances)
	switch {
	case instancesErr != nil && servicesErr != nil:
		return Plan{}, fmt.Errorf("%w; and %w", instancesErr, servicesErr)
	case instancesErr != nil:
		return Plan{}, instancesErr
	case servicesErr != nil:
		return Plan{}, servicesErr
	}
	p.Instances, p.Services, p.Warnings = instances, services, append(p.Warnings, warnings...)
	return p, nil
}

// checkControllers refuses services that UpdateService cannot force, before
// anything is written: a half-done rotation is worse than none.
func checkControllers(cfg inputs.Config, services []Service) error {
	var blocked []string
	for _, s := range services {
		if s.Controller == ecstypes.DeploymentControllerTypeCodeDeploy || s.Controller == ecstypes.DeploymentControllerTypeExternal {
			blocked = append(blocked, fmt.Sprintf("%s (%s)", s.Name, s.Controller))
		}
	}
	if len(blocked) == 0 {
		return nil
	}
	return fmt.Errorf("cannot force a new deployment of %s: UpdateService cannot roll services with a CODE_DEPLOY or EXTERNAL deployment controller; leave them out of %s and deploy them through their controller",
		strings.Join(blocked, ", "), cfg.Refer("services"))
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
