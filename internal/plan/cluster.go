package plan

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

func describeCluster(ctx context.Context, api ECS, cluster string) (arn, name string, err error) {
	out, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if err != nil {
		return "", "", awserr.Wrap(err, "ecs:DescribeClusters", "cluster "+cluster)
	}
	for _, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			return aws.ToString(c.ClusterArn), aws.ToString(c.ClusterName), nil
		}
	}
	return "", "", fmt.Errorf("cluster %s not found in this account and region: check the cluster input and aws-region", cluster)
}
