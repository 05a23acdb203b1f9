package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// describeBatch is DescribeServices' limit of services a call.
const describeBatch = 10

// taskDefinitionReaders bounds the DescribeTaskDefinition calls in flight.
const taskDefinitionReaders = 8

type discovery struct {
	api ECS
	// clusters are the clusters examined: names or ARNs as given, or the
	// ARNs ListClusters returned for "*".
	clusters []string
	// consumers recognise the containers that pull with the store's
	// credentials, and word what the plan says about them.
	consumers consumers
	// refer names inputs in a hint as the user gives them: "the services
	// input" under Actions, "--services" on a command line.
	refer func(names ...string) string
}

// ErrNoConsumers is wrapped by Build's refusal of a rotation that no planned
// service would use (the contract: nothing is written unless a service pulls
// with the credentials).
var ErrNoConsumers = errors.New("no planned service pulls with the credentials being rotated")

// services plans the services the user listed, or, when names is empty,
// every service of the clusters that pulls with the credentials. Services
// are de-duplicated by ARN once resolved: a service named by name and by ARN
// is planned once. When no planned service pulls with the credentials, the
// error (wrapping ErrNoConsumers) says how the plan looked for them.
func (d discovery) services(ctx context.Context, names []string) ([]Service, []string, error) {
	if len(names) > 0 {
		return d.listed(ctx, names)
	}
	return d.discover(ctx)
}

// listed plans the services the user named; an unknown or ambiguous one is
// an error before anything changes.
func (d discovery) listed(ctx context.Context, names []string) ([]Service, []string, error) {
	described, err := d.describeListed(ctx, names)
	if err != nil {
		return nil, nil, err
	}
	services, warnings, err := d.withContainers(ctx, described)
	if err != nil {
		return nil, nil, err
	}
	if !slices.ContainsFunc(services, Service.Rotated) {
		return nil, nil, d.noListedConsumer(services)
	}
	for _, s := range services {
		if !s.Rotated() {
			warnings = append(warnings, d.unusedWarning(s))
		}
	}
	return services, warnings, nil
}

// discover plans every service of the clusters whose task definitions pull
// with the credentials.
func (d discovery) discover(ctx context.Context) ([]Service, []string, error) {
	var described []ecstypes.Service
	for _, cluster := range d.clusters {
		arns, err := d.list(ctx, cluster)
		if err != nil {
			return nil, nil, err
		}
		found, _, err := d.describe(ctx, cluster, arns)
		if err != nil {
			return nil, nil, err
		}
		described = append(described, found...)
	}
	all, warnings, err := d.withContainers(ctx, described)
	if err != nil {
		return nil, nil, err
	}
	var using []Service
	for _, s := range all {
		if s.Rotated() {
			using = append(using, s)
		}
	}
	if len(using) == 0 {
		return nil, nil, d.noDiscoveredConsumer(len(all))
	}
	return using, warnings, nil
}

// list is every service ARN of cluster, 100 a page.
func (d discovery) list(ctx context.Context, cluster string) ([]string, error) {
	var arns []string
	pages := ecs.NewListServicesPaginator(d.api, &ecs.ListServicesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, clusterError(cluster, d.refer, err, "ecs:ListServices")
		}
		arns = append(arns, page.ServiceArns...)
	}
	return arns, nil
}

func (d discovery) unusedWarning(s Service) string { return d.consumers.unused(s) }

// noListedConsumer refuses a rotation whose listed services all ignore the
// credentials.
func (d discovery) noListedConsumer(services []Service) error {
	read := make([]string, 0, len(services))
	for _, s := range services {
		read = append(read, fmt.Sprintf("%s (task definition %s)", s.Name, awsname.Short(s.TaskDefinition)))
	}
	return d.consumers.noneListed(d.where(), strings.Join(read, ", "), d.refer)
}

// noDiscoveredConsumer refuses a rotation that no service of the cluster
// uses.
func (d discovery) noDiscoveredConsumer(examined int) error {
	how := fmt.Sprintf("%d services were examined (every service that ListServices returns, through its current task definition, those of its deployments in progress and of its task sets)", examined)
	switch {
	case examined == 0 && len(d.clusters) == 1:
		how = "the cluster has no services (ListServices returned none)"
	case examined == 0:
		how = "the clusters have no services (ListServices returned none in each)"
	}
	return d.consumers.noneFound(d.where(), how, d.refer)
}

// describe reads services in batches of ten; missing lists those ECS does not
// know (or knows only as deleted). A service named twice (by name and by ARN,
// or by ARNs in old and new format) is found once, in first-named order.
func (d discovery) describe(ctx context.Context, cluster string, services []string) (found []ecstypes.Service, missing []string, err error) {
	seen := map[string]bool{}
	for _, names := range batch.Chunks(services, describeBatch) {
		out, err := d.api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names})
		if err != nil {
			return nil, nil, clusterError(cluster, d.refer, err, "ecs:DescribeServices")
		}
		for _, s := range out.Services {
			if aws.ToString(s.Status) == "INACTIVE" {
				missing = append(missing, aws.ToString(s.ServiceName))
				continue
			}
			id := aws.ToString(s.ServiceArn)
			if id == "" {
				id = aws.ToString(s.ServiceName)
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			if s.ClusterArn == nil { // ECS always sends it; the cluster asked serves as well
				s.ClusterArn = aws.String(cluster)
			}
			found = append(found, s)
		}
		for _, f := range out.Failures {
			if name := awsname.Short(aws.ToString(f.Arn)); !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	return found, missing, nil
}

// withContainers reads each distinct task definition once, a few at a time.
// Services on Fargate are left to the consumers, which may unmark them
// (Fargate has no ecs.config) with a warning.
func (d discovery) withContainers(ctx context.Context, described []ecstypes.Service) ([]Service, []string, error) {
	defs, err := d.taskDefinitions(ctx, described)
	if err != nil {
		return nil, nil, err
	}
	services := make([]Service, 0, len(described))
	var warnings []string
	for _, s := range described {
		containers := consumerContainers(s, defs)
		if onFargate(s) {
			var warning string
			if containers, warning = d.consumers.onFargate(aws.ToString(s.ServiceName), containers); warning != "" {
				warnings = append(warnings, warning)
			}
		}
		services = append(services, d.service(s, containers))
	}
	return services, warnings, nil
}

// onFargate reports whether a service's tasks run on Fargate: its launch type,
// or a capacity provider strategy of FARGATE or FARGATE_SPOT (which cannot be
// mixed with Auto Scaling group providers).
func onFargate(s ecstypes.Service) bool {
	if s.LaunchType == ecstypes.LaunchTypeFargate {
		return true
	}
	for _, c := range s.CapacityProviderStrategy {
		if p := aws.ToString(c.CapacityProvider); p == "FARGATE" || p == "FARGATE_SPOT" {
			return true
		}
	}
	return false
}

func (d discovery) service(s ecstypes.Service, containers []Container) Service {
	controller := ecstypes.DeploymentControllerTypeEcs
	if s.DeploymentController != nil && s.DeploymentController.Type != "" {
		controller = s.DeploymentController.Type
	}
	return Service{
		Name: aws.ToString(s.ServiceName), ARN: aws.ToString(s.ServiceArn), ClusterARN: aws.ToString(s.ClusterArn),
		TaskDefinition: aws.ToString(s.TaskDefinition),
		DesiredCount:   s.DesiredCount, RunningCount: s.RunningCount,
		Controller: controller, LaunchType: string(s.LaunchType),
		DeploymentConfiguration: s.DeploymentConfiguration,
		Containers:              containers,
		DeployedAt:              primaryCreatedAt(s),
		DeploymentIDs:           deploymentIDs(s),
	}
}

func deploymentIDs(s ecstypes.Service) []string {
	ids := make([]string, 0, len(s.Deployments))
	for _, d := range s.Deployments {
		ids = append(ids, aws.ToString(d.Id))
	}
	return ids
}

func (d discovery) taskDefinitions(ctx context.Context, described []ecstypes.Service) (map[string][]Container, error) {
	var arns []string
	for _, s := range described {
		for _, arn := range taskDefinitionsOf(s) {
			if !slices.Contains(arns, arn) {
				arns = append(arns, arn)
			}
		}
	}
	var (
		defs = make(map[string][]Container, len(arns))
		mu   sync.Mutex
	)
	// The first failed read cancels the others: the plan stops on it anyway.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(taskDefinitionReaders)
	for _, arn := range arns {
		if gctx.Err() != nil {
			break // a read failed or ctx was cancelled: start no more
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // cancelled while this read waited for a slot
			}
			containers, err := d.containers(gctx, arn)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			defs[arn] = containers
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(defs) < len(arns) {
		return nil, ctx.Err() // cancelled before every read started
	}
	return defs, nil
}

func (d discovery) containers(ctx context.Context, taskDefinition string) ([]Container, error) {
	out, err := d.api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDefinition)})
	if err != nil {
		return nil, awserr.Wrap(err, "ecs:DescribeTaskDefinition", "task definition "+taskDefinition)
	}
	var containers []Container
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		ref := ""
		if c.RepositoryCredentials != nil {
			ref = aws.ToString(c.RepositoryCredentials.CredentialsParameter)
		}
		container := Container{Name: aws.ToString(c.Name), Image: aws.ToString(c.Image)}
		d.consumers.mark(&container, ref)
		containers = append(containers, container)
	}
	return containers, nil
}

func primaryCreatedAt(s ecstypes.Service) time.Time {
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToTime(d.CreatedAt)
		}
	}
	return time.Time{}
}

// clusterError says plainly when the cluster does not exist: that is a
// wrong input or region far more often than a fault of AWS.
func clusterError(cluster string, refer func(...string) string, err error, action string) error {
	var missing *ecstypes.ClusterNotFoundException
	if errors.As(err, &missing) {
		return fmt.Errorf("cluster %s not found in this account and region: check %s: %w", cluster, refer("cluster", "aws-region"), err)
	}
	return awserr.Wrap(err, action, "cluster "+cluster)
}

// where names the clusters examined, for a message: "cluster prod", or
// "clusters prod, staging".
func (d discovery) where() string { return clustersText(d.clusters) }

func clustersText(clusters []string) string {
	if len(clusters) == 1 {
		return "cluster " + clusters[0]
	}
	return "clusters " + strings.Join(clusters, ", ")
}
