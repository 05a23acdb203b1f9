package awsfake

import (
	"container/heap"
	"fmt"
	"strings"
	"time"
)

// The world is a discrete-event simulation advanced lazily: nothing runs in
// the background; every request first applies the events that are due, each
// stamped with its own scheduled time. So the state a client sees is the
// state it would see had time flowed, and timestamps do not depend on when
// the client happened to poll.

type event struct {
	at  time.Time
	seq uint64 // keeps events due at the same instant in scheduling order
	fn  func(at time.Time)
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// starter decides whether a task's containers can start; the server
// implements it from secrets, registry credentials and the registry.
type starter func(t *task) launchResult

type launchResult struct {
	stopReason       string            // non-empty: the task fails to start
	containerReasons map[string]string // container name → pull error
}

type world struct {
	region, account string
	tick            time.Duration
	start           starter

	queue eventQueue
	seq   uint64

	clusters     []*cluster
	taskDefs     map[string][]*taskDef // family → revisions, revision n at n-1
	firstFailure time.Time
}

type cluster struct {
	name, arn string
	// instanceArn is the implicit container instance EC2 tasks land on
	// while the cluster has no registered instances (AddContainerInstance).
	instanceArn   string
	instances     []*containerInstance
	nextPlacement int // round robin over instances
	services      []*service
	tasks         []*task
}

type taskDef struct {
	family           string
	revision         int32
	arn              string
	executionRoleArn string
	containers       []Container
	registeredAt     time.Time
}

type service struct {
	cluster     *cluster
	name, arn   string
	createdAt   time.Time
	taskDef     *taskDef
	desired     int32
	launchType  string
	controller  string
	cb          *CircuitBreaker
	noRollout   bool
	cachedImage bool
	minHealthy  int32
	maxPercent  int32
	deployments []*deployment // PRIMARY first
	events      []svcEvent    // newest first
}

type deployment struct {
	id         string
	status     string // PRIMARY or ACTIVE
	taskDef    *taskDef
	desired    int32
	failed     int32
	rollout    string // IN_PROGRESS, COMPLETED, FAILED; "" without rollout state
	reason     string
	created    time.Time
	updated    time.Time
	done       bool // reached steady state (tracked apart from rollout, which may be absent)
	completing bool // a completion event is already scheduled
	// taskSet: this is a task set of a CODE_DEPLOY or EXTERNAL service,
	// listed in taskSets rather than deployments; externalID is the
	// CodeDeploy deployment that created it.
	taskSet    bool
	externalID string
}

type svcEvent struct {
	id      string
	at      time.Time
	message string
}

type task struct {
	id, arn    string
	cluster    *cluster
	svc        *service
	dep        *deployment
	taskDef    *taskDef
	launchType string
	instance   *containerInstance // EC2: where it was placed; nil = the implicit instance
	version    int64

	lastStatus, desiredStatus string
	stopCode, stoppedReason   string

	createdAt, startedAt, stoppingAt, stoppedAt time.Time
	pullStartedAt, pullStoppedAt                time.Time
	containers                                  []*taskContainer
}

type taskContainer struct {
	arn, name, image string
	lastStatus       string
	reason           string
	exitCode         *int32
}

func newWorld(region, account string, tick time.Duration, start starter) *world {
	return &world{region: region, account: account, tick: tick, start: start, taskDefs: map[string][]*taskDef{}}
}

func (w *world) schedule(at time.Time, fn func(at time.Time)) {
	w.seq++
	heap.Push(&w.queue, &event{at: at, seq: w.seq, fn: fn})
}

// advance runs every event due by now, including those that due events
// schedule in turn.
func (w *world) advance(now time.Time) {
	for w.queue.Len() > 0 && !w.queue[0].at.After(now) {
		e := heap.Pop(&w.queue).(*event)
		e.fn(e.at)
	}
}

func (w *world) arnPrefix() string { return "arn:aws:ecs:" + w.region + ":" + w.account + ":" }

func (w *world) clusterArn(name string) string { return w.arnPrefix() + "cluster/" + name }

func (w *world) serviceArn(clusterName, name string) string {
	return w.arnPrefix() + "service/" + clusterName + "/" + name
}

// clusterName accepts a cluster name or ARN.
func clusterName(ref string) string {
	if i := strings.LastIndex(ref, ":cluster/"); i >= 0 {
		return ref[i+len(":cluster/"):]
	}
	return ref
}

// findCluster resolves a cluster name or ARN; empty means "default", as
// ECS does when the cluster parameter is left out.
func (w *world) findCluster(ref string) *cluster {
	if ref == "" {
		ref = "default"
	}
	for _, c := range w.clusters {
		if ref == c.name || ref == c.arn {
			return c
		}
	}
	return nil
}

// findService resolves a service name or ARN (old or new ARN format). A
// new-format ARN names its cluster: one that names another cluster finds
// nothing here, even where this cluster has a service of that name.
func (c *cluster) findService(ref string) *service {
	name := ref
	if _, res, ok := strings.Cut(ref, ":service/"); ok && strings.HasPrefix(ref, "arn:") {
		clusterPart, svcName, hasCluster := strings.Cut(res, "/")
		if hasCluster && clusterPart != c.name {
			return nil
		}
		name = res
		if hasCluster {
			name = svcName
		}
	}
	for _, s := range c.services {
		if name == s.name {
			return s
		}
	}
	return nil
}

// findTaskDef resolves an ARN, "family:revision" or "family" (latest).
func (w *world) findTaskDef(ref string) *taskDef {
	if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := w.taskDefs[family]
	if len(revs) == 0 {
		return nil
	}
	if !hasRev {
		return revs[len(revs)-1]
	}
	var n int
	if _, err := fmt.Sscanf(rev, "%d", &n); err != nil || n < 1 || n > len(revs) {
		return nil
	}
	return revs[n-1]
}

func (w *world) createCluster(name string) *cluster {
	if c := w.findCluster(name); c != nil {
		return c
	}
	c := &cluster{
		name:        name,
		arn:         w.clusterArn(name),
		instanceArn: w.arnPrefix() + "container-instance/" + name + "/" + randomHex(32),
	}
	w.clusters = append(w.clusters, c)
	return c
}

func (s *service) primary() *deployment {
	if len(s.deployments) == 0 {
		return nil
	}
	return s.deployments[0]
}

// hasRolloutState: ECS reports rolloutState only for rolling (ECS
// controller) deployments not behind a Classic Load Balancer.
func (s *service) hasRolloutState() bool {
	return !s.noRollout && s.controller == "ECS"
}

// event records a service event, newest first, keeping the last 100 as
// DescribeServices does.
func (s *service) event(at time.Time, format string, args ...any) {
	e := svcEvent{id: newUUID(), at: at, message: fmt.Sprintf(format, args...)}
	s.events = append([]svcEvent{e}, s.events...)
	if len(s.events) > 100 {
		s.events = s.events[:100]
	}
}

func (s *service) tasksOf(d *deployment) []*task {
	var out []*task
	for _, t := range s.cluster.tasks {
		if t.dep == d {
			out = append(out, t)
		}
	}
	return out
}

// counts says how many of d's tasks run and how many are on their way.
func (s *service) counts(d *deployment) (running, pending int32) {
	return countTasks(s.tasksOf(d), func(*task) bool { return true })
}

// countTasks counts the tasks that are meant to run and pass keep, as ECS
// counts them: RUNNING, or on their way to it.
func countTasks(tasks []*task, keep func(*task) bool) (running, pending int32) {
	for _, t := range tasks {
		if t.desiredStatus != "RUNNING" || !keep(t) {
			continue
		}
		switch t.lastStatus {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			pending++
		}
	}
	return running, pending
}

// active are d's tasks that ECS still wants running.
func (s *service) active(d *deployment) []*task {
	var out []*task
	for _, t := range s.tasksOf(d) {
		if t.desiredStatus == "RUNNING" {
			out = append(out, t)
		}
	}
	return out
}
