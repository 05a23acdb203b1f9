package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
)

// clusters are the clusters a plan examines: those the cluster input
// lists, or for "*" every cluster of the region, 100 a page.
func clusters(ctx context.Context, api ECS, scope Scope) ([]string, error) {
	if !scope.AllClusters {
		return scope.Clusters, nil
	}
	var arns []string
	pages := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap(err, "ecs:ListClusters", "the clusters of the region")
		}
		arns = append(arns, page.ClusterArns...)
	}
	if len(arns) == 0 {
		return nil, fmt.Errorf("cluster * found no cluster in this account and region (ListClusters returned none); nothing was changed: check %s", scope.Refer("aws-region"))
	}
	return arns, nil
}

// describeListed reads the services the user named, each in its cluster: a
// service ARN or cluster/name in the cluster it names, a bare name in the
// only cluster, or, with several, in every cluster, where it must be found
// in exactly one. They come back in the order named.
func (d discovery) describeListed(ctx context.Context, names []string) ([]ecstypes.Service, error) {
	asked := map[string][]string{} // cluster → the names asked of it
	order := slices.Clone(d.clusters)
	var bare []string
	for _, n := range names {
		cluster, name, ok := d.clusterOf(n)
		switch {
		case ok:
			if !slices.Contains(order, cluster) {
				order = append(order, cluster) // "*" and a cluster the region lacks: ECS says so
			}
			asked[cluster] = append(asked[cluster], name)
		case len(d.clusters) == 1:
			asked[d.clusters[0]] = append(asked[d.clusters[0]], n)
		default:
			bare = append(bare, n)
			for _, c := range d.clusters {
				asked[c] = append(asked[c], n)
			}
		}
	}
	found := map[string][]ecstypes.Service{} // name as asked → where it was found
	var missing []string
	for _, cluster := range order {
		if len(asked[cluster]) == 0 {
			continue
		}
		described, gone, err := d.describe(ctx, cluster, asked[cluster])
		if err != nil {
			return nil, err
		}
		for _, s := range described {
			key := matchName(asked[cluster], s)
			found[key] = append(found[key], s)
		}
		for _, g := range gone {
			if !slices.Contains(bare, g) {
				missing = append(missing, qualified(cluster, g, len(d.clusters)))
			}
		}
	}
	return d.inOrder(names, bare, found, missing)
}

// inOrder puts the services found in the order named, each once, and
// refuses a bare name that is in no cluster or in several.
func (d discovery) inOrder(names, bare []string, found map[string][]ecstypes.Service, missing []string) ([]ecstypes.Service, error) {
	var ambiguous []string
	for _, n := range bare {
		switch in := found[n]; {
		case len(in) == 0:
			missing = append(missing, n)
		case len(in) > 1:
			clusters := make([]string, len(in))
			for i, s := range in {
				clusters[i] = awsname.Short(aws.ToString(s.ClusterArn))
			}
			ambiguous = append(ambiguous, fmt.Sprintf("%s is a service of clusters %s: write it as %s", n, strings.Join(clusters, " and "), strings.Join(prefixed(clusters, n), " or ")))
		}
	}
	if len(ambiguous) > 0 {
		return nil, inputs.Problems{{Input: "services", Message: strings.Join(ambiguous, "; ")}}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("service %s not found in %s: check %s", strings.Join(missing, ", "), d.where(), d.refer("services"))
	}
	var out []ecstypes.Service
	seen := map[string]bool{}
	for _, n := range names {
		for _, s := range found[d.askedAs(n)] {
			if arn := aws.ToString(s.ServiceArn); !seen[arn] {
				seen[arn] = true
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// clusterOf is the cluster (as the plan names it) and the name to ask it
// for, for a service ARN of the new format or a cluster/name; false for a
// bare name or an ARN of the old format, which do not say.
func (d discovery) clusterOf(n string) (cluster, name string, ok bool) {
	var clusterName string
	switch {
	case strings.HasPrefix(n, "arn:"):
		_, rest, _ := strings.Cut(n, ":service/")
		c, _, inCluster := strings.Cut(rest, "/")
		if !inCluster {
			return "", "", false // the old format: service/<name>
		}
		clusterName, name = c, n
	case strings.Contains(n, "/"):
		clusterName, name, _ = strings.Cut(n, "/")
	default:
		return "", "", false
	}
	for _, c := range d.clusters {
		if awsname.Short(c) == clusterName {
			return c, name, true
		}
	}
	// A cluster the input does not list (only possible with "*", for a
	// cluster the region does not have): asked there, it is not found.
	return clusterName, name, true
}

// askedAs is how n was asked of its cluster: a cluster/name is asked by name.
func (d discovery) askedAs(n string) string {
	if _, name, ok := d.clusterOf(n); ok {
		return name
	}
	return n
}

// matchName is which of the names asked a described service answers.
func matchName(asked []string, s ecstypes.Service) string {
	for _, n := range asked {
		if n == aws.ToString(s.ServiceArn) || n == aws.ToString(s.ServiceName) || awsname.Short(n) == aws.ToString(s.ServiceName) {
			return n
		}
	}
	return aws.ToString(s.ServiceName)
}

// qualified names a service not found as the user would write it.
func qualified(cluster, name string, clusters int) string {
	if clusters == 1 || strings.HasPrefix(name, "arn:") {
		return name
	}
	return awsname.Short(cluster) + "/" + name
}

func prefixed(clusters []string, name string) []string {
	out := make([]string, len(clusters))
	for i, c := range clusters {
		out[i] = c + "/" + name
	}
	return out
}

// taskDefinitionsOf are the task definitions a service's tasks may run:
// its own, those of its deployments still in progress, and those of its
// task sets (CODE_DEPLOY and EXTERNAL controllers), its own first.
func taskDefinitionsOf(s ecstypes.Service) []string {
	var arns []string
	add := func(arn *string) {
		if a := aws.ToString(arn); a != "" && !slices.Contains(arns, a) {
			arns = append(arns, a)
		}
	}
	add(s.TaskDefinition)
	for _, d := range s.Deployments {
		add(d.TaskDefinition)
	}
	for _, ts := range s.TaskSets {
		add(ts.TaskDefinition)
	}
	return arns
}

// consumerContainers are the containers of the service's own task
// definition, then those of its other task definitions that pull with the
// credentials: a service whose deployment in progress, or one of its task
// sets, still pulls with them uses them.
func consumerContainers(s ecstypes.Service, defs map[string][]Container) []Container {
	arns := taskDefinitionsOf(s)
	if len(arns) == 0 {
		return nil
	}
	containers := slices.Clone(defs[arns[0]])
	if aws.ToString(s.TaskDefinition) == "" {
		containers = nil // no own task definition (task sets only): each set's users count
	}
	for _, arn := range arns {
		for _, c := range defs[arn] {
			if c.Rotated() && !slices.Contains(containers, c) {
				containers = append(containers, c)
			}
		}
	}
	return containers
}
