// Package plan asks AWS what a rotation touches: the cluster, the secret and
// its current value (secrets-manager mode) or the container instances and the
// registry key (ecs-config mode), the services that pull with those
// credentials, their images. The plan is computed once, printed in every run,
// and is all that a dry run does. ForSecret and ForFleet, one per store of
// credentials, refuse before anything is written a rotation that no service
// would use.
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
	ListClusters(ctx context.Context, in *ecs.ListClustersInput, optFns ...func(*ecs.Options)) (*ecs.ListClustersOutput, error)
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

// Plan is what every rotation touches, whatever the store of credentials:
// the cluster and the services that pull with the credentials. The store's
// own target (the secret, or the fleet of container instances) is returned
// beside it by ForSecret or ForFleet, and the store keeps it.
type Plan struct {
	// Clusters are the clusters examined, those where no service uses the
	// credentials included: as the cluster input gave them, or the ARNs
	// that ListClusters returned for "*".
	Clusters []string
	Services []Service
	Warnings []string
}

// Scope is what every plan reads, whatever the store.
type Scope struct {
	inputs.Common
	// ForceNewDeployment: the services will be rolled, so the plan refuses
	// those that UpdateService cannot force.
	ForceNewDeployment bool
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
	// (Fleet.JudgeKeys).
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
	// DeploymentIDs are the ids of the service's deployments when planned:
	// a deployment the run starts is none of them, even when the answer of
	// the call that started it was lost.
	DeploymentIDs []string
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

// JudgeKeys says whether an ECS agent holding keysAfter (the member names of
// ECS_ENGINE_AUTH_DATA after the rewrite, as an instance's preflight reports
// them, decoded) will pull every affected image of services with
// RegistryKey's credentials. Its error wraps
// the *registryauth.JudgeError, which names each key that captures images,
// each image no key matches and each image whose key the agent picks at
// random, and says which services pull those images.
func (f Fleet) JudgeKeys(services []Service, keysAfter []string) error {
	var images []string
	for _, s := range services {
		for _, image := range s.AffectedImages() {
			if !slices.Contains(images, image) {
				images = append(images, image)
			}
		}
	}
	err := registryauth.Judge(keysAfter, f.RegistryKey, images)
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
	var names []string
	for _, s := range services {
		if slices.ContainsFunc(s.AffectedImages(), func(image string) bool { return slices.Contains(faulty, image) }) {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return err
	}
	return fmt.Errorf("%w (services that pull these images: %s)", err, strings.Join(names, ", "))
}

// ForSecret plans a rotation of secret secretID: it reads the secret and the
// services of the cluster whose task definitions name it in
// repositoryCredentials. It changes nothing, and returns an error, so that
// nothing is written, when no planned service pulls with the secret.
func ForSecret(ctx context.Context, scope Scope, secretID string, ecsAPI ECS, sm Secrets) (Plan, Secret, error) {
	secret, err := readSecret(ctx, sm, secretID)
	if err != nil {
		return Plan{}, Secret{}, err
	}
	p := Plan{}
	if p.Clusters, err = clusters(ctx, ecsAPI, scope); err != nil {
		return Plan{}, Secret{}, err
	}
	d := discovery{api: ecsAPI, clusters: p.Clusters, consumers: secretConsumers{secret}, refer: scope.Refer}
	if p.Services, p.Warnings, err = d.services(ctx, scope.Services); err != nil {
		return Plan{}, Secret{}, err
	}
	if err := checkControllers(scope, p.Services); err != nil {
		return Plan{}, Secret{}, err
	}
	return p, secret, nil
}

// ForFleet plans a rotation of the ECS_ENGINE_AUTH_DATA entry of creds'
// registry in ecs.config on the cluster's container instances: it reads the
// instances and the services whose images the agent pulls with that entry.
// It changes nothing, and returns an error when no planned service pulls
// with the entry, when the cluster has no container instance, or when any
// instance cannot be rewritten.
func ForFleet(ctx context.Context, scope Scope, creds inputs.Credentials, authType string, ecsAPI ECS, ssmAPI SSM) (Plan, Fleet, error) {
	if ssmAPI == nil {
		return Plan{}, Fleet{}, errors.New("ecs-config mode needs a Systems Manager client to read the container instances")
	}
	key, changed := registryauth.Key(creds.Registry)
	if registryauth.IsECR(key) {
		return Plan{}, Fleet{}, fmt.Errorf("registry %s is an Amazon ECR registry: the ECS agent pulls ECR images with an ECR token for the task (the instance role or the task execution role), never with ECS_ENGINE_AUTH_DATA, so there is nothing to rotate in ecs.config; grant ECR pull permissions to the role instead", key)
	}
	if creds.Username != "" && creds.Password != "" {
		// The auth data must be writable before anything is: Entry refuses
		// what the agent would misread (a ":" in a dockercfg user name).
		if _, err := registryauth.Entry(authType, creds.Username, creds.Password); err != nil {
			return Plan{}, Fleet{}, err
		}
	}
	p := Plan{}
	if changed {
		p.Warnings = append(p.Warnings, fmt.Sprintf("registry %s is written to ECS_ENGINE_AUTH_DATA as %s: that is the key under which the ECS agent looks up the images of this registry (Docker Hub is always %s; other registries are host[:port] and any path, lower case, without scheme or trailing slash)", creds.Registry, key, registryauth.DockerHubKey))
	}
	var err error
	if p.Clusters, err = clusters(ctx, ecsAPI, scope); err != nil {
		return Plan{}, Fleet{}, err
	}
	byCluster := make(map[string][]Instance, len(p.Clusters))
	var instances []Instance
	for _, cluster := range p.Clusters {
		if byCluster[cluster], err = readInstances(ctx, ecsAPI, ssmAPI, cluster, scope.Refer); err != nil {
			return Plan{}, Fleet{}, err
		}
		instances = append(instances, byCluster[cluster]...)
	}
	d := discovery{api: ecsAPI, clusters: p.Clusters, consumers: fleetConsumers{key}, refer: scope.Refer}
	services, warnings, servicesErr := d.services(ctx, scope.Services)
	if servicesErr != nil && !errors.Is(servicesErr, ErrNoConsumers) {
		return Plan{}, Fleet{}, servicesErr
	}
	instancesErr := checkInstances(scope.Common, p.Clusters, byCluster)
	switch {
	case instancesErr != nil && servicesErr != nil:
		return Plan{}, Fleet{}, fmt.Errorf("%w; and %w", instancesErr, servicesErr)
	case instancesErr != nil:
		return Plan{}, Fleet{}, instancesErr
	case servicesErr != nil:
		return Plan{}, Fleet{}, servicesErr
	}
	p.Services, p.Warnings = services, append(p.Warnings, warnings...)
	if err := checkControllers(scope, p.Services); err != nil {
		return Plan{}, Fleet{}, err
	}
	return p, Fleet{RegistryKey: key, Instances: instances}, nil
}

// checkControllers refuses services that UpdateService cannot force, before
// anything is written: a half-done rotation is worse than none.
func checkControllers(scope Scope, services []Service) error {
	if !scope.ForceNewDeployment {
		return nil
	}
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
		strings.Join(blocked, ", "), scope.Refer("services"))
}

// DeployedBefore returns the services whose PRIMARY deployment started
// before written, when the credentials they pull with were last written:
// their tasks pulled with older credentials, so credentials already in place
// still leave them to roll. Where AWS gave no time (or written is zero),
// nothing is known to be stale and a re-run stays a no-op.
func (p Plan) DeployedBefore(written time.Time) []Service {
	var stale []Service
	for _, s := range p.Services {
		if !s.DeployedAt.IsZero() && !written.IsZero() && s.DeployedAt.Before(written) {
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
