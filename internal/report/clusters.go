package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// clusters are the clusters of the run, by short name, in plan order:
// those where nothing uses the credentials included.
func (run Run) clusters() []string {
	var names []string
	add := func(c string) {
		if n := awsname.Short(c); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if run.Plan != nil {
		for _, c := range run.Plan.Clusters {
			add(c)
		}
	}
	for _, s := range run.services() {
		add(s.Cluster)
	}
	return names
}

// planPerCluster prints, for a plan over several clusters, how many services
// of each pull with the credentials: a cluster where none does says so.
func (r *Reporter) planPerCluster(p plan.Plan) {
	if len(p.Clusters) < 2 {
		return
	}
	for _, c := range p.Clusters {
		n := 0
		for _, s := range p.Services {
			if awsname.Short(s.ClusterARN) == awsname.Short(c) {
				n++
			}
		}
		switch n {
		case 0:
			r.Infof("cluster  %s: no service pulls with these credentials", awsname.Short(c))
		default:
			r.Infof("cluster  %s: %d services", awsname.Short(c), n)
		}
	}
}

// clusterLine counts a cluster's services by what their rollout came to:
// rolled out (deployed by this run and done), failed, unchanged (an earlier
// deployment that a re-run adopted) and not waited for.
func (run Run) clusterLine(cluster string, services []rollout.ServiceResult) string {
	var rolled, failed, unchanged, rolling int
	for _, s := range services {
		started := slices.ContainsFunc(run.Deployments, func(d rollout.Deployment) bool {
			return d.Service == s.Service && awsname.Short(d.Cluster) == cluster
		})
		switch {
		case s.State == rollout.StateSucceeded && started:
			rolled++
		case s.State == rollout.StateSucceeded:
			unchanged++
		case s.State == rollout.StateInProgress || s.State == "":
			rolling++
		default:
			failed++
		}
	}
	switch {
	case len(services) == 0:
		return "no service pulls with these credentials"
	case run.Result == ResultDryRun:
		return fmt.Sprintf("%d services pull with these credentials (dry run: none was rolled)", len(services))
	}
	line := fmt.Sprintf("%d rolled out, %d failed, %d unchanged", rolled, failed, unchanged)
	if rolling > 0 {
		line += fmt.Sprintf(", %d not waited for", rolling)
	}
	return line
}

// inCluster are the services of one cluster.
func inCluster(services []rollout.ServiceResult, cluster string) []rollout.ServiceResult {
	var out []rollout.ServiceResult
	for _, s := range services {
		if awsname.Short(s.Cluster) == cluster {
			out = append(out, s)
		}
	}
	return out
}

// writeServicesByCluster is writeServices for a run over several clusters:
// a line per cluster, then its services.
func writeServicesByCluster(b *summaryWriter, run Run) {
	clusters, all := run.clusters(), run.services()
	if len(clusters) < 2 {
		writeServices(b, all)
		return
	}
	b.WriteString("### Services by cluster\n\n")
	for _, c := range clusters {
		services := inCluster(all, c)
		fmt.Fprintf(b, "**Cluster %s**: %s\n\n", b.md(c), run.clusterLine(c, services))
		if len(services) > 0 {
			writeServiceTable(b, services)
		}
	}
}

// writeInstancesByCluster is writeInstances for several clusters: a line per
// cluster counting its instances by status, then its instances.
func writeInstancesByCluster(b *summaryWriter, instances []Instance) {
	var clusters []string
	for _, in := range instances {
		if c := awsname.Short(in.Cluster); !slices.Contains(clusters, c) {
			clusters = append(clusters, c)
		}
	}
	if len(clusters) < 2 {
		writeInstances(b, instances)
		return
	}
	for _, c := range clusters {
		var mine []Instance
		count := map[string]int{}
		var statuses []string
		for _, in := range instances {
			if awsname.Short(in.Cluster) == c {
				mine = append(mine, in)
				if count[in.Status]++; count[in.Status] == 1 {
					statuses = append(statuses, in.Status)
				}
			}
		}
		parts := make([]string, len(statuses))
		for i, s := range statuses {
			parts[i] = fmt.Sprintf("%d %s", count[s], s)
		}
		fmt.Fprintf(b, "**Cluster %s**: %d instance%s: %s\n\n", b.md(c), len(mine), plural(len(mine)), b.md(strings.Join(parts, ", ")))
		writeInstances(b, mine)
	}
}
