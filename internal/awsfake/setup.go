package awsfake

import (
	"fmt"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TaskDefinition is what RegisterTaskDefinition takes.
type TaskDefinition struct {
	Family           string
	ExecutionRoleArn string
	Containers       []Container
}

// Container is one container definition.
type Container struct {
	Name, Image          string
	CredentialsParameter string // repositoryCredentials: secret ARN or name, "" = none
}

// CircuitBreaker is the service's deployment circuit breaker.
type CircuitBreaker struct {
	Enable, Rollback bool
}

// Service is what CreateService takes.
type Service struct {
	// TaskDefinition: ARN, family:rev or family. Required unless the
	// service is EXTERNAL, as CreateService requires it for the ECS and
	// CODE_DEPLOY controllers only.
	Cluster, Name, TaskDefinition string
	DesiredCount                  int32
	LaunchType                    string          // "EC2" (default) or "FARGATE"
	DeploymentController          string          // "ECS" (default), "CODE_DEPLOY", "EXTERNAL"
	CircuitBreaker                *CircuitBreaker // nil = disabled
	NoRolloutState                bool            // deployments carry no rolloutState, like behind a Classic LB
	CachedImage                   bool            // a failed pull falls back to the image the instance has cached
	MinimumHealthyPercent         int32           // default 100
	MaximumPercent                int32           // default 200

	// ActiveTaskDefinition, when set, creates the service in the middle
	// of a rolling deployment (ECS controller only): an older ACTIVE
	// deployment still runs DesiredCount tasks of this task definition
	// (its rollout COMPLETED) while the PRIMARY deployment, on
	// TaskDefinition, is IN_PROGRESS with DesiredCount tasks PENDING. The
	// service's taskDefinition is the PRIMARY's, as in ECS. The rollout
	// stays so until ActiveFor has passed or the next UpdateService
	// deployment replaces it.
	ActiveTaskDefinition string
	// ActiveFor, with ActiveTaskDefinition: the PRIMARY's tasks start
	// (pulling as any task does) this long after CreateService, and the
	// rollout then ends as any does. 0 = they wait for ever.
	ActiveFor time.Duration

	// TaskSets, for a CODE_DEPLOY or EXTERNAL service, are the task
	// definitions (ARN, family:rev or family) of its task sets: the first
	// PRIMARY, the others ACTIVE, each at scale 100% with DesiredCount
	// RUNNING tasks. DescribeServices then lists them in taskSets and no
	// deployments, as ECS does for these controllers. An EXTERNAL service
	// without TaskDefinition takes the PRIMARY task set's.
	TaskSets []string
}

// CreateCluster creates a cluster (or finds the one of that name).
func (s *Server) CreateCluster(name string) string {
	s.lock()
	defer s.unlock()
	return s.world.createCluster(name).arn
}

// RegisterTaskDefinition registers the next revision of td.Family.
func (s *Server) RegisterTaskDefinition(td TaskDefinition) string {
	now := s.lock()
	defer s.unlock()
	w := s.world
	revs := w.taskDefs[td.Family]
	rev := int32(len(revs) + 1)
	d := &taskDef{
		family:           td.Family,
		revision:         rev,
		arn:              fmt.Sprintf("%stask-definition/%s:%d", w.arnPrefix(), td.Family, rev),
		executionRoleArn: td.ExecutionRoleArn,
		containers:       append([]Container(nil), td.Containers...),
		registeredAt:     now,
	}
	w.taskDefs[td.Family] = append(revs, d)
	return d.arn
}

// CreateService creates a service already at steady state: one PRIMARY
// COMPLETED deployment and DesiredCount RUNNING tasks; or in the middle
// of a rollout (ActiveTaskDefinition); or with task sets (TaskSets). The
// cluster is created if needed; an unknown task definition, or a spec ECS
// would refuse, is a test bug and panics.
func (s *Server) CreateService(spec Service) string {
	now := s.lock()
	defer s.unlock()
	w := s.world
	svc := w.newService(spec, now)
	switch {
	case len(spec.TaskSets) > 0:
		w.createTaskSets(svc, spec.TaskSets, now)
	case spec.ActiveTaskDefinition != "":
		w.createMidRollout(svc, spec, now)
	case svc.taskDef != nil:
		w.createSteady(svc, now)
	}
	return svc.arn
}

// checkService panics, before anything changed, on a spec that names an
// unknown task definition or that ECS would refuse.
func (w *world) checkService(spec Service, controller string) {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("awsfake: CreateService(%s): ", spec.Name) + fmt.Sprintf(format, args...))
	}
	if w.findTaskDef(spec.TaskDefinition) == nil && (spec.TaskDefinition != "" || controller != "EXTERNAL") {
		bad("unknown task definition %q", spec.TaskDefinition)
	}
	for _, ref := range append([]string{spec.ActiveTaskDefinition}, spec.TaskSets...) {
		if ref != "" && w.findTaskDef(ref) == nil {
			bad("unknown task definition %q", ref)
		}
	}
	if len(spec.TaskSets) > 0 && controller == "ECS" {
		bad("task sets need a CODE_DEPLOY or EXTERNAL deployment controller")
	}
	if spec.ActiveTaskDefinition != "" && controller != "ECS" {
		bad("ActiveTaskDefinition needs the ECS deployment controller")
	}
	if c := w.findCluster(spec.Cluster); c != nil && c.findService(spec.Name) != nil {
		bad("service %s already exists in %s", spec.Name, c.name)
	}
}

// newService adds the service, without deployments, to its cluster.
func (w *world) newService(spec Service, now time.Time) *service {
	controller := orDefault(spec.DeploymentController, string(ecstypes.DeploymentControllerTypeEcs))
	w.checkService(spec, controller)
	c := w.createCluster(spec.Cluster)
	td := w.findTaskDef(spec.TaskDefinition)
	svc := &service{
		cluster:     c,
		name:        spec.Name,
		arn:         w.serviceArn(c.name, spec.Name),
		createdAt:   now,
		taskDef:     td,
		desired:     spec.DesiredCount,
		launchType:  orDefault(spec.LaunchType, string(ecstypes.LaunchTypeEc2)),
		controller:  controller,
		cb:          spec.CircuitBreaker,
		noRollout:   spec.NoRolloutState,
		cachedImage: spec.CachedImage,
		minHealthy:  orDefaultInt(spec.MinimumHealthyPercent, 100),
		maxPercent:  orDefaultInt(spec.MaximumPercent, 200),
	}
	c.services = append(c.services, svc)
	return svc
}

// createSteady gives svc one PRIMARY deployment, COMPLETED, its tasks
// RUNNING.
func (w *world) createSteady(svc *service, now time.Time) {
	d := w.steadyDeployment(svc, svc.taskDef, "PRIMARY", now)
	svc.deployments = []*deployment{d}
	if svc.hasRolloutState() {
		svc.event(now, "(service %s) (deployment %s) deployment completed.", svc.name, d.id)
	}
	svc.event(now, "(service %s) has reached a steady state.", svc.name)
}

// steadyDeployment is a deployment that reached steady state, with
// svc.desired tasks already RUNNING.
func (w *world) steadyDeployment(svc *service, td *taskDef, status string, now time.Time) *deployment {
	d := &deployment{
		id: newDeploymentID(), status: status, taskDef: td, desired: svc.desired,
		created: now, updated: now, done: true,
	}
	if svc.hasRolloutState() {
		d.rollout, d.reason = rolloutCompleted, "ECS deployment "+d.id+" completed."
	}
	w.runningTasks(svc, d, now)
	return d
}

// runningTasks starts d.desired tasks of d already RUNNING, as if placed
// and started earlier.
func (w *world) runningTasks(svc *service, d *deployment, now time.Time) {
	var started []*task
	for range d.desired {
		t := w.newTask(svc, d, "RUNNING", now)
		w.placeRunning(t)
		t.startedAt, t.pullStartedAt, t.pullStoppedAt = now, now, now
		for _, c := range t.containers {
			c.lastStatus = "RUNNING"
		}
		started = append(started, t)
	}
	if len(started) > 0 {
		svc.event(now, "(service %s) has started %d tasks: %s.", svc.name, len(started), taskList(started))
	}
}

// FirstTaskFailureAt is the simulated time the first task of any
// deployment failed to start (zero if none has), to measure how fast a
// watcher notices.
func (s *Server) FirstTaskFailureAt() time.Time {
	s.lock()
	defer s.unlock()
	return s.world.firstFailure
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDefaultInt(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
