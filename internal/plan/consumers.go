package plan

import (
	"fmt"
	"slices"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

// consumers is how a store's credentials show in a task definition, and
// how the plan words what it found: by the secret a container names in
// repositoryCredentials (secretConsumers), or by the registry key the ECS
// agent matches a container's image to (fleetConsumers).
type consumers interface {
	// mark sets whether container pulls with the credentials;
	// credentialsParameter is its repositoryCredentials, "" when it has none.
	mark(container *Container, credentialsParameter string)
	// onFargate is the containers of a Fargate service as they pull there,
	// and a warning when that differs from what their images suggest.
	onFargate(service string, containers []Container) ([]Container, string)
	// unused warns of a listed service that does not pull with them.
	unused(s Service) string
	// noneListed refuses listed services (read: each with its task
	// definition) none of which pulls with them; where names the clusters.
	noneListed(where, read string, refer func(...string) string) error
	// noneFound refuses a cluster none of whose services pulls with them;
	// how says how the plan looked.
	noneFound(where, how string, refer func(...string) string) error
}

// secretConsumers are the containers that name the secret in
// repositoryCredentials.
type secretConsumers struct{ secret Secret }

func (c secretConsumers) mark(container *Container, ref string) {
	container.UsesSecret = c.secret.Matches(ref)
}

// onFargate: Fargate pulls with repositoryCredentials as EC2 does.
func (secretConsumers) onFargate(_ string, containers []Container) ([]Container, string) {
	return containers, ""
}

func (c secretConsumers) unused(s Service) string {
	return fmt.Sprintf("service %s does not name secret %s in repositoryCredentials of task definition %s: a new deployment will not change how it pulls", s.Name, c.secret.Name, s.TaskDefinition)
}

func (c secretConsumers) noneListed(where, read string, refer func(...string) string) error {
	return fmt.Errorf("%w: in %s, none of the listed services %s names secret %s in repositoryCredentials of its current task definition; nothing was written: check %s",
		ErrNoConsumers, where, read, c.secret.Name, refer("secret-id", "services"))
}

func (c secretConsumers) noneFound(where, how string, refer func(...string) string) error {
	return fmt.Errorf("%w: no service of %s pulls with secret %s: %s, and none names the secret in repositoryCredentials; nothing was written: check %s",
		ErrNoConsumers, where, c.secret.Name, how, refer("secret-id", "cluster", "aws-region"))
}

// fleetConsumers are the containers without repositoryCredentials whose
// image the ECS agent matches to the registry key of ECS_ENGINE_AUTH_DATA.
type fleetConsumers struct{ registryKey string }

func (c fleetConsumers) mark(container *Container, ref string) {
	container.UsesECSConfig = ref == "" && registryauth.Affects(c.registryKey, container.Image)
}

// onFargate unmarks every container: Fargate has no ecs.config.
func (c fleetConsumers) onFargate(service string, containers []Container) ([]Container, string) {
	if !slices.ContainsFunc(containers, func(c Container) bool { return c.UsesECSConfig }) {
		return containers, ""
	}
	containers = slices.Clone(containers)
	for i := range containers {
		containers[i].UsesECSConfig = false
	}
	return containers, fmt.Sprintf("service %s runs on Fargate, which has no ecs.config: its images of registry %s are pulled without these credentials; give its containers repositoryCredentials (auth-mode secrets-manager) instead", service, c.registryKey)
}

func (c fleetConsumers) unused(s Service) string {
	return fmt.Sprintf("service %s pulls no image of registry %s with the container instances' ecs.config credentials (task definition %s: no container whose image the ECS agent matches to that key without repositoryCredentials): a new deployment will not change how it pulls", s.Name, c.registryKey, s.TaskDefinition)
}

func (c fleetConsumers) noneListed(where, read string, refer func(...string) string) error {
	return fmt.Errorf("%w: in %s, none of the listed services %s has a container whose image the ECS agent matches to registry key %s and that has no repositoryCredentials, so none pulls with the ecs.config credentials; nothing was changed: check %s",
		ErrNoConsumers, where, read, c.registryKey, refer("registry", "services"))
}

func (c fleetConsumers) noneFound(where, how string, refer func(...string) string) error {
	return fmt.Errorf("%w: no service of %s pulls images of registry key %s with the container instances' ecs.config credentials: %s, and none has a container whose image the ECS agent matches to that key without repositoryCredentials (Fargate services never use ecs.config); nothing was changed: check %s (Docker Hub is %s), and %s",
		ErrNoConsumers, where, c.registryKey, how, refer("registry"), registryauth.DockerHubKey, refer("cluster", "aws-region"))
}
