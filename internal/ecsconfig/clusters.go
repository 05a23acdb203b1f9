package ecsconfig

import (
	"fmt"
	"strings"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
)

// clusterKey names a cluster in the run's maps: its name, the same whether
// an instance or FleetSizes gives its ARN or its name. One run talks to one
// account and region, where a name is one cluster.
func clusterKey(cluster string) string { return awsname.Short(cluster) }

// byCluster groups insts by cluster, in the order each cluster first
// appears and the instances' order within it.
func byCluster(insts []Instance) [][]Instance {
	return batch.GroupBy(insts, func(i Instance) string { return clusterKey(i.Cluster) })
}

// checkClusters refuses an instance that names no cluster when Options
// names none either (newRunner gave each the fallback already).
func checkClusters(insts []Instance) error {
	for _, inst := range insts {
		if inst.Cluster == "" {
			return fmt.Errorf("ecs-config: %s names no cluster, and Options.Cluster is empty: no cluster to look up its agent in", nameInstance(inst))
		}
	}
	return nil
}

// sizeFleets finds the run's clusters, in the order they first appear, and
// the size of each one's fleet that its batches take a quarter of:
// FleetSizes' entry, else FleetSize for a run of one cluster, else the
// number of its instances given.
func (r *runner) sizeFleets() error {
	named, err := fleetSizes(r.o.FleetSizes)
	if err != nil {
		return err
	}
	r.sizes = map[string]int{}
	groups := byCluster(r.insts)
	for _, g := range groups {
		c, k := g[0].Cluster, clusterKey(g[0].Cluster)
		r.clusters = append(r.clusters, c)
		switch {
		case named[k] > 0:
			r.sizes[k] = named[k]
		case r.o.FleetSize > 0 && len(groups) == 1:
			r.sizes[k] = r.o.FleetSize
		case r.o.FleetSize > 0:
			return fmt.Errorf("ecs-config: Options.FleetSize is the size of one cluster's fleet, but the instances belong to %d clusters and FleetSizes does not name cluster %s: give each cluster's size in FleetSizes",
				len(groups), clusterKey(c))
		default:
			r.sizes[k] = len(g)
		}
	}
	return nil
}

// fleetSizes is FleetSizes by clusterKey. An ARN and a name of one cluster
// that give it two sizes are refused.
func fleetSizes(in map[string]int) (map[string]int, error) {
	out := map[string]int{}
	for c, n := range in {
		k := clusterKey(c)
		if prev, ok := out[k]; ok && prev != n {
			return nil, fmt.Errorf("ecs-config: FleetSizes gives cluster %s two sizes, %d and %d", k, min(prev, n), max(prev, n))
		}
		out[k] = n
	}
	return out, nil
}

// quota is how many of cluster's instances one batch takes: a quarter of
// its fleet, at least 1.
func (r *runner) quota(cluster string) int {
	return max(1, r.sizes[clusterKey(cluster)]/4)
}

// fleetBatches cuts the instances into the run's batches. The clusters are
// changed side by side: batch k holds the k-th slice of each cluster's
// instances, each slice at most that cluster's quota. No batch takes more
// than a quarter of any one cluster's fleet, and a run over several
// clusters takes as many batches as its largest cluster would alone.
func (r *runner) fleetBatches() [][]Instance {
	var out [][]Instance
	for _, g := range byCluster(r.insts) {
		for k, chunk := range batch.Chunks(g, r.quota(g[0].Cluster)) {
			if k == len(out) {
				out = append(out, nil)
			}
			out[k] = append(out[k], chunk...)
		}
	}
	return out
}

// several reports whether the run's instances belong to more than one
// cluster: its lines and errors then name each instance's cluster.
func (r *runner) several() bool { return len(r.clusters) > 1 }

// describeBatch names a batch's instances for a progress line, cluster by
// cluster when the run has several.
func (r *runner) describeBatch(g []Instance) string {
	if !r.several() {
		return ids(g)
	}
	var parts []string
	for _, c := range byCluster(g) {
		parts = append(parts, fmt.Sprintf("cluster %s: %s", clusterKey(c[0].Cluster), ids(c)))
	}
	return strings.Join(parts, "; ")
}

// clustersOf names the clusters of outcomes, each once, in order:
// "cluster a", "clusters a, b".
func clustersOf(outcomes []Outcome) string {
	var names []string
	seen := map[string]bool{}
	for _, o := range outcomes {
		if k := clusterKey(o.Cluster); !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	if len(names) == 1 {
		return "cluster " + names[0]
	}
	return "clusters " + strings.Join(names, ", ")
}

// nameList joins names with ", " in at most room bytes, the names that do
// not fit counted at the end ("a, b and 3 more").
func nameList(names []string, room int) string {
	for k := len(names); k > 0; k-- {
		s := strings.Join(names[:k], ", ")
		if k < len(names) {
			s += fmt.Sprintf(" and %d more", len(names)-k)
		}
		if len(s) <= room {
			return s
		}
	}
	return fmt.Sprintf("%d clusters", len(names))
}

// inClusters is " in N clusters" for a progress line of a run over several.
func (r *runner) inClusters() string {
	if !r.several() {
		return ""
	}
	return fmt.Sprintf(" in %d clusters", len(r.clusters))
}
