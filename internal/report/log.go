package report

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/verify"
)

// Plan prints what the rotation touches, as a table: the cluster, the
// store's target as the store tells it, and the services.
func (r *Reporter) Plan(p plan.Plan, store Stored) {
	switch len(p.Clusters) {
	case 1:
		r.Infof("cluster  %s", p.Clusters[0])
	default:
		r.Infof("clusters %d: %s", len(p.Clusters), strings.Join(p.Clusters, ", "))
	}
	r.planPerCluster(p)
	store.planLog(r)
	if len(p.Services) == 0 {
		r.Infof("services none")
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	several := len(p.Clusters) > 1
	header := "SERVICE\tTASK DEFINITION\tDESIRED\tRUNNING\tCONTAINER\tIMAGE\tROTATED"
	if several {
		header = "CLUSTER\t" + header
	}
	fmt.Fprintln(tw, header)
	for _, s := range p.Services {
		for i, c := range s.Containers {
			cluster, name, td, desired, running := r.cell(awsname.Short(s.ClusterARN)), r.cell(s.Name), r.cell(awsname.Short(s.TaskDefinition)), fmt.Sprint(s.DesiredCount), fmt.Sprint(s.RunningCount)
			if i > 0 {
				cluster, name, td, desired, running = "", "", "", "", ""
			}
			row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", name, td, desired, running, r.cell(c.Name), r.cell(c.Image), yesNo(c.Rotated()))
			if several {
				row = cluster + "\t" + row
			}
			fmt.Fprintln(tw, row)
		}
	}
	tw.Flush()
	if len(p.Services) > 0 {
		r.lines(b.String())
	}
	for _, w := range p.Warnings {
		r.Warningf("%s", w)
	}
}

// VerifyResults prints one line per checked image.
func (r *Reporter) VerifyResults(results []verify.ImageResult) {
	for _, v := range results {
		if v.Status == verify.StatusOK {
			r.Infof("ok    %s (%s, %s)", v.Image, shortDigest(v.Digest), v.Duration.Round(time.Millisecond))
			continue
		}
		r.Infof("FAIL  %s: %s", v.Image, v.Detail)
	}
}

// Progress prints a service's line when its state changed.
func (r *Reporter) Progress(s rollout.ServiceResult) {
	state := s.RolloutState
	if state == "" {
		state = "-"
	}
	r.Infof("%-20s deployment %s  %d/%d running  %d pending  %d failed  %s  %s",
		s.Service, s.DeploymentID, s.RunningCount, s.DesiredCount, s.PendingCount, s.FailedTasks, state, elapsed(s.Elapsed))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// lines prints a block of the report's own text (a table whose outside
// cells were cut with cell) line by line.
func (r *Reporter) lines(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		r.info(r.ownLine(l))
	}
}
