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

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// describeBatch is DescribeServices' limit of services a call.
const describeBatch = 10

// taskDefinitionReaders bounds the DescribeTaskDefinition calls in flight.
const taskDefinitionReaders = 8

type discovery struct {
	api     ECS
	cluster string // name or ARN, as given
	secret  Secret
}

// listed plans the services the user named; an unknown one is an error
// before anything changes.
func (d discovery) listed(ctx context.Context, names []string) ([]Service, []string, error) {
	described, missing, err := d.describe(ctx, names)
	if err != nil {
		return nil, nil, err
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("service %s not found in cluster %s: check the services input", strings.Join(missing, ", "), d.cluster)
	}
	services, err := d.withContainers(ctx, described)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, s := range services {
		if !s.UsesSecret() {
			warnings = append(warnings, fmt.Sprintf("service %s does not name secret %s in repositoryCredentials of task definition %s: a new deployment will not change how it pulls", s.Name, d.secret.Name, s.TaskDefinition))
		}
	}
	return services, warnings, nil
}

// discover plans every service of the cluster whose task definition pulls
// with the secret.
func (d discovery) discover(ctx context.Context) ([]Service, []string, error) {
	var arns []string
	pages := ecs.NewListServicesPaginator(d.api, &ecs.ListServicesInput{Cluster: aws.String(d.cluster), MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, d.clusterError(err, "ecs:ListServices")
		}
		arns = append(arns, page.ServiceArns...)
	}
	described, _, err := d.describe(ctx, arns)
	if err != nil {
		return nil, nil, err
	}
	all, err := d.withContainers(ctx, described)
	if err != nil {
		return nil, nil, err
	}
	var using []Service
	for _, s := range all {
		if s.UsesSecret() {
			using = append(using, s)
		}
	}
	var warnings []string
	if len(using) == 0 {
		warnings = append(warnings, fmt.Sprintf("no service of cluster %s (of %d) names secret %s in repositoryCredentials: no service will be deployed", d.cluster, len(all), d.secret.Name))
	}
	return using, warnings, nil
}

// describe reads services in batches of ten; missing lists those ECS does not
// know (or knows only as deleted).
func (d discovery) describe(ctx context.Context, services []string) (found []ecstypes.Service, missing []string, err error) {
	for _, names := range batch.Chunks(services, describeBatch) {
		out, err := d.api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(d.cluster), Services: names})
		if err != nil {
			return nil, nil, d.clusterError(err, "ecs:DescribeServices")
		}
		for _, s := range out.Services {
			if aws.ToString(s.Status) == "INACTIVE" {
				missing = append(missing, aws.ToString(s.ServiceName))
				continue
			}
			found = append(found, s)
		}
		for _, f := range out.Failures {
			missing = append(missing, awsname.Short(aws.ToString(f.Arn)))
		}
	}
	return found, missing, nil
}

// withContainers reads each distinct task definition once, a few at a time.
func (d discovery) withContainers(ctx context.Context, described []ecstypes.Service) ([]Service, error) {
	defs, err := d.taskDefinitions(ctx, described)
	if err != nil {
		return nil, err
	}
	services := make([]Service, 0, len(described))
	for _, s := range described {
		td := aws.ToString(s.TaskDefinition)
		services = append(services, d.service(s, defs[td]))
	}
	return services, nil
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
	}
}

func (d discovery) taskDefinitions(ctx context.Context, described []ecstypes.Service) (map[string][]Container, error) {
	var arns []string
	for _, s := range described {
		if arn := aws.ToString(s.TaskDefinition); !slices.Contains(arns, arn) {
			arns = append(arns, arn)
		}
	}
	var (
		defs     = make(map[string][]Container, len(arns))
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, taskDefinitionReaders)
	)
	for _, arn := range arns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			containers, err := d.containers(ctx, arn)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			defs[arn] = containers
		}()
	}
	wg.Wait()
	return defs, firstErr
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
		containers = append(containers, Container{Name: aws.ToString(c.Name), Image: aws.ToString(c.Image), UsesSecret: d.secret.Matches(ref)})
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
func (d discovery) clusterError(err error, action string) error {
	var missing *ecstypes.ClusterNotFoundException
	if errors.As(err, &missing) {
		return fmt.Errorf("cluster %s not found in this account and region: check the cluster input and aws-region: %w", d.cluster, err)
	}
	return awserr.Wrap(err, action, "cluster "+d.cluster)
}
