package ecsconfig

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The two clusters of the tests: alpha (4 instances, named by its ARN) and
// beta (8, named by its name).
const (
	alphaARN = "arn:aws:ecs:us-east-1:123456789012:cluster/alpha"
	beta     = "beta"
)

// clusterFleet is n systemd instances of cluster, their ids numbered from
// first.
func clusterFleet(cluster string, first, n int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		out[i] = Instance{
			ContainerInstanceARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/%s/%032x", clusterKey(cluster), first+i),
			EC2InstanceID:        fmt.Sprintf("i-%017x", first+i),
			Init:                 "systemd",
			Cluster:              cluster,
		}
	}
	return out
}

// twoClusters is alpha's 4 instances and beta's 8, interleaved as a plan
// across clusters might list them.
func twoClusters() []Instance {
	a, b := clusterFleet(alphaARN, 1, 4), clusterFleet(beta, 101, 8)
	var out []Instance
	for i := range b {
		if i < len(a) {
			out = append(out, a[i])
		}
		out = append(out, b[i])
	}
	return out
}

// twoClusterOptions has no Options.Cluster: every instance names its own.
func twoClusterOptions(l *logLines) Options {
	o := testOptions(l)
	o.Cluster = ""
	return o
}

// appliedBatches are the batches of mode as the fake saw them: the
// instances of the commands of mode sent with no DescribeContainerInstances
// between them (a batch's agents are described before the next is sent).
func (f *fake) appliedBatches(mode string) [][]string {
	cmds := f.sent(mode)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]string
	var cur []string
	next := 0
	for _, call := range f.log {
		switch {
		case call == "SendCommand "+mode:
			cur = append(cur, cmds[next].in.InstanceIds...)
			next++
		case call == "DescribeContainerInstances" && len(cur) > 0:
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// perCluster counts ids by the fake's cluster of each.
func (f *fake) perCluster(ids []string) map[string]int {
	n := map[string]int{}
	for _, id := range ids {
		n[f.clusterOf[id]]++
	}
	return n
}

// checkBatches fails when a batch takes more than quota of a cluster, and
// returns each batch's counts by cluster, e.g. "alpha:1 beta:2".
func (f *fake) checkBatches(t *testing.T, mode string, quota map[string]int) []string {
	t.Helper()
	var out []string
	for i, b := range f.appliedBatches(mode) {
		n := f.perCluster(b)
		for c, k := range n {
			if k > quota[c] {
				t.Errorf("%s batch %d took %d instances of cluster %s, more than a quarter (%d): %v", mode, i+1, k, c, quota[c], b)
			}
		}
		out = append(out, fmt.Sprintf("alpha:%d beta:%d", n["alpha"], n["beta"]))
	}
	return out
}

// checkDescribes fails when a DescribeContainerInstances names a container
// instance of another cluster than its own, and returns the clusters
// described, each once.
func (f *fake) checkDescribes(t *testing.T) map[string]bool {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for i, arns := range f.describes {
		in := clusterKey(f.describedIn[i])
		seen[in] = true
		for _, arn := range arns {
			if c := f.clusterOf[f.byARN[arn]]; c != in {
				t.Errorf("DescribeContainerInstances in cluster %q named %s, of cluster %s", f.describedIn[i], arn, c)
			}
		}
	}
	return seen
}

func TestTwoClustersPreflightAllThenAQuarterOfEach(t *testing.T) {
	insts := twoClusters()
	f := newFake(t, insts)
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, twoClusterOptions(&l))
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, l.String())
	}
	if n := res.Count(StatusUpdated); n != 12 {
		t.Errorf("%d instances updated, want 12: %s", n, statuses(res))
	}
	// One preflight over the 12, ended before the first apply was sent.
	var pre []string
	for _, c := range f.sent(modePreflight) {
		pre = append(pre, c.in.InstanceIds...)
	}
	if len(pre) != 12 || fmt.Sprint(f.perCluster(pre)) != "map[alpha:4 beta:8]" {
		t.Errorf("the preflight went to %v", f.perCluster(pre))
	}
	firstApply := strings.Index(strings.Join(f.log, "\n"), "SendCommand apply")
	lastPre := strings.LastIndex(strings.Join(f.log, "\n"), "SendCommand preflight")
	if firstApply < 0 || lastPre > firstApply || len(f.sentWhileRunning) > 0 {
		t.Errorf("an apply was sent before the preflight ended: %v", f.sentWhileRunning)
	}
	// A quarter of each cluster per batch, the clusters side by side.
	got := f.checkBatches(t, modeApply, map[string]int{"alpha": 1, "beta": 2})
	if want := "[alpha:1 beta:2 alpha:1 beta:2 alpha:1 beta:2 alpha:1 beta:2]"; fmt.Sprint(got) != want {
		t.Errorf("apply batches %v, want %s", got, want)
	}
	if len(f.sentWhileOff) > 0 {
		t.Errorf("commands sent while an agent was away: %v", f.sentWhileOff)
	}
	if seen := f.checkDescribes(t); !seen["alpha"] || !seen["beta"] {
		t.Errorf("clusters described: %v", seen)
	}
	// Each outcome carries its cluster as the instance named it.
	for i, o := range res.Instances {
		if o.Cluster != insts[i].Cluster || !o.AgentReconnected {
			t.Errorf("%s: cluster %q, reconnected %v; want %q", o.EC2InstanceID, o.Cluster, o.AgentReconnected, insts[i].Cluster)
		}
	}
	if desc := aws.ToString(f.puts[0].Description); !strings.Contains(desc, "of clusters alpha, beta during one run") {
		t.Errorf("parameter description %q does not name both clusters", desc)
	}
}

// A failure in beta's part of a batch ends the run after that batch, in
// both clusters; the error and the skipped instances name the cluster.
func TestTwoClustersFailureInOneStopsBoth(t *testing.T) {
	insts := twoClusters()
	bad := insts[5] // beta's third instance: its second batch
	if bad.Cluster != beta {
		t.Fatalf("instance %s is of %s", bad.EC2InstanceID, bad.Cluster)
	}
	f := newFake(t, insts)
	f.behave = func(mode, id string) reply {
		switch {
		case mode == modePreflight:
			return ok(mode, "checked", "not-restarted")
		case id == bad.EC2InstanceID:
			return scriptErr("restart-failed", "systemctl restart ecs exited 1")
		}
		return ok(mode, "updated", "restarted")
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, twoClusterOptions(&l))
	var e *Error
	if !errors.As(err, &e) || e.Step != StepApply || len(e.Failed) != 1 || e.Clusters != 2 {
		t.Fatalf("err = %v (%+v), want an apply *Error of 2 clusters", err, e)
	}
	// Batches alpha1 beta1 beta2 | alpha2 beta3 beta4, then none; in the
	// order given: a1 b1 a2 b2 a3 b3 a4 b4 b5 b6 b7 b8.
	if want := "updated updated updated updated skipped failed skipped updated skipped skipped skipped skipped"; statuses(res) != want {
		t.Errorf("statuses %s, want %s", statuses(res), want)
	}
	if got := f.checkBatches(t, modeApply, map[string]int{"alpha": 1, "beta": 2}); len(got) != 2 {
		t.Errorf("apply batches %v, want 2", got)
	}
	if !strings.Contains(err.Error(), bad.EC2InstanceID) || !strings.Contains(err.Error(), "of cluster beta)") || e.Changed != 5 || e.Skipped != 6 {
		t.Errorf("error %v (changed %d, skipped %d)", err, e.Changed, e.Skipped)
	}
	for _, o := range res.Instances {
		if o.Status == StatusSkipped && !strings.Contains(o.Detail, "stopped at batch 2 of 4 after failures in cluster beta") {
			t.Errorf("%s (cluster %s): detail %q", o.EC2InstanceID, o.Cluster, o.Detail)
		}
	}
	if len(res.Changed()) != 6 {
		t.Errorf("Changed: %d, want 6 (5 updated, 1 written before its restart failed)", len(res.Changed()))
	}
}

// Rollback is given only the changed instances: FleetSizes keeps its
// batches a quarter of each whole fleet, and each agent is described in
// its own cluster.
func TestTwoClustersRollbackInTheFleetsBatches(t *testing.T) {
	insts := twoClusters()
	f := newFake(t, insts)
	var l logLines
	o := twoClusterOptions(&l)
	// Keys by the other form of each cluster's name: ARN and name are one.
	o.FleetSizes = map[string]int{"alpha": 4, "arn:aws:ecs:us-east-1:123456789012:cluster/beta": 8}
	changed := insts[:6] // alpha 1-3, beta 1-3
	res, err := Rollback(context.Background(), f.clients(), changed, o)
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, l.String())
	}
	if want := "restored restored restored restored restored restored"; statuses(res) != want {
		t.Errorf("statuses %s", statuses(res))
	}
	got := f.checkBatches(t, modeRollback, map[string]int{"alpha": 1, "beta": 2})
	if want := "[alpha:1 beta:2 alpha:1 beta:1 alpha:1 beta:0]"; fmt.Sprint(got) != want {
		t.Errorf("rollback batches %v, want %s", got, want)
	}
	if seen := f.checkDescribes(t); !seen["alpha"] || !seen["beta"] {
		t.Errorf("clusters described: %v", seen)
	}
	if len(f.puts) != 0 || len(f.sent(modePreflight)) != 0 {
		t.Error("the rollback put a parameter or ran a preflight")
	}

	// Without FleetSizes each cluster's quarter is of the instances given:
	// 3 of each, one at a time.
	f = newFake(t, insts)
	o.FleetSizes = nil
	if _, err := Rollback(context.Background(), f.clients(), changed, o); err != nil {
		t.Fatal(err)
	}
	if got := f.checkBatches(t, modeRollback, map[string]int{"alpha": 1, "beta": 1}); len(got) != 3 {
		t.Errorf("rollback batches without FleetSizes %v, want 3", got)
	}
}

// A describe that fails in one cluster is retried, and the other cluster's
// agents are still looked at; the log names the cluster that failed.
func TestTwoClustersDescribeFailureNamesTheCluster(t *testing.T) {
	insts := twoClusters()
	f := newFake(t, insts)
	var failedAt []int               // indexes in f.describedIn
	f.describeFault = func() error { // under f.mu
		if i := len(f.describedIn) - 1; f.describedIn[i] == alphaARN && len(failedAt) < 2 {
			failedAt = append(failedAt, i)
			return apiErr("ThrottlingException", "slow down")
		}
		return nil
	}
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, twoClusterOptions(&l))
	if err != nil || res.Count(StatusUpdated) != 12 {
		t.Fatalf("Apply: %v (%s)", err, statuses(res))
	}
	if strings.Count(l.String(), "container instances in cluster alpha") != 2 || strings.Contains(l.String(), "in cluster beta") {
		t.Errorf("the log does not name the cluster whose look failed, twice:\n%s", l.String())
	}
	for _, i := range failedAt {
		if i+1 >= len(f.describedIn) || f.describedIn[i+1] != beta {
			t.Errorf("the look at beta's agents did not follow the failed look at alpha's (call %d)", i+1)
		}
	}

	f = newFake(t, insts)
	f.describeFault = func() error {
		if f.describedIn[len(f.describedIn)-1] == beta {
			return apiErr("AccessDeniedException", "no")
		}
		return nil
	}
	_, err = Apply(context.Background(), f.clients(), insts, twoClusterOptions(&l))
	if err == nil || !strings.Contains(err.Error(), "ecs:DescribeContainerInstances") || !strings.Contains(err.Error(), "in cluster beta") {
		t.Fatalf("err = %v, want the denial in cluster beta", err)
	}
}

// An instance without a cluster is of Options.Cluster; with neither, or a
// FleetSize that cannot say which cluster it sizes, nothing is called.
func TestClusterFallbackAndRefusals(t *testing.T) {
	insts := append(fleet(2), clusterFleet(beta, 101, 2)...)
	f := newFake(t, insts)
	var l logLines
	res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Instances[0].Cluster + " " + res.Instances[2].Cluster; got != "prod beta" {
		t.Errorf("outcomes' clusters %q, want prod beta", got)
	}
	f.checkDescribes(t)

	for name, mutate := range map[string]func(*Options){
		"no cluster":        func(o *Options) { o.Cluster = "" },
		"fleet size of two": func(o *Options) { o.FleetSize = 8 },
		"two sizes of one": func(o *Options) {
			o.FleetSizes = map[string]int{beta: 4, "arn:aws:ecs:us-east-1:123456789012:cluster/beta": 8}
		},
		"fleet size, one unsized": func(o *Options) { o.FleetSize, o.FleetSizes = 8, map[string]int{beta: 4} },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, insts)
			o := testOptions(&l)
			mutate(&o)
			if _, err := Apply(context.Background(), f.clients(), insts, o); err == nil {
				t.Error("no error")
			}
			if len(f.log) != 0 {
				t.Errorf("calls %v", f.log)
			}
		})
	}
	// FleetSize still sizes a fleet of one cluster; FleetSizes beside it
	// lets it name each.
	f = newFake(t, insts)
	o := testOptions(&l)
	o.FleetSize, o.FleetSizes = 8, map[string]int{"prod": 8, beta: 8}
	if _, err := Apply(context.Background(), f.clients(), insts, o); err != nil {
		t.Fatal(err)
	}
	if got := f.checkBatches(t, modeApply, map[string]int{"prod": 2, "beta": 2}); len(got) != 1 {
		t.Errorf("batches %v, want 1", got)
	}
}

// The description names every cluster that fits in SSM's 1024 characters
// and counts the rest; a later run still reads its deadline.
func TestParameterDescriptionNamesTheClusters(t *testing.T) {
	deadline := time.Date(2026, 11, 1, 1, 10, 0, 0, time.UTC)
	one := parameterDescription([]string{alphaARN}, deadline)
	if want := "ecs-registry-rotate: registry auth data for the container instances of cluster alpha during one run; deleted when the run ends (deadline 2026-11-01T01:10:00Z)"; one != want {
		t.Errorf("one cluster: %q, want %q", one, want)
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:cluster/%s-%02d", strings.Repeat("c", 60), i))
	}
	d := parameterDescription(many, deadline)
	if len(d) > 1024 || !strings.Contains(d, "of clusters "+strings.Repeat("c", 60)+"-00, ") || !strings.Contains(d, " more during one run") {
		t.Errorf("description of %d characters: %q", len(d), d)
	}
	if got := parameterDeadline(ssmtypes.ParameterMetadata{Description: aws.String(d)}); !got.Equal(deadline) {
		t.Errorf("deadline read back %v, want %v", got, deadline)
	}
}
