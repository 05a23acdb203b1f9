package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/batch"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
)

const (
	// describeInstancesBatch is DescribeContainerInstances' limit of
	// container instances a call.
	describeInstancesBatch = 100
	// ssmInstanceBatch is how many instance ids one DescribeInstanceInformation
	// call filters on: a filter takes up to 100 values, but a page holds at
	// most 50 results (MaxResults 5-50), so 50 ids are one page.
	ssmInstanceBatch = 50
)

// Fleet is the ecs-config store's target: the registry key its entry of
// ECS_ENGINE_AUTH_DATA is written under, and the cluster's ACTIVE container
// instances, every one of which the plan found fit to rewrite.
type Fleet struct {
	// RegistryKey is registryauth.Key of the registry input (host[:port],
	// host[:port]/path, or Docker Hub's key): the rotated key.
	RegistryKey string
	Instances   []Instance
}

// The init systems that restart the ECS agent (ecs-init: systemctl on AL2 and AL2023, upstart on AL1).
const (
	InitSystemd = "systemd" // Amazon Linux 2 and 2023: systemctl restart ecs
	InitUpstart = "upstart" // Amazon Linux 1: stop ecs; start ecs
)

// Instance is one ACTIVE container instance of the cluster, as ECS and
// Systems Manager describe it. In a plan that Build returned, every instance
// runs Amazon Linux 1, 2 or 2023 (OS and Init are set), is managed by SSM and
// Online, and has its ECS agent connected.
type Instance struct {
	Cluster              string // as the plan names it (Plan.Clusters)
	ContainerInstanceARN string
	EC2InstanceID        string
	AgentConnected       bool
	AgentVersion         string
	RunningTasks         int32

	// Attributes the agent registers (ecs-agent/api/ecs/client/ecs_client.go).
	OSType         string // ecs.os-type: linux or windows
	OSFamily       string // ecs.os-family: LINUX, WINDOWS_SERVER_2022_CORE, ...
	OSTypeDetailed string // ecs.os-type-detailed on newer agents: amzn_2023, ...
	// BottlerocketVariant is the bottlerocket.variant attribute that
	// Bottlerocket registers through ECS_INSTANCE_ATTRIBUTES
	// (bottlerocket-os/bottlerocket packages/ecs-agent/ecs-base-conf).
	BottlerocketVariant string

	// From SSM DescribeInstanceInformation; SSMManaged is false when SSM does
	// not list the instance.
	SSMManaged      bool
	PingStatus      string // Online, ConnectionLost, Inactive
	PlatformType    string // Linux, Windows, MacOS
	PlatformName    string // "Amazon Linux", "Amazon Linux AMI" (AL1), ...
	PlatformVersion string // "2", "2023", "2018.03", ...

	OS   string // "Amazon Linux 1", "Amazon Linux 2", "Amazon Linux 2023"; empty when none of these
	Init string // InitSystemd or InitUpstart; empty when OS is
}

// ID names the instance for people: its EC2 instance id, else the container
// instance id.
func (in Instance) ID() string {
	if in.EC2InstanceID != "" {
		return in.EC2InstanceID
	}
	return awsname.Short(in.ContainerInstanceARN)
}

// readInstances lists the cluster's ACTIVE container instances, describes
// them, and joins them with what SSM knows of each.
func readInstances(ctx context.Context, api ECS, ssmAPI SSM, cluster string, refer func(...string) string) ([]Instance, error) {
	var arns []string
	pages := ecs.NewListContainerInstancesPaginator(api, &ecs.ListContainerInstancesInput{
		Cluster: aws.String(cluster), Status: ecstypes.ContainerInstanceStatusActive, MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, clusterError(cluster, refer, err, "ecs:ListContainerInstances")
		}
		arns = append(arns, page.ContainerInstanceArns...)
	}
	var instances []Instance
	for _, chunk := range batch.Chunks(arns, describeInstancesBatch) {
		out, err := api.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: chunk})
		if err != nil {
			return nil, clusterError(cluster, refer, err, "ecs:DescribeContainerInstances")
		}
		// Failures are instances deregistered since the listing: nothing to rotate there.
		for _, ci := range out.ContainerInstances {
			in := fromECS(ci)
			in.Cluster = cluster
			instances = append(instances, in)
		}
	}
	var ids []string
	for _, in := range instances {
		if in.EC2InstanceID != "" {
			ids = append(ids, in.EC2InstanceID)
		}
	}
	info := make(map[string]ssmtypes.InstanceInformation, len(ids))
	for _, chunk := range batch.Chunks(ids, ssmInstanceBatch) {
		pages := ssm.NewDescribeInstanceInformationPaginator(ssmAPI, &ssm.DescribeInstanceInformationInput{
			Filters:    []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: chunk}},
			MaxResults: aws.Int32(ssmInstanceBatch),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, awserr.Wrap(err, "ssm:DescribeInstanceInformation", "the container instances of cluster "+cluster)
			}
			for _, i := range page.InstanceInformationList {
				info[aws.ToString(i.InstanceId)] = i
			}
		}
	}
	for i := range instances {
		if si, ok := info[instances[i].EC2InstanceID]; ok && instances[i].EC2InstanceID != "" {
			instances[i].SSMManaged = true
			instances[i].PingStatus = string(si.PingStatus)
			instances[i].PlatformType = string(si.PlatformType)
			instances[i].PlatformName = aws.ToString(si.PlatformName)
			instances[i].PlatformVersion = aws.ToString(si.PlatformVersion)
		}
		instances[i].OS, instances[i].Init = amazonLinux(instances[i].PlatformName, instances[i].PlatformVersion)
	}
	return instances, nil
}

func fromECS(ci ecstypes.ContainerInstance) Instance {
	in := Instance{
		ContainerInstanceARN: aws.ToString(ci.ContainerInstanceArn),
		EC2InstanceID:        aws.ToString(ci.Ec2InstanceId),
		AgentConnected:       ci.AgentConnected,
		RunningTasks:         ci.RunningTasksCount,
	}
	if ci.VersionInfo != nil {
		in.AgentVersion = aws.ToString(ci.VersionInfo.AgentVersion)
	}
	for _, a := range ci.Attributes {
		v := aws.ToString(a.Value)
		switch aws.ToString(a.Name) {
		case "ecs.os-type":
			in.OSType = v
		case "ecs.os-family":
			in.OSFamily = v
		case "ecs.os-type-detailed":
			in.OSTypeDetailed = v
		case "bottlerocket.variant":
			in.BottlerocketVariant = v
		}
	}
	return in
}

// amazonLinux tells the ECS-optimized Amazon Linux releases apart by what SSM
// reports: PlatformName "Amazon Linux AMI" with a dated version (2018.03) for
// Amazon Linux 1, "Amazon Linux" with version 2 or 2023 for the others.
func amazonLinux(name, version string) (os, init string) {
	if !strings.HasPrefix(name, "Amazon Linux") {
		return "", ""
	}
	switch {
	case version == "2" || strings.HasPrefix(version, "2."):
		return "Amazon Linux 2", InitSystemd
	case version == "2023" || strings.HasPrefix(version, "2023."):
		return "Amazon Linux 2023", InitSystemd
	case name == "Amazon Linux AMI" || (len(version) == 7 && strings.HasPrefix(version, "20") && version[4] == '.'):
		return "Amazon Linux 1", InitUpstart
	}
	return "", ""
}

func (in Instance) windows() bool {
	return strings.EqualFold(in.OSType, "windows") || strings.HasPrefix(strings.ToUpper(in.OSFamily), "WINDOWS") ||
		in.PlatformType == string(ssmtypes.PlatformTypeWindows)
}

func (in Instance) bottlerocket() bool {
	return in.BottlerocketVariant != "" || strings.Contains(strings.ToLower(in.OSFamily), "bottlerocket") ||
		strings.HasPrefix(strings.ToLower(in.OSTypeDetailed), "bottlerocket") ||
		strings.Contains(strings.ToLower(in.PlatformName), "bottlerocket")
}

// problems says why the action cannot rewrite this instance's ecs.config,
// each with what to do instead; none when it can.
func (in Instance) problems() []string {
	switch {
	case in.windows():
		return []string{"it runs Windows, where the ECS agent reads ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA from machine-scope environment variables, not from /etc/ecs/ecs.config: set them with [Environment]::SetEnvironmentVariable(..., \"Machine\") and Restart-Service AmazonECS, or move the services to auth-mode secrets-manager"}
	case in.bottlerocket():
		return []string{"it runs Bottlerocket, which has no /etc/ecs/ecs.config: set the credentials with `apiclient set settings.container-registry.credentials` (dockercfg, through the control container or an SSM session), which restarts the agent, or move the services to auth-mode secrets-manager"}
	}
	var out []string
	if in.EC2InstanceID == "" {
		out = append(out, "ECS reports no EC2 instance id for it, so Run Command cannot be aimed at it: update its ecs.config by hand or drain and deregister it")
	} else if !in.SSMManaged {
		out = append(out, "Systems Manager does not manage it (DescribeInstanceInformation does not list it), so Run Command cannot reach it: run the SSM agent with an instance role that has AmazonSSMManagedInstanceCore, or drain and deregister the instance")
	} else if in.PingStatus != string(ssmtypes.PingStatusOnline) {
		out = append(out, fmt.Sprintf("its SSM agent is %s, not Online, so Run Command cannot reach it: restart the SSM agent or restore its network path to Systems Manager, or drain and deregister the instance", orUnknown(in.PingStatus)))
	}
	if in.SSMManaged && in.OS == "" {
		out = append(out, fmt.Sprintf("SSM reports %s %s, not Amazon Linux 1, 2 or 2023, the ECS-optimized systems whose /etc/ecs/ecs.config and agent restart this action knows: update its ecs.config by hand, or move the services to auth-mode secrets-manager", orUnknown(in.PlatformName), in.PlatformVersion))
	}
	if !in.AgentConnected {
		out = append(out, "its ECS agent is disconnected, so the run could not tell when a restarted agent is back: reconnect the agent (systemctl status ecs on the instance) or drain and deregister the instance")
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// checkInstances refuses, in one error, a listed cluster without container
// instances (with "*", only a region without any: clusters of Fargate
// services have none) and every instance whose ecs.config the action cannot
// rewrite: a half-rotated fleet pulls with two sets of credentials.
func checkInstances(cfg inputs.Common, clusters []string, byCluster map[string][]Instance) error {
	var empty []string
	var instances []Instance
	for _, c := range clusters {
		if len(byCluster[c]) == 0 {
			empty = append(empty, c)
		}
		instances = append(instances, byCluster[c]...)
	}
	if len(empty) > 0 && (!cfg.AllClusters || len(instances) == 0) {
		return fmt.Errorf("%s no ACTIVE container instance, so there is no ecs.config to rotate (Fargate tasks never read one); nothing was changed: check %s, or use %s for Fargate services",
			hasNone(empty), cfg.Refer("cluster", "aws-region"), cfg.Setting("auth-mode", string(inputs.ModeSecretsManager)))
	}
	return checkInstancesFit(clusters, instances)
}

func hasNone(empty []string) string {
	if len(empty) == 1 {
		return "cluster " + empty[0] + " has"
	}
	return "clusters " + strings.Join(empty, ", ") + " have"
}

// checkInstancesFit refuses every instance that cannot be rewritten.
func checkInstancesFit(clusters []string, instances []Instance) error {
	var refused, more []string
	for _, in := range instances {
		p := in.problems()
		switch {
		case len(p) == 0:
		case len(refused) < refusedInDetail:
			refused = append(refused, fmt.Sprintf("(%d) %s (container instance %s): %s", len(refused)+1, in.ID(), awsname.Short(in.ContainerInstanceARN), strings.Join(p, "; also, ")))
		default:
			more = append(more, in.ID())
		}
	}
	if len(refused) == 0 {
		return nil
	}
	n := len(refused) + len(more)
	switch {
	case len(more) > refusedByName:
		refused = append(refused, fmt.Sprintf("and %d more: %s and %d others", len(more), strings.Join(more[:refusedByName], ", "), len(more)-refusedByName))
	case len(more) > 0:
		refused = append(refused, fmt.Sprintf("and %d more: %s", len(more), strings.Join(more, ", ")))
	}
	return fmt.Errorf("ecs-config mode cannot rewrite ecs.config on %d of the %d container instances of %s, so nothing was changed: %s",
		n, len(instances), clustersText(clusters), strings.Join(refused, "; "))
}

// An error about many instances names the first few with what is wrong and
// what to do, then a few more by id: it must stay readable in an annotation
// (the report cuts an error's text at 4,096 characters).
const (
	refusedInDetail = 8
	refusedByName   = 40
)
