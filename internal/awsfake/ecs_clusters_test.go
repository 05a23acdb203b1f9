package awsfake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// listClusters follows ListClusters' pages, returning the ARNs and the
// size of each page.
func (f *fixture) listClusters(t *testing.T, maxResults *int32) (arns []string, pages []int) {
	t.Helper()
	p := ecs.NewListClustersPaginator(f.ecs, &ecs.ListClustersInput{MaxResults: maxResults})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.ClusterArns...)
		pages = append(pages, len(page.ClusterArns))
	}
	return arns, pages
}

func TestListClustersPaginates(t *testing.T) {
	f := newFixture(t)
	if arns, pages := f.listClusters(t, nil); len(arns) != 0 || len(pages) != 1 {
		t.Fatalf("no clusters: %v in pages %v", arns, pages)
	}
	var want []string
	for i := range 250 {
		want = append(want, f.CreateCluster(fmt.Sprintf("c%03d", (i*7)%250)))
	}
	arns, pages := f.listClusters(t, nil)
	if !slices.Equal(arns, want) || !slices.Equal(pages, []int{100, 100, 50}) {
		t.Fatalf("default pages %v; ARNs in creation order: %v", pages, slices.Equal(arns, want))
	}
	arns, pages = f.listClusters(t, aws.Int32(7))
	if !slices.Equal(arns, want) || len(pages) != 36 || pages[0] != 7 || pages[35] != 5 {
		t.Fatalf("maxResults 7: pages %v; ARNs in creation order: %v", pages, slices.Equal(arns, want))
	}
	if arns[0] != "arn:aws:ecs:us-east-1:123456789012:cluster/c000" {
		t.Fatalf("first ARN %q", arns[0])
	}

	ctx := context.Background()
	var ip *ecstypes.InvalidParameterException
	for _, n := range []int32{0, 101, -1} {
		if _, err := f.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(n)}); !errors.As(err, &ip) {
			t.Fatalf("maxResults %d: %v, want InvalidParameterException", n, err)
		}
	}
	if _, err := f.ecs.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("bogus")}); !errors.As(err, &ip) {
		t.Fatalf("bad nextToken: %v, want InvalidParameterException", err)
	}
	if n := f.CallCounts()["ListClusters"]; n != 1+3+36+4 {
		t.Fatalf("ListClusters counted %d times", n)
	}
}

// Two clusters with a service of the same name: each call reaches the
// service of the cluster it names, by name or ARN, and an ARN naming the
// other cluster finds nothing.
func TestSameServiceNameInTwoClusters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tdA := f.RegisterTaskDefinition(TaskDefinition{Family: "a", Containers: []Container{{Name: "web", Image: "nginx:1"}}})
	tdB := f.RegisterTaskDefinition(TaskDefinition{Family: "b", Containers: []Container{{Name: "web", Image: "nginx:2"}}})
	arnA := f.CreateService(Service{Cluster: "alpha", Name: "web", TaskDefinition: tdA, DesiredCount: 1})
	arnB := f.CreateService(Service{Cluster: "beta", Name: "web", TaskDefinition: tdB, DesiredCount: 2})
	if arnA == arnB {
		t.Fatalf("same ARN %s in both clusters", arnA)
	}

	for cluster, want := range map[string]string{"alpha": arnA, "beta": arnB} {
		list, err := f.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
		if err != nil || !slices.Equal(list.ServiceArns, []string{want}) {
			t.Fatalf("ListServices(%s) = %v, %v", cluster, list, err)
		}
	}
	clusterB := "arn:aws:ecs:us-east-1:123456789012:cluster/beta"
	out, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterB), Services: []string{"web", arnB, arnA}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 2 || aws.ToString(out.Services[0].TaskDefinition) != tdB || aws.ToString(out.Services[1].ClusterArn) != clusterB ||
		len(out.Failures) != 1 || aws.ToString(out.Failures[0].Arn) != arnA || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeServices(beta) = %+v, failures %+v", out.Services, out.Failures)
	}

	var snf *ecstypes.ServiceNotFoundException
	if _, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("alpha"), Service: aws.String(arnB), ForceNewDeployment: true}); !errors.As(err, &snf) {
		t.Fatalf("UpdateService(alpha, beta's ARN): %v, want ServiceNotFoundException", err)
	}
	f.forceDeploy(t, "alpha", "web")
	if a, b := f.describe(t, "alpha", "web"), f.describe(t, "beta", "web"); len(a.Deployments) != 2 || len(b.Deployments) != 1 {
		t.Fatalf("forcing alpha's web: alpha has %d deployments, beta %d", len(a.Deployments), len(b.Deployments))
	}

	var cnf *ecstypes.ClusterNotFoundException
	if _, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("gamma"), Service: aws.String("web"), ForceNewDeployment: true}); !errors.As(err, &cnf) {
		t.Fatalf("UpdateService(gamma): %v, want ClusterNotFoundException", err)
	}
	clusters, err := f.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"alpha", clusterB}})
	if err != nil || len(clusters.Clusters) != 2 || clusters.Clusters[1].ActiveServicesCount != 1 || clusters.Clusters[1].RunningTasksCount != 2 {
		t.Fatalf("DescribeClusters = %+v, %v", clusters, err)
	}
}
