package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// Adopt returns each target's current PRIMARY deployment, to be watched as
// if this run had started it: a re-run must prove that the deployment an
// earlier run started really rolled out, not take its start for success.
// DescribeServices is called in batches of 10 per cluster.
func Adopt(ctx context.Context, api ECS, targets []Target) ([]Deployment, error) {
	var deps []Deployment
	for _, g := range batches(targets, describeServicesBatch, func(t Target) string { return t.Cluster }) {
		refs, names := make([]string, len(g)), make([]string, len(g))
		for i, t := range g {
			refs[i], names[i] = serviceRef(t), awsname.Short(serviceRef(t))
		}
		what := fmt.Sprintf("services %s in cluster %s", strings.Join(names, ", "), awsname.Short(g[0].Cluster))
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(g[0].Cluster), Services: refs})
		if err != nil {
			return deps, awserr.Wrap(err, "ecs:DescribeServices", what)
		}
		for _, t := range g {
			d, err := adoptOne(t, out)
			if err != nil {
				return deps, err
			}
			deps = append(deps, d)
		}
	}
	return deps, nil
}

func adoptOne(t Target, out *ecs.DescribeServicesOutput) (Deployment, error) {
	for _, s := range out.Services {
		if aws.ToString(s.ServiceArn) != t.ServiceArn && aws.ToString(s.ServiceName) != t.Service {
			continue
		}
		primary := primaryDeployment(s.Deployments)
		if primary == nil {
			break
		}
		return Deployment{
			Target:         t,
			DeploymentID:   aws.ToString(primary.Id),
			TaskDefinition: aws.ToString(primary.TaskDefinition),
			DesiredCount:   primary.DesiredCount,
			StartedAt:      aws.ToTime(primary.CreatedAt),
		}, nil
	}
	return Deployment{}, fmt.Errorf("ecs:DescribeServices: %s has no PRIMARY deployment to check", describeTarget(t))
}
