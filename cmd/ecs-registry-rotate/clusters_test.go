package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
)

// newClustersWorld is a region of four clusters: prod runs web and worker,
// which pull with the secret; staging runs its own web, api (mid-rollout
// from a task definition that pulls with the secret to one that does not)
// and proxy (public images only); batch runs job, which pulls with another
// secret; empty runs nothing.
func newClustersWorld(t *testing.T) *world {
	t.Helper()
	fake, err := awsfake.Start(awsfake.Options{Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w := &world{fake: fake}
	for _, c := range []string{"prod", "staging", "empty", "batch"} {
		fake.CreateCluster(c)
	}
	w.secretARN = fake.CreateSecret("prod/registry", `{"username":"deploy","password":"`+oldPassword+`"}`)
	other := fake.CreateSecret("batch/registry", `{"username":"batch","password":"`+oldPassword+`"}`)
	w.webImage = fake.PushImage("shop/web:1.4.2")
	td := func(family, image, creds string) string {
		return fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: family, Containers: []awsfake.Container{{Name: family, Image: image, CredentialsParameter: creds}}})
	}
	w.webTD = td("web", w.webImage, w.secretARN)
	worker := td("worker", fake.PushImage("shop/worker:2.0.1"), "prod/registry")
	apiOld := td("api", fake.PushImage("shop/api:1"), w.secretARN)
	apiNew := td("api", "public.ecr.aws/nginx/nginx:1.27", "")
	proxy := td("proxy", "nginx:1.27", "")
	job := td("job", fake.PushImage("shop/job:3"), other)
	fake.SetRegistryCredentials(fake.RegistryHost(), user, oldPassword)
	for _, s := range []awsfake.Service{
		{Cluster: "prod", Name: "web", TaskDefinition: w.webTD, DesiredCount: 2},
		{Cluster: "prod", Name: "worker", TaskDefinition: worker, DesiredCount: 1},
		{Cluster: "staging", Name: "web", TaskDefinition: w.webTD, DesiredCount: 1},
		{Cluster: "staging", Name: "api", TaskDefinition: apiNew, ActiveTaskDefinition: apiOld, DesiredCount: 1},
		{Cluster: "staging", Name: "proxy", TaskDefinition: proxy, DesiredCount: 1},
		{Cluster: "batch", Name: "job", TaskDefinition: job, DesiredCount: 1},
	} {
		fake.CreateService(s)
	}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, newPassword)
	return w
}

// deployed are the services UpdateService was asked to roll, as
// cluster/service.
func (w *world) deployed(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, c := range w.fake.MutatingCalls() {
		if c.Operation != "UpdateService" {
			continue
		}
		var in struct{ Cluster, Service string }
		if err := json.Unmarshal(c.Input, &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, awsname.Short(in.Cluster)+"/"+in.Service)
	}
	slices.Sort(out)
	return out
}

// lockedClusters are the clusters whose lock the run took.
func (w *world) lockedClusters() []string {
	var out []string
	for _, c := range w.fake.MutatingCalls() {
		_, name, ok := strings.Cut(string(c.Input), lock.Prefix+"cluster/")
		if c.Operation == "PutParameter" && ok {
			name, _, _ = strings.Cut(name, `"`)
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestEveryClusterOfTheRegion: with cluster "*", the run finds the
// consumers in every cluster (the one whose deployment in progress still
// runs a task definition that names the secret included), writes the secret
// once, describes each task definition once, rolls exactly the consumers in
// one watch, locks only the clusters it changes, and groups the summary by
// cluster, naming the clusters where nothing uses the secret.
func TestEveryClusterOfTheRegion(t *testing.T) {
	w := newClustersWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "*"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d result %q, want 0 success\n%s", r.code, r.outputs["result"], r.stdout)
	}
	want := []string{"prod/web", "prod/worker", "staging/api", "staging/web"}
	if got := w.deployed(t); !slices.Equal(got, want) {
		t.Errorf("rolled %v, want exactly the consumers %v", got, want)
	}
	counts := w.fake.CallCounts()
	if counts["PutSecretValue"] != 1 {
		t.Errorf("%d PutSecretValue calls, want one write", counts["PutSecretValue"])
	}
	// web, worker, api (two revisions), proxy and job: one call each.
	if counts["DescribeTaskDefinition"] != 6 {
		t.Errorf("%d DescribeTaskDefinition calls for 6 task definitions", counts["DescribeTaskDefinition"])
	}
	if got := w.lockedClusters(); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("locked clusters %v, want the two it changes", got)
	}
	clusters := map[string]int{}
	for _, s := range decodeServices(t, r.outputs["services"]) {
		clusters[s.Cluster[strings.LastIndex(s.Cluster, "/")+1:]]++
	}
	if clusters["prod"] != 2 || clusters["staging"] != 2 || len(clusters) != 2 {
		t.Errorf("services output by cluster: %v", clusters)
	}
	for _, line := range []string{"**Cluster prod**: 2 rolled out, 0 failed, 0 unchanged", "**Cluster staging**: 2 rolled out, 0 failed, 0 unchanged",
		"**Cluster empty**: no service pulls with these credentials", "**Cluster batch**: no service pulls with these credentials"} {
		if !strings.Contains(r.summary, line) {
			t.Errorf("the summary does not say %q:\n%s", line, r.summary)
		}
	}
	assertNoPassword(t, r, newPassword)
}

// TestTwoClustersListed: a list of clusters, with services written
// cluster/service, rolls exactly those.
func TestTwoClustersListed(t *testing.T) {
	w := newClustersWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "prod\nstaging"
	in["services"] = "prod/web, staging/api"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d result %q, want 0 success\n%s", r.code, r.outputs["result"], r.stdout)
	}
	if got, want := w.deployed(t), []string{"prod/web", "staging/api"}; !slices.Equal(got, want) {
		t.Errorf("rolled %v, want %v", got, want)
	}
}

// TestMaxServicesStopsBeforeAnyChange: more consumers than max-services is
// bad input: exit 2, an error naming max-services, the number found and the
// clusters, and not one changing call (not even a lock).
func TestMaxServicesStopsBeforeAnyChange(t *testing.T) {
	w := newClustersWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "*"
	in["max-services"] = "3"
	r := w.run(t, in)
	if r.code != 2 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 2 failed", r.code, r.outputs["result"])
	}
	errLine := lineWith(r.stdout, "::error")
	for _, want := range []string{"max-services", "found 4 services", "prod (2)", "staging (2)", "empty (0)", "nothing was changed"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error does not say %q: %s", want, errLine)
		}
	}
	if calls := w.fake.MutatingCalls(); len(calls) != 0 {
		t.Errorf("changing calls: %v", calls)
	}
	// A dry run prints the plan whatever the count, per cluster.
	in["dry-run"] = "true"
	r = w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "dry-run" {
		t.Fatalf("dry run: exit %d result %q", r.code, r.outputs["result"])
	}
	for _, line := range []string{"cluster  empty: no service pulls with these credentials", "cluster  prod: 2 services"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("the dry run's plan does not say %q", line)
		}
	}
}

// TestAmbiguousServiceName: a bare name that two of the clusters have is bad
// input naming both, and how to write each.
func TestAmbiguousServiceName(t *testing.T) {
	w := newClustersWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "prod,staging"
	in["services"] = "web"
	r := w.run(t, in)
	if r.code != 2 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 2 failed", r.code, r.outputs["result"])
	}
	errLine := lineWith(r.stdout, "::error")
	for _, want := range []string{"web is a service of clusters prod and staging", "prod/web or staging/web"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error does not say %q: %s", want, errLine)
		}
	}
	if calls := w.fake.MutatingCalls(); len(calls) != 0 {
		t.Errorf("changing calls: %v", calls)
	}
	// A bare name that only one of them has is found there.
	in["services"] = "worker"
	if r = w.run(t, in); r.code != 0 {
		t.Fatalf("worker alone: exit %d\n%s", r.code, r.stdout)
	}
	if got := w.deployed(t); !slices.Equal(got, []string{"prod/worker"}) {
		t.Errorf("rolled %v, want prod/worker", got)
	}
}

// TestDryRunOverClustersShowsEachCluster: the dry run's summary has a line
// per cluster, the clusters where nothing uses the credentials included.
func TestDryRunOverClustersShowsEachCluster(t *testing.T) {
	w := newClustersWorld(t)
	in := w.defaultInputs()
	in["cluster"] = "*"
	in["dry-run"] = "true"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "dry-run" {
		t.Fatalf("exit %d result %q", r.code, r.outputs["result"])
	}
	for _, line := range []string{"**Cluster prod**: 2 services pull with these credentials (dry run: none was rolled)",
		"**Cluster empty**: no service pulls with these credentials", "**Cluster batch**: no service pulls with these credentials"} {
		if !strings.Contains(r.summary, line) {
			t.Errorf("the summary does not say %q:\n%s", line, r.summary)
		}
	}
	if calls := w.fake.MutatingCalls(); len(calls) != 0 {
		t.Errorf("a dry run changed: %v", calls)
	}
}

// TestECSConfigOverTwoClusters: ecs-config mode rewrites the instances of
// both clusters after one preflight, rolls each cluster's consumers once
// every agent is back, locks both clusters, and the instances output and
// the summary say which cluster each instance is in.
func TestECSConfigOverTwoClusters(t *testing.T) {
	t.Parallel() // the instance scripts wait as much as they work
	fake, err := awsfake.Start(awsfake.Options{Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w := &ecsWorld{world: &world{fake: fake}}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, oldPassword)
	services := map[string]string{"prod": "web", "staging": "api"}
	for cluster, n := range map[string]int{"prod": 2, "staging": 1} {
		fake.CreateCluster(cluster)
		for range n {
			w.refs = append(w.refs, fake.AddContainerInstance(awsfake.Instance{OS: awsfake.AL2023, Cluster: cluster, ECSConfig: ecsConfigText(fake.RegistryHost(), oldPassword)}))
		}
		td := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: services[cluster], Containers: []awsfake.Container{
			{Name: services[cluster], Image: fake.PushImage("shop/" + services[cluster] + ":1")}}})
		fake.CreateService(awsfake.Service{Cluster: cluster, Name: services[cluster], TaskDefinition: td, DesiredCount: 1})
	}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, newPassword)
	in := w.inputs()
	in["cluster"] = "prod,staging"
	r := w.run(t, in)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("exit %d, result %q; want 0 success\n%s", r.code, r.outputs["result"], r.stdout)
	}
	var insts []struct{ Cluster, Status string }
	if err := json.Unmarshal([]byte(r.outputs["instances"]), &insts); err != nil {
		t.Fatal(err)
	}
	byCluster := map[string]int{}
	for _, i := range insts {
		if i.Status != "updated" {
			t.Errorf("instance %+v, want updated", i)
		}
		byCluster[awsname.Short(i.Cluster)]++
	}
	if byCluster["prod"] != 2 || byCluster["staging"] != 1 {
		t.Errorf("instances by cluster %v, want prod 2 and staging 1", byCluster)
	}
	for _, ref := range w.refs {
		if agent, _ := fake.Agent(ref.InstanceID); agent.Auth[fake.RegistryHost()] != user+":"+newPassword {
			t.Errorf("the agent of %s loaded %v", ref.InstanceID, agent.Auth)
		}
	}
	if got, want := w.deployed(t), []string{"prod/web", "staging/api"}; !slices.Equal(got, want) {
		t.Errorf("rolled %v, want %v", got, want)
	}
	if got := w.lockedClusters(); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("locked clusters %v, want both", got)
	}
	for _, line := range []string{"**Cluster prod**: 2 instances: 2 updated", "**Cluster staging**: 1 instance: 1 updated"} {
		if !strings.Contains(r.summary, line) {
			t.Errorf("the summary does not say %q:\n%s", line, r.summary)
		}
	}
	w.noCredentialInSSM(t)
}

// TestFailureNamesClusterAndService: over several clusters, a service that
// cannot pull fails the run, and its annotation names its cluster.
func TestFailureNamesClusterAndService(t *testing.T) {
	w := newClustersWorld(t)
	in := wrongPassword(w)
	in["cluster"] = "prod,staging"
	in["services"] = "staging/web"
	r := w.run(t, in)
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want 1 failed", r.code, r.outputs["result"])
	}
	if line := lineWith(r.stdout, "CannotPullContainerError::service web"); !strings.Contains(line, "service web of cluster staging") {
		t.Errorf("the rollout's annotation does not name the cluster: %s", line)
	}
}
