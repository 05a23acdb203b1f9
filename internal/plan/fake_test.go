package plan

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Small hand-written fakes of the three APIs the plan reads. They enforce the
// per-call limits of the real APIs, so a test fails when the plan exceeds them.

const (
	account    = "123456789012"
	clusterARN = "arn:aws:ecs:us-east-1:" + account + ":cluster/prod"
	secretARN  = "arn:aws:secretsmanager:us-east-1:" + account + ":secret:prod/registry-AbCdEf"
)

func serviceARN(name string) string {
	return "arn:aws:ecs:us-east-1:" + account + ":service/prod/" + name
}

type fakeECS struct {
	mu        sync.Mutex
	services  []ecstypes.Service                        // in ListServices order
	taskDefs  map[string][]ecstypes.ContainerDefinition // by task definition ARN
	instances []ecstypes.ContainerInstance
	calls     map[string]int
}

func (f *fakeECS) count(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

// addService adds a service whose current task definition has containers.
func (f *fakeECS) addService(name string, launch ecstypes.LaunchType, containers ...ecstypes.ContainerDefinition) {
	td := "arn:aws:ecs:us-east-1:" + account + ":task-definition/" + name + ":1"
	if f.taskDefs == nil {
		f.taskDefs = map[string][]ecstypes.ContainerDefinition{}
	}
	f.taskDefs[td] = containers
	f.services = append(f.services, ecstypes.Service{
		ServiceName: aws.String(name), ServiceArn: aws.String(serviceARN(name)), ClusterArn: aws.String(clusterARN),
		TaskDefinition: aws.String(td), Status: aws.String("ACTIVE"), DesiredCount: 2, RunningCount: 2, LaunchType: launch,
	})
}

func container(name, image, credentialsParameter string) ecstypes.ContainerDefinition {
	c := ecstypes.ContainerDefinition{Name: aws.String(name), Image: aws.String(image)}
	if credentialsParameter != "" {
		c.RepositoryCredentials = &ecstypes.RepositoryCredentials{CredentialsParameter: aws.String(credentialsParameter)}
	}
	return c
}

func (f *fakeECS) ListClusters(context.Context, *ecs.ListClustersInput, ...func(*ecs.Options)) (*ecs.ListClustersOutput, error) {
	f.count("ListClusters")
	return &ecs.ListClustersOutput{ClusterArns: []string{clusterARN}}, nil
}

func (f *fakeECS) ListServices(_ context.Context, in *ecs.ListServicesInput, _ ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	f.count("ListServices")
	out := &ecs.ListServicesOutput{}
	for _, s := range f.services {
		out.ServiceArns = append(out.ServiceArns, aws.ToString(s.ServiceArn))
	}
	return out, nil
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.count("DescribeServices")
	if len(in.Services) > 10 {
		return nil, fmt.Errorf("InvalidParameterException: %d services, at most 10", len(in.Services))
	}
	out := &ecs.DescribeServicesOutput{}
	for _, ref := range in.Services {
		i := slices.IndexFunc(f.services, func(s ecstypes.Service) bool {
			return ref == aws.ToString(s.ServiceName) || ref == aws.ToString(s.ServiceArn)
		})
		if i < 0 {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(serviceARN(ref)), Reason: aws.String("MISSING")})
			continue
		}
		out.Services = append(out.Services, f.services[i]) // named twice, described twice, as ECS does
	}
	return out, nil
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.count("DescribeTaskDefinition")
	f.mu.Lock()
	defer f.mu.Unlock()
	defs, ok := f.taskDefs[aws.ToString(in.TaskDefinition)]
	if !ok {
		return nil, fmt.Errorf("ClientException: unable to describe task definition %s", aws.ToString(in.TaskDefinition))
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{ContainerDefinitions: defs}}, nil
}

func (f *fakeECS) ListContainerInstances(_ context.Context, in *ecs.ListContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error) {
	f.count("ListContainerInstances")
	if in.Status != ecstypes.ContainerInstanceStatusActive {
		return nil, fmt.Errorf("test: ListContainerInstances without the ACTIVE status filter")
	}
	size := int(aws.ToInt32(in.MaxResults))
	if size == 0 {
		size = 100
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+size, len(f.instances))
	out := &ecs.ListContainerInstancesOutput{}
	for _, ci := range f.instances[start:end] {
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, aws.ToString(ci.ContainerInstanceArn))
	}
	if end < len(f.instances) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeECS) DescribeContainerInstances(_ context.Context, in *ecs.DescribeContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	f.count("DescribeContainerInstances")
	if len(in.ContainerInstances) > 100 {
		return nil, fmt.Errorf("InvalidParameterException: %d container instances, at most 100", len(in.ContainerInstances))
	}
	out := &ecs.DescribeContainerInstancesOutput{}
	for _, ref := range in.ContainerInstances {
		i := slices.IndexFunc(f.instances, func(ci ecstypes.ContainerInstance) bool { return aws.ToString(ci.ContainerInstanceArn) == ref })
		if i < 0 {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(ref), Reason: aws.String("MISSING")})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, f.instances[i])
	}
	return out, nil
}

// instance describes one container instance as the agent registers it.
type instance struct {
	id           string // EC2 instance id
	osType       string // ecs.os-type; "" → linux
	osFamily     string
	bottlerocket string // bottlerocket.variant
	disconnected bool
}

func (f *fakeECS) addInstance(in instance) {
	osType := in.osType
	if osType == "" {
		osType = "linux"
	}
	family := in.osFamily
	if family == "" {
		family = strings.ToUpper(osType)
	}
	attrs := []ecstypes.Attribute{
		{Name: aws.String("ecs.os-type"), Value: aws.String(osType)},
		{Name: aws.String("ecs.os-family"), Value: aws.String(family)},
		{Name: aws.String("ecs.capability.privileged-container")},
	}
	if in.bottlerocket != "" {
		attrs = append(attrs, ecstypes.Attribute{Name: aws.String("bottlerocket.variant"), Value: aws.String(in.bottlerocket)})
	}
	f.instances = append(f.instances, ecstypes.ContainerInstance{
		ContainerInstanceArn: aws.String("arn:aws:ecs:us-east-1:" + account + ":container-instance/prod/ci" + strings.TrimPrefix(in.id, "i-")),
		Ec2InstanceId:        aws.String(in.id),
		AgentConnected:       !in.disconnected,
		Status:               aws.String("ACTIVE"),
		VersionInfo:          &ecstypes.VersionInfo{AgentVersion: aws.String("1.99.0")},
		Attributes:           attrs,
	})
}

type fakeSSM struct {
	mu    sync.Mutex
	info  map[string]ssmtypes.InstanceInformation
	calls int
}

func (f *fakeSSM) manage(id, platformName, platformVersion string, ping ssmtypes.PingStatus) {
	if f.info == nil {
		f.info = map[string]ssmtypes.InstanceInformation{}
	}
	platform := ssmtypes.PlatformTypeLinux
	if strings.Contains(platformName, "Windows") {
		platform = ssmtypes.PlatformTypeWindows
	}
	f.info[id] = ssmtypes.InstanceInformation{
		InstanceId: aws.String(id), PingStatus: ping, PlatformType: platform,
		PlatformName: aws.String(platformName), PlatformVersion: aws.String(platformVersion),
	}
}

func (f *fakeSSM) DescribeInstanceInformation(_ context.Context, in *ssm.DescribeInstanceInformationInput, _ ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if in.MaxResults != nil && (*in.MaxResults < 5 || *in.MaxResults > 50) {
		return nil, fmt.Errorf("ValidationException: MaxResults %d not in 5-50", *in.MaxResults)
	}
	if len(in.Filters) != 1 || aws.ToString(in.Filters[0].Key) != "InstanceIds" || len(in.Filters[0].Values) == 0 || len(in.Filters[0].Values) > 100 {
		return nil, fmt.Errorf("test: want one InstanceIds filter of 1-100 values, got %+v", in.Filters)
	}
	var matched []ssmtypes.InstanceInformation
	for _, id := range in.Filters[0].Values {
		if i, ok := f.info[id]; ok {
			matched = append(matched, i)
		}
	}
	size := int(aws.ToInt32(in.MaxResults))
	if size == 0 {
		size = 10
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+size, len(matched))
	out := &ssm.DescribeInstanceInformationOutput{InstanceInformationList: matched[start:end]}
	if end < len(matched) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

type fakeSecrets struct{}

func (fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{
		ARN: aws.String(secretARN), Name: aws.String("prod/registry"), VersionId: aws.String("v1"),
		SecretString: aws.String(`{"username":"old","password":"old-password"}`),
	}, nil
}
