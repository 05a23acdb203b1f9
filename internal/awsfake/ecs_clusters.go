package awsfake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithy "github.com/aws/smithy-go"
)

// ecsListClusters answers the cluster ARNs of the account and region in
// the order the clusters were created, which stays stable across pages:
// maxResults 1 to 100, 100 when left out (API reference, ListClusters).
func ecsListClusters(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	arns := make([]string, len(s.world.clusters))
	for i, c := range s.world.clusters {
		arns[i] = c.arn
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100, 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []string{} // an account without clusters answers an empty list
	}
	return &ecs.ListClustersOutput{ClusterArns: page, NextToken: next}, nil
}
