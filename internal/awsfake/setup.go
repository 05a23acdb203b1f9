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
	Cluster, Name, TaskDefinition string // TaskDefinition: ARN, family:rev or family
	DesiredCount                  int32
	LaunchType                    string          // "EC2" (default) or "FARGATE"
	DeploymentController          string          // "ECS" (default), "CODE_DEPLOY", "EXTERNAL"
	CircuitBreaker                *CircuitBreaker // nil = disabled
	NoRolloutState                bool            // deployments carry no rolloutState, like behind a Classic LB
	CachedImage                   bool            // a failed pull falls back to the image the instance has cached
	MinimumHealthyPercent         int32           // default 100
	MaximumPercent                int32           // default 200
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
// COMPLETED deployment and DesiredCount RUNNING tasks. The cluster is
// created if needed; an unknown task definition is a test bug and panics.
func (s *Server) CreateService(spec Service) string {
	now := s.lock()
	defer s.unlock()
	w := s.world
	td := w.findTaskDef(spec.TaskDefinition)
	if td == nil {
		panic(fmt.Sprintf("awsfake: CreateService(%s): unknown task definition %q", spec.Name, spec.TaskDefinition))
	}
	c := w.createCluster(spec.Cluster)
	if c.findService(spec.Name) != nil {
		panic(fmt.Sprintf("awsfake: CreateService: service %s already exists in %s", spec.Name, c.name))
	}
	svc := &service{
		cluster:     c,
		name:        spec.Name,
		arn:         w.serviceArn(c.name, spec.Name),
		createdAt:   now,
		taskDef:     td,
		desired:     spec.DesiredCount,
		launchType:  orDefault(spec.LaunchType, string(ecstypes.LaunchTypeEc2)),
		controller:  orDefault(spec.DeploymentController, string(ecstypes.DeploymentControllerTypeEcs)),
		cb:          spec.CircuitBreaker,
		noRollout:   spec.NoRolloutState,
		cachedImage: spec.CachedImage,
		minHealthy:  orDefaultInt(spec.MinimumHealthyPercent, 100),
		maxPercent:  orDefaultInt(spec.MaximumPercent, 200),
	}
	c.services = append(c.services, svc)

	d := &deployment{
		id: newDeploymentID(), status: "PRIMARY", taskDef: td, desired: svc.desired,
		created: now, updated: now, done: true,
	}
	if svc.hasRolloutState() {
		d.rollout, d.reason = rolloutCompleted, "ECS deployment "+d.id+" completed."
	}
	svc.deployments = []*deployment{d}
	var started []*task
	for range svc.desired {
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
	if svc.hasRolloutState() {
		svc.event(now, "(service %s) (deployment %s) deployment completed.", svc.name, d.id)
	}
	svc.event(now, "(service %s) has reached a steady state.", svc.name)
	return svc.arn
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
