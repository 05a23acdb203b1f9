package awsfake

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

var ecsOps = map[string]jsonHandler{
	"ListClusters":           ecsListClusters,
	"DescribeClusters":       ecsDescribeClusters,
	"ListServices":           ecsListServices,
	"DescribeServices":       ecsDescribeServices,
	"DescribeTaskDefinition": ecsDescribeTaskDefinition,
	"UpdateService":          ecsUpdateService,
	"ListTasks":              ecsListTasks,
	"DescribeTasks":          ecsDescribeTasks,

	"ListContainerInstances":     ecsListContainerInstances,
	"DescribeContainerInstances": ecsDescribeContainerInstances,
}

// ecsInput holds the request members these operations read, with the
// model's (camelCase) member names.
type ecsInput struct {
	Cluster            string   `json:"cluster"`
	Clusters           []string `json:"clusters"`
	Service            string   `json:"service"`
	Services           []string `json:"services"`
	Tasks              []string `json:"tasks"`
	TaskDefinition     string   `json:"taskDefinition"`
	DesiredCount       *int32   `json:"desiredCount"`
	ForceNewDeployment bool     `json:"forceNewDeployment"`
	MaxResults         *int32   `json:"maxResults"`
	NextToken          string   `json:"nextToken"`
	LaunchType         string   `json:"launchType"`
	SchedulingStrategy string   `json:"schedulingStrategy"`
	ServiceName        string   `json:"serviceName"`
	StartedBy          string   `json:"startedBy"`
	Family             string   `json:"family"`
	ContainerInstance  string   `json:"containerInstance"`
	DesiredStatus      string   `json:"desiredStatus"`

	DeploymentConfiguration *struct {
		MinimumHealthyPercent    *int32 `json:"minimumHealthyPercent"`
		MaximumPercent           *int32 `json:"maximumPercent"`
		DeploymentCircuitBreaker *struct {
			Enable   bool `json:"enable"`
			Rollback bool `json:"rollback"`
		} `json:"deploymentCircuitBreaker"`
	} `json:"deploymentConfiguration"`
}

func decodeECS(body []byte) (*ecsInput, error) {
	var in ecsInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	return &in, nil
}

func (w *world) mustCluster(ref string) (*cluster, error) {
	c := w.findCluster(ref)
	if c == nil {
		return nil, errorf("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

func missing(arn string) ecstypes.Failure {
	return ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")}
}

func ecsDescribeClusters(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	w := s.world
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	if len(refs) > 100 {
		return nil, errorf("InvalidParameterException", "clusters can have at most 100 items.")
	}
	out := &ecs.DescribeClustersOutput{}
	for _, ref := range refs {
		if c := w.findCluster(ref); c != nil {
			out.Clusters = append(out.Clusters, w.clusterView(c))
		} else if strings.HasPrefix(ref, "arn:") {
			out.Failures = append(out.Failures, missing(ref))
		} else {
			out.Failures = append(out.Failures, missing(w.clusterArn(ref)))
		}
	}
	return out, nil
}

func ecsListServices(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	c, err := s.world.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, svc := range c.services {
		if in.LaunchType != "" && svc.launchType != in.LaunchType {
			continue
		}
		if in.SchedulingStrategy != "" && in.SchedulingStrategy != string(ecstypes.SchedulingStrategyReplica) {
			continue
		}
		arns = append(arns, svc.arn)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 10, 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	return &ecs.ListServicesOutput{ServiceArns: page, NextToken: next}, nil
}

func ecsDescribeServices(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	w := s.world
	c, err := w.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := batchLimit(len(in.Services), 10, "Services", "service names"); err != nil {
		return nil, err
	}
	out := &ecs.DescribeServicesOutput{}
	for _, ref := range in.Services {
		if svc := c.findService(ref); svc != nil {
			out.Services = append(out.Services, w.serviceView(svc))
		} else if strings.HasPrefix(ref, "arn:") {
			out.Failures = append(out.Failures, missing(ref))
		} else {
			out.Failures = append(out.Failures, missing(w.serviceArn(c.name, ref)))
		}
	}
	return out, nil
}

func ecsDescribeTaskDefinition(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	td := s.world.findTaskDef(in.TaskDefinition)
	if td == nil {
		return nil, errorf("ClientException", "Unable to describe task definition.")
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: s.world.taskDefView(td)}, nil
}

func ecsUpdateService(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	w := s.world
	c, err := w.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	svc := c.findService(in.Service)
	if svc == nil {
		return nil, errorf("ServiceNotFoundException", "Service not found.")
	}
	td := svc.taskDef
	if in.TaskDefinition != "" {
		if td = w.findTaskDef(in.TaskDefinition); td == nil {
			return nil, errorf("ClientException", "Unable to describe task definition.")
		}
	}
	newDeployment := in.ForceNewDeployment || td != svc.taskDef
	if svc.controller != "ECS" && newDeployment {
		tool := "AWS CodeDeploy"
		if svc.controller == "EXTERNAL" {
			tool = "a new task set"
		}
		what := "update task definition"
		if td == svc.taskDef {
			what = "force a new deployment"
		}
		// The task-definition wording is AWS's; the force wording follows it.
		return nil, errorf("InvalidParameterException",
			"Unable to %s on services with a %s deployment controller. Use %s to trigger a new deployment.", what, svc.controller, tool)
	}
	if dc := in.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			svc.minHealthy = *dc.MinimumHealthyPercent
		}
		if dc.MaximumPercent != nil {
			svc.maxPercent = *dc.MaximumPercent
		}
		if cb := dc.DeploymentCircuitBreaker; cb != nil {
			svc.cb = &CircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
		}
	}
	scaled := false
	if in.DesiredCount != nil && *in.DesiredCount != svc.desired {
		if *in.DesiredCount < 0 {
			return nil, errorf("InvalidParameterException", "Desired count must be greater than or equal to 0.")
		}
		svc.desired, scaled = *in.DesiredCount, true
	}
	switch {
	case newDeployment:
		w.startDeployment(svc, td, now)
	case scaled:
		w.scale(svc, now)
	}
	view := w.serviceView(svc)
	return &ecs.UpdateServiceOutput{Service: &view}, nil
}

func ecsListTasks(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	c, err := s.world.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	// Not in the API reference, but what ECS answers (aws-sdk-go-v2 #1893).
	if in.StartedBy != "" && (in.ServiceName != "" || in.Family != "" || in.ContainerInstance != "" || in.LaunchType != "") {
		return nil, errorf("InvalidParameterException", "cannot specify startedBy with other arguments")
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = "RUNNING"
	}
	serviceName := in.ServiceName
	if strings.HasPrefix(serviceName, "arn:") {
		serviceName = serviceName[strings.LastIndex(serviceName, "/")+1:]
	}
	var arns []string
	for _, t := range c.tasks {
		switch {
		case t.desiredStatus != desired,
			serviceName != "" && t.svc.name != serviceName,
			in.StartedBy != "" && t.dep.id != in.StartedBy,
			in.Family != "" && t.taskDef.family != in.Family,
			in.LaunchType != "" && t.launchType != in.LaunchType,
			in.ContainerInstance != "" && (t.launchType != "EC2" || !sameResource(in.ContainerInstance, t.containerInstanceArn())):
			continue
		}
		arns = append(arns, t.arn)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100, 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	return &ecs.ListTasksOutput{TaskArns: page, NextToken: next}, nil
}

// sameResource matches an ARN given as an ARN or as its trailing id.
func sameResource(ref, arn string) bool {
	return ref == arn || strings.HasSuffix(arn, "/"+ref)
}

func ecsDescribeTasks(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeECS(body)
	if err != nil {
		return nil, err
	}
	w := s.world
	c, err := w.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := batchLimit(len(in.Tasks), 100, "Tasks", "tasks"); err != nil {
		return nil, err
	}
	// A cluster keeps every task it ever ran: index them once, not per ref.
	byRef := make(map[string]*task, 2*len(c.tasks))
	for _, t := range c.tasks {
		byRef[t.arn] = t
		byRef[t.arn[strings.LastIndex(t.arn, "/")+1:]] = t
	}
	out := &ecs.DescribeTasksOutput{}
	for _, ref := range in.Tasks {
		found := byRef[ref]
		switch {
		case found != nil:
			out.Tasks = append(out.Tasks, w.taskView(found))
		case strings.HasPrefix(ref, "arn:"):
			out.Failures = append(out.Failures, missing(ref))
		default:
			out.Failures = append(out.Failures, missing(w.arnPrefix()+"task/"+c.name+"/"+ref))
		}
	}
	return out, nil
}

// batchLimit is ECS's check of a Describe call's list: not empty, and no
// longer than the call takes, worded as ECS words it.
func batchLimit(n, limit int, field, items string) error {
	switch {
	case n == 0:
		return errorf("InvalidParameterException", "%s cannot be empty.", field)
	case n > limit:
		return errorf("InvalidParameterException", "%s can have at most %d items.", items, limit)
	}
	return nil
}
