package awsfake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The simulation's state rendered as the SDK's ECS types. Responses are
// serialised from these, so ServiceSnapshot is exactly what
// DescribeServices answers.

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return aws.Time(t)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (w *world) serviceView(svc *service) ecstypes.Service {
	cb := ecstypes.DeploymentCircuitBreaker{}
	if svc.cb != nil {
		cb.Enable, cb.Rollback = svc.cb.Enable, svc.cb.Rollback
	}
	out := ecstypes.Service{
		ServiceArn:         aws.String(svc.arn),
		ServiceName:        aws.String(svc.name),
		ClusterArn:         aws.String(svc.cluster.arn),
		Status:             aws.String("ACTIVE"),
		DesiredCount:       svc.desired,
		LaunchType:         ecstypes.LaunchType(svc.launchType),
		CreatedAt:          aws.Time(svc.createdAt),
		SchedulingStrategy: ecstypes.SchedulingStrategyReplica,
		DeploymentController: &ecstypes.DeploymentController{
			Type: ecstypes.DeploymentControllerType(svc.controller),
		},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			MinimumHealthyPercent:    aws.Int32(svc.minHealthy),
			MaximumPercent:           aws.Int32(svc.maxPercent),
			DeploymentCircuitBreaker: &cb,
		},
	}
	if svc.taskDef != nil { // an EXTERNAL service may have none
		out.TaskDefinition = aws.String(svc.taskDef.arn)
	}
	if svc.launchType == "FARGATE" {
		out.PlatformVersion, out.PlatformFamily = aws.String("LATEST"), aws.String("Linux")
	}
	for _, d := range svc.deployments {
		if d.taskSet {
			ts := w.taskSetView(svc, d)
			out.TaskSets = append(out.TaskSets, ts)
			out.RunningCount += ts.RunningCount
			out.PendingCount += ts.PendingCount
			continue
		}
		dv := w.deploymentView(svc, d)
		out.Deployments = append(out.Deployments, dv)
		out.RunningCount += dv.RunningCount
		out.PendingCount += dv.PendingCount
	}
	for _, e := range svc.events {
		out.Events = append(out.Events, ecstypes.ServiceEvent{
			Id: aws.String(e.id), CreatedAt: aws.Time(e.at), Message: aws.String(e.message),
		})
	}
	return out
}

func (w *world) deploymentView(svc *service, d *deployment) ecstypes.Deployment {
	running, pending := svc.counts(d)
	return ecstypes.Deployment{
		Id:                 aws.String(d.id),
		Status:             aws.String(d.status),
		TaskDefinition:     aws.String(d.taskDef.arn),
		DesiredCount:       d.desired,
		RunningCount:       running,
		PendingCount:       pending,
		FailedTasks:        d.failed,
		CreatedAt:          aws.Time(d.created),
		UpdatedAt:          aws.Time(d.updated),
		LaunchType:         ecstypes.LaunchType(svc.launchType),
		RolloutState:       ecstypes.DeploymentRolloutState(d.rollout),
		RolloutStateReason: strPtr(d.reason),
	}
}

// taskSetView renders a task set as DescribeServices lists it (API
// reference, TaskSet; AWS CLI examples of the task set calls).
func (w *world) taskSetView(svc *service, d *deployment) ecstypes.TaskSet {
	running, pending := svc.counts(d)
	stability := ecstypes.StabilityStatusSteadyState
	if running != d.desired || pending != 0 {
		stability = ecstypes.StabilityStatusStabilizing
	}
	out := ecstypes.TaskSet{
		Id:                   aws.String(d.id),
		TaskSetArn:           aws.String(w.arnPrefix() + "task-set/" + svc.cluster.name + "/" + svc.name + "/" + d.id),
		ServiceArn:           aws.String(svc.arn),
		ClusterArn:           aws.String(svc.cluster.arn),
		Status:               aws.String(d.status),
		TaskDefinition:       aws.String(d.taskDef.arn),
		ComputedDesiredCount: d.desired,
		RunningCount:         running,
		PendingCount:         pending,
		CreatedAt:            aws.Time(d.created),
		UpdatedAt:            aws.Time(d.updated),
		LaunchType:           ecstypes.LaunchType(svc.launchType),
		Scale:                &ecstypes.Scale{Value: 100, Unit: ecstypes.ScaleUnitPercent},
		StabilityStatus:      stability,
		StabilityStatusAt:    aws.Time(d.updated),
		ExternalId:           strPtr(d.externalID),
	}
	if svc.controller == "CODE_DEPLOY" {
		out.StartedBy = aws.String("CODE_DEPLOY")
	}
	if svc.launchType == "FARGATE" {
		out.PlatformVersion, out.PlatformFamily = aws.String("1.4.0"), aws.String("Linux")
	}
	return out
}

func (w *world) taskView(t *task) ecstypes.Task {
	out := ecstypes.Task{
		TaskArn:           aws.String(t.arn),
		ClusterArn:        aws.String(t.cluster.arn),
		TaskDefinitionArn: aws.String(t.taskDef.arn),
		Group:             aws.String("service:" + t.svc.name),
		StartedBy:         aws.String(t.dep.id),
		LastStatus:        aws.String(t.lastStatus),
		DesiredStatus:     aws.String(t.desiredStatus),
		StopCode:          ecstypes.TaskStopCode(t.stopCode),
		StoppedReason:     strPtr(t.stoppedReason),
		CreatedAt:         timePtr(t.createdAt),
		StartedAt:         timePtr(t.startedAt),
		StoppingAt:        timePtr(t.stoppingAt),
		StoppedAt:         timePtr(t.stoppedAt),
		PullStartedAt:     timePtr(t.pullStartedAt),
		PullStoppedAt:     timePtr(t.pullStoppedAt),
		LaunchType:        ecstypes.LaunchType(t.launchType),
		AvailabilityZone:  aws.String(w.region + "a"),
		Version:           t.version,
	}
	if t.lastStatus == "STOPPED" {
		out.ExecutionStoppedAt = timePtr(t.stoppedAt)
	}
	if t.launchType == "EC2" {
		out.ContainerInstanceArn = aws.String(t.containerInstanceArn())
	} else {
		out.PlatformVersion, out.PlatformFamily = aws.String("1.4.0"), aws.String("Linux")
	}
	for _, c := range t.containers {
		out.Containers = append(out.Containers, ecstypes.Container{
			ContainerArn: aws.String(c.arn),
			TaskArn:      aws.String(t.arn),
			Name:         aws.String(c.name),
			Image:        aws.String(c.image),
			LastStatus:   aws.String(c.lastStatus),
			Reason:       strPtr(c.reason),
			ExitCode:     c.exitCode,
		})
	}
	return out
}

func (w *world) taskDefView(td *taskDef) *ecstypes.TaskDefinition {
	out := &ecstypes.TaskDefinition{
		TaskDefinitionArn: aws.String(td.arn),
		Family:            aws.String(td.family),
		Revision:          td.revision,
		Status:            ecstypes.TaskDefinitionStatusActive,
		ExecutionRoleArn:  strPtr(td.executionRoleArn),
		RegisteredAt:      aws.Time(td.registeredAt),
	}
	for _, c := range td.containers {
		cd := ecstypes.ContainerDefinition{
			Name:      aws.String(c.Name),
			Image:     aws.String(c.Image),
			Essential: aws.Bool(true),
		}
		if c.CredentialsParameter != "" {
			cd.RepositoryCredentials = &ecstypes.RepositoryCredentials{CredentialsParameter: aws.String(c.CredentialsParameter)}
		}
		out.ContainerDefinitions = append(out.ContainerDefinitions, cd)
	}
	return out
}

func (w *world) clusterView(c *cluster) ecstypes.Cluster {
	out := ecstypes.Cluster{
		ClusterArn:          aws.String(c.arn),
		ClusterName:         aws.String(c.name),
		Status:              aws.String("ACTIVE"),
		ActiveServicesCount: int32(len(c.services)),
	}
	for _, t := range c.tasks {
		if t.desiredStatus != "RUNNING" {
			continue
		}
		switch t.lastStatus {
		case "RUNNING":
			out.RunningTasksCount++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			out.PendingTasksCount++
		}
	}
	return out
}

// ServiceSnapshot is what DescribeServices would return for the service
// now.
func (s *Server) ServiceSnapshot(cluster, service string) (ecstypes.Service, bool) {
	s.lock()
	defer s.unlock()
	c := s.world.findCluster(cluster)
	if c == nil {
		return ecstypes.Service{}, false
	}
	svc := c.findService(service)
	if svc == nil {
		return ecstypes.Service{}, false
	}
	return s.world.serviceView(svc), true
}
