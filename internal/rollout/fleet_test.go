package rollout

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// fleetECS is services of 2 tasks spread over clusters, each with one
// deployment that the test moves on between polls. It checks the calls'
// limits as ECS does, and that a call names only its cluster's services and
// tasks.
type fleetECS struct {
	t         *testing.T
	mu        sync.Mutex
	services  map[string]*fleetService // by ARN
	tasks     map[string]*ecstypes.Task
	calls     map[string]int
	described map[string]int // DescribeServices mentions, by service ARN
}

type fleetService struct {
	cluster, name, arn, deployment string
	running, pending               int32
	rollout                        ecstypes.DeploymentRolloutState
	tasks                          []string // ARNs
}

func fleetClusterARN(c int) string {
	return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:cluster/c%02d", c)
}

// newFleet makes sizes[c] services in cluster c, each rolling out (2 tasks
// pending), and returns their deployments in an order that goes round the
// clusters, so that no two deployments of a cluster are next to each other.
func newFleet(t *testing.T, sizes []int) (*fleetECS, []Deployment) {
	f := &fleetECS{t: t, services: map[string]*fleetService{}, tasks: map[string]*ecstypes.Task{}, calls: map[string]int{}, described: map[string]int{}}
	var deps []Deployment
	for i := 0; ; i++ {
		added := false
		for c, n := range sizes {
			if i >= n {
				continue
			}
			added = true
			cluster := fleetClusterARN(c)
			name := fmt.Sprintf("s%02d", i)
			s := &fleetService{cluster: cluster, name: name, arn: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:service/c%02d/%s", c, name),
				deployment: fmt.Sprintf("ecs-svc/c%02d-%s", c, name), pending: 2, rollout: ecstypes.DeploymentRolloutStateInProgress}
			for k := range 2 {
				arn := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task/c%02d/%s-%d", c, name, k)
				s.tasks = append(s.tasks, arn)
				f.tasks[arn] = &ecstypes.Task{TaskArn: aws.String(arn), ClusterArn: aws.String(cluster), StartedBy: aws.String(s.deployment),
					LastStatus: aws.String("PENDING"), DesiredStatus: aws.String("RUNNING")}
			}
			f.services[s.arn] = s
			deps = append(deps, Deployment{Target: Target{Cluster: cluster, Service: name, ServiceArn: s.arn},
				DeploymentID: s.deployment, DesiredCount: 2, StartedAt: time.Now()})
		}
		if !added {
			return f, deps
		}
	}
}

// move sets a service's counts and its tasks' status.
func (f *fleetECS) move(arn string, running int32, rollout ecstypes.DeploymentRolloutState, taskStatus ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[arn]
	s.running, s.pending, s.rollout = running, 2-running, rollout
	for i, st := range taskStatus {
		f.tasks[s.tasks[i]].LastStatus = aws.String(st)
	}
}

// take returns the calls made and the services described since the last take.
func (f *fleetECS) take() (map[string]int, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls, described := f.calls, f.described
	f.calls, f.described = map[string]int{}, map[string]int{}
	return calls, described
}

func (f *fleetECS) UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.t.Error("UpdateService called by the watch")
	return nil, fmt.Errorf("not here")
}

func (f *fleetECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DescribeServices"]++
	if len(in.Services) > 10 {
		f.t.Errorf("DescribeServices with %d services", len(in.Services))
	}
	out := &ecs.DescribeServicesOutput{}
	for _, ref := range in.Services {
		s := f.services[ref]
		if s == nil || s.cluster != aws.ToString(in.Cluster) {
			f.t.Errorf("DescribeServices in cluster %s names %s", aws.ToString(in.Cluster), ref)
			continue
		}
		f.described[ref]++
		out.Services = append(out.Services, ecstypes.Service{ServiceArn: aws.String(s.arn), ServiceName: aws.String(s.name), Status: aws.String("ACTIVE"),
			Deployments: []ecstypes.Deployment{{Id: aws.String(s.deployment), Status: aws.String("PRIMARY"), RolloutState: s.rollout,
				DesiredCount: 2, RunningCount: s.running, PendingCount: s.pending}}})
	}
	return out, nil
}

func (f *fleetECS) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["ListTasks"]++
	out := &ecs.ListTasksOutput{}
	for _, s := range f.services {
		if s.deployment != aws.ToString(in.StartedBy) {
			continue
		}
		if s.cluster != aws.ToString(in.Cluster) {
			f.t.Errorf("ListTasks in cluster %s for deployment %s of cluster %s", aws.ToString(in.Cluster), s.deployment, s.cluster)
		}
		for _, arn := range s.tasks {
			if aws.ToString(f.tasks[arn].DesiredStatus) == string(in.DesiredStatus) {
				out.TaskArns = append(out.TaskArns, arn)
			}
		}
	}
	return out, nil
}

func (f *fleetECS) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DescribeTasks"]++
	if len(in.Tasks) > 100 {
		f.t.Errorf("DescribeTasks with %d tasks", len(in.Tasks))
	}
	out := &ecs.DescribeTasksOutput{}
	for _, arn := range in.Tasks {
		tk := f.tasks[arn]
		if tk == nil || aws.ToString(tk.ClusterArn) != aws.ToString(in.Cluster) {
			f.t.Errorf("DescribeTasks in cluster %s names %s", aws.ToString(in.Cluster), arn)
			continue
		}
		out.Tasks = append(out.Tasks, *tk)
	}
	return out, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestPollCostAcrossClusters: while every service rolls, a poll makes one
// DescribeServices per 10 services of a cluster (20 clusters of 25: 60), whatever
// the order of the deployments; a poll in which nothing moved makes no task
// call, one in which one service moved makes a ListTasks and a DescribeTasks
// for it alone; tasks are described 100 a call per cluster.
func TestPollCostAcrossClusters(t *testing.T) {
	t.Parallel()
	twenty := make([]int, 20)
	for i := range twenty {
		twenty[i] = 25
	}
	for _, sizes := range [][]int{twenty, {1, 10, 11, 25, 3}} {
		t.Run(fmt.Sprint(len(sizes), " clusters"), func(t *testing.T) {
			t.Parallel()
			f, deps := newFleet(t, sizes)
			perPoll, taskBatches := 0, 0
			for _, n := range sizes {
				perPoll += ceilDiv(n, describeServicesBatch)
				taskBatches += ceilDiv(2*n, describeTasksBatch)
			}
			mover := deps[len(deps)-1].ServiceArn // a service of the last cluster
			want := map[int]struct{ listTasks, describeTasks int }{
				1: {len(deps), taskBatches}, // first sight of the pending tasks: every running list, read together
				2: {0, 0},
				3: {0, 0},
				4: {1, 1}, // mover's first task runs
				5: {0, 0},
			}
			h := hooks{afterPoll: func(n int) {
				calls, described := f.take()
				if calls["DescribeServices"] != perPoll {
					t.Errorf("poll %d: %d DescribeServices for clusters of %v services, want %d", n, calls["DescribeServices"], sizes, perPoll)
				}
				if len(described) != len(deps) {
					t.Errorf("poll %d described %d services, want all %d", n, len(described), len(deps))
				}
				for arn, k := range described {
					if k != 1 {
						t.Errorf("poll %d described %s %d times", n, arn, k)
					}
				}
				w := want[n]
				if calls["ListTasks"] != w.listTasks || calls["DescribeTasks"] != w.describeTasks {
					t.Errorf("poll %d: %d ListTasks and %d DescribeTasks, want %d and %d", n, calls["ListTasks"], calls["DescribeTasks"], w.listTasks, w.describeTasks)
				}
				switch n {
				case 3:
					f.move(mover, 1, ecstypes.DeploymentRolloutStateInProgress, "RUNNING")
				case 5: // every deployment done in the next poll
					for _, d := range deps {
						f.move(d.ServiceArn, 2, ecstypes.DeploymentRolloutStateCompleted, "RUNNING", "RUNNING")
					}
				}
			}}
			opts := WatchOptions{Timeout: testenv.Scale(30 * time.Second), PollInterval: time.Millisecond, FailFast: true}
			res, err := newWatcher(f, deps, opts, h).run(context.Background())
			if err != nil || !res.Succeeded() || res.Polls != 6 {
				var states []string
				for _, s := range res.Services {
					if s.State != StateSucceeded {
						states = append(states, s.Service+": "+s.Reason)
					}
				}
				t.Fatalf("%d polls, err %v, not succeeded: %s", res.Polls, err, strings.Join(states, "; "))
			}
			if calls, _ := f.take(); calls["DescribeServices"] != perPoll {
				t.Errorf("last poll: %d DescribeServices, want %d", calls["DescribeServices"], perPoll)
			}
		})
	}
}
