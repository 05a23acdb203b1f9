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

// ListContainerInstances and DescribeContainerInstances, answered as ECS
// does (aws-sdk-go-v2 service/ecs api_op_ListContainerInstances.go,
// api_op_DescribeContainerInstances.go).

type ciInput struct {
	Cluster            string   `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Filter             string   `json:"filter"`
	Status             string   `json:"status"`
	MaxResults         *int32   `json:"maxResults"`
	NextToken          string   `json:"nextToken"`
}

func decodeCI(body []byte) (*ciInput, error) {
	var in ciInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	return &in, nil
}

// ecsListContainerInstances: without a status, every instance not
// INACTIVE; up to 100 a page, 100 by default.
func ecsListContainerInstances(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeCI(body)
	if err != nil {
		return nil, err
	}
	c, err := s.world.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Filter != "" {
		return nil, errorf("InvalidParameterException", "awsfake does not model cluster query language filters")
	}
	if in.Status != "" {
		valid := false
		for _, v := range ecstypes.ContainerInstanceStatus("").Values() {
			valid = valid || string(v) == in.Status
		}
		if !valid {
			return nil, errorf("InvalidParameterException", "Invalid status: %s", in.Status)
		}
	}
	var arns []string
	for _, ci := range c.instances {
		if (in.Status == "" && ci.status != "INACTIVE") || ci.status == in.Status {
			arns = append(arns, ci.arn)
		}
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100, 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: page, NextToken: next}, nil
}

func ecsDescribeContainerInstances(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeCI(body)
	if err != nil {
		return nil, err
	}
	w := s.world
	c, err := w.mustCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := batchLimit(len(in.ContainerInstances), 100, "ContainerInstances", "containerInstances"); err != nil {
		return nil, err
	}
	out := &ecs.DescribeContainerInstancesOutput{}
	for _, ref := range in.ContainerInstances {
		if ci := c.findInstance(ref); ci != nil {
			out.ContainerInstances = append(out.ContainerInstances, w.containerInstanceView(ci))
		} else if strings.HasPrefix(ref, "arn:") {
			out.Failures = append(out.Failures, missing(ref))
		} else {
			out.Failures = append(out.Failures, missing(w.arnPrefix()+"container-instance/"+c.name+"/"+ref))
		}
	}
	return out, nil
}

// containerInstanceView renders an instance as DescribeContainerInstances
// does. The agent registers ecs.os-type (linux, windows) and ecs.os-family
// (LINUX, or WINDOWS_SERVER_<release>_<CORE|FULL>) (aws/amazon-ecs-agent
// agent/api/ecsclient/client.go, agent/config/config_unix.go,
// config_windows.go). Bottlerocket runs the same agent, so its family is
// LINUX; it tells itself apart with the bottlerocket.variant attribute that
// its ecs-settings-applier sets (bottlerocket-os/bottlerocket).
func (w *world) containerInstanceView(ci *containerInstance) ecstypes.ContainerInstance {
	osType := "linux"
	if ci.isWindows() {
		osType = "windows"
	}
	attr := func(name, value string) ecstypes.Attribute {
		a := ecstypes.Attribute{Name: aws.String(name)}
		if value != "" {
			a.Value = aws.String(value)
		}
		return a
	}
	attrs := []ecstypes.Attribute{
		attr("ecs.ami-id", "ami-0fake"+ci.ec2ID[len(ci.ec2ID)-8:]),
		attr("ecs.availability-zone", w.region+"a"),
		attr("ecs.instance-type", "m5.large"),
		attr("ecs.os-type", osType),
		attr("ecs.os-family", ci.osFamily),
		attr("ecs.cpu-architecture", "x86_64"),
		attr("com.amazonaws.ecs.capability.docker-remote-api.1.17", ""),
		attr("com.amazonaws.ecs.capability.privileged-container", ""),
		attr("ecs.capability.execution-role-awslogs", ""),
		attr("ecs.capability.private-registry-authentication.secretsmanager", ""),
	}
	if ci.os == Bottlerocket {
		attrs = append(attrs, attr("bottlerocket.variant", "aws-ecs-2"), attr("bottlerocket.version", "1.20.0"))
	}
	running, pending := ci.counts()
	docker := "DockerVersion: 25.0.8"
	if ci.isWindows() {
		docker = "DockerVersion: 20.10.21"
	}
	return ecstypes.ContainerInstance{
		ContainerInstanceArn: aws.String(ci.arn),
		Ec2InstanceId:        aws.String(ci.ec2ID),
		Status:               aws.String(ci.status),
		AgentConnected:       ci.agent.connected,
		VersionInfo: &ecstypes.VersionInfo{
			AgentVersion:  aws.String(ci.agentVersion),
			AgentHash:     aws.String("4c4fb4f3"),
			DockerVersion: aws.String(docker),
		},
		Attributes:        attrs,
		RegisteredAt:      aws.Time(ci.registeredAt),
		RunningTasksCount: running,
		PendingTasksCount: pending,
		Version:           ci.version,
	}
}
