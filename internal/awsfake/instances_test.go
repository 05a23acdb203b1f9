package awsfake

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func attrOf(ci ecstypes.ContainerInstance, name string) (string, bool) {
	for _, a := range ci.Attributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value), true
		}
	}
	return "", false
}

func (f *fixture) describeInstance(t *testing.T, cluster, arn string) ecstypes.ContainerInstance {
	t.Helper()
	out, err := f.ecs.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{arn},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances(%s) = %+v, %v", arn, out, err)
	}
	return out.ContainerInstances[0]
}

func TestContainerInstancesAsECSDescribesThem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := map[OS][2]string{
		AL1:          {"linux", "LINUX"},
		AL2:          {"linux", "LINUX"},
		AL2023:       {"linux", "LINUX"},
		Bottlerocket: {"linux", "LINUX"},
		Windows:      {"windows", "WINDOWS_SERVER_2022_CORE"},
	}
	refs := map[OS]ContainerInstanceRef{}
	for o := range want {
		refs[o] = f.AddContainerInstance(Instance{Cluster: "prod", OS: o})
	}
	for o, w := range want {
		ci := f.describeInstance(t, "prod", refs[o].Arn)
		osType, _ := attrOf(ci, "ecs.os-type")
		family, _ := attrOf(ci, "ecs.os-family")
		_, bottlerocket := attrOf(ci, "bottlerocket.variant")
		if osType != w[0] || family != w[1] || bottlerocket != (o == Bottlerocket) {
			t.Errorf("%s: os-type %q os-family %q bottlerocket.variant %v", o, osType, family, bottlerocket)
		}
		if aws.ToString(ci.Ec2InstanceId) != refs[o].InstanceID || !ci.AgentConnected || aws.ToString(ci.Status) != "ACTIVE" ||
			ci.VersionInfo == nil || aws.ToString(ci.VersionInfo.AgentVersion) == "" {
			t.Errorf("%s: %+v", o, ci)
		}
	}
	if v := aws.ToString(f.describeInstance(t, "prod", refs[AL1].Arn).VersionInfo.AgentVersion); v != "1.51.0" {
		t.Errorf("AL1 agent %s", v)
	}

	for range 100 {
		f.AddContainerInstance(Instance{Cluster: "prod"})
	}
	var arns []string
	pages := 0
	p := ecs.NewListContainerInstancesPaginator(f.ecs, &ecs.ListContainerInstancesInput{
		Cluster: aws.String("prod"), Status: ecstypes.ContainerInstanceStatusActive,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		arns = append(arns, page.ContainerInstanceArns...)
	}
	if pages != 2 || len(arns) != 105 {
		t.Fatalf("%d pages, %d arns; want 2 pages of up to 100, 105 arns", pages, len(arns))
	}
	out, err := f.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("prod"), Status: ecstypes.ContainerInstanceStatusDraining})
	if err != nil || len(out.ContainerInstanceArns) != 0 {
		t.Fatalf("DRAINING: %+v, %v", out, err)
	}

	var ip *ecstypes.InvalidParameterException
	if _, err := f.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("prod"), ContainerInstances: arns[:101],
	}); !errors.As(err, &ip) {
		t.Fatalf("101 instances: %v", err)
	}
	ghost := "0123456789abcdef0123456789abcdef"
	d, err := f.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("prod"), ContainerInstances: []string{arns[0], ghost},
	})
	if err != nil || len(d.ContainerInstances) != 1 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" ||
		aws.ToString(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/"+ghost {
		t.Fatalf("with a ghost: %+v, %v", d, err)
	}
	var cnf *ecstypes.ClusterNotFoundException
	if _, err := f.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("nope")}); !errors.As(err, &cnf) {
		t.Fatalf("unknown cluster: %v", err)
	}
}

func dockercfg(key, user, pass string) string {
	return `ECS_ENGINE_AUTH_TYPE=dockercfg` + "\n" + `ECS_ENGINE_AUTH_DATA={"` + key + `":{"auth":"` +
		base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + `","email":""}}` + "\n"
}

// The agent reads ecs.config as ecs-init and dockerauth do.
func TestAgentAuthFromECSConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ecs.config")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, config, image string
		want                string // "user:pass", "" = anonymous
	}{
		{"docker hub via the v1 key", dockercfg("https://index.docker.io/v1/", "u", "p"), "nginx:1.27", "u:p"},
		{"docker hub full name", dockercfg("https://index.docker.io/v1/", "u", "p"), "docker.io/library/nginx", "u:p"},
		{"docker.io key never matches", dockercfg("docker.io", "u", "p"), "nginx", ""},
		{"host with port, schema stripped", dockercfg("https://reg.example.com:5000", "u", "p:with:colons"), "reg.example.com:5000/team/app:1", "u:p:with:colons"},
		{"other host anonymous", dockercfg("reg.example.com", "u", "p"), "other.example.com/app", ""},
		{"docker type", "ECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA={\"reg.example.com\":{\"Username\":\"u\",\"password\":\"p\",\"email\":\"\"}}\n", "reg.example.com/app", "u:p"},
		{"last occurrence wins", dockercfg("reg.example.com", "old", "x") + dockercfg("reg.example.com", "new", "y"), "reg.example.com/app", "new:y"},
		{"CRLF and spaces trimmed", strings.ReplaceAll(dockercfg("reg.example.com", "u", "p"), "\n", "\r\n"), "reg.example.com/app", "u:p"},
		{"quoted value is not JSON", "ECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA='{\"reg.example.com\":{\"username\":\"u\",\"password\":\"p\"}}'\n", "reg.example.com/app", ""},
		{"bad base64 drops the entry", `ECS_ENGINE_AUTH_TYPE=dockercfg` + "\n" + `ECS_ENGINE_AUTH_DATA={"reg.example.com":{"auth":"%%%"}}`, "reg.example.com/app", ""},
		{"no colon drops the entry", `ECS_ENGINE_AUTH_TYPE=dockercfg` + "\n" + `ECS_ENGINE_AUTH_DATA={"reg.example.com":{"auth":"` + b64("nocolon") + `"}}`, "reg.example.com/app", ""},
		{"unknown type anonymous", "ECS_ENGINE_AUTH_TYPE=basic\n" + strings.SplitN(dockercfg("reg.example.com", "u", "p"), "\n", 2)[1], "reg.example.com/app", ""},
		// "#ECS_ENGINE_AUTH_TYPE" is just another key: the type is unset.
		{"a # makes another key", "#" + dockercfg("reg.example.com", "u", "p"), "reg.example.com/app", ""},
	}
	for _, tc := range cases {
		if err := os.WriteFile(path, []byte(tc.config), 0o644); err != nil {
			t.Fatal(err)
		}
		got := ""
		if c := agentCredFor(loadAgentAuth(path), tc.image); c != nil {
			got = c.username + ":" + c.password
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if len(loadAgentAuth(filepath.Join(dir, "missing"))) != 0 {
		t.Error("a missing ecs.config gave credentials")
	}
}

// A restarted agent is away for a few ticks, comes back with what
// ecs.config holds, and new tasks pull with it; running tasks keep running.
func TestRestartedAgentPullsWithNewConfig(t *testing.T) {
	f := newFixture(t)
	image := f.PushImage("team/app:1.0")
	f.SetRegistryCredentials(f.RegistryHost(), "robot", "s3cret")
	ref := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL2, ECSConfig: "ECS_CLUSTER=prod\n" + dockercfg(f.RegistryHost(), "robot", "old")})
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "app", Image: image}}})
	f.CreateService(Service{Cluster: "prod", Name: "app", TaskDefinition: td, DesiredCount: 2})
	running := f.tasksOf(t, "prod", aws.ToString(f.describe(t, "prod", "app").Deployments[0].Id), ecstypes.DesiredStatusRunning)
	if len(running) != 2 || aws.ToString(running[0].ContainerInstanceArn) != ref.Arn {
		t.Fatalf("tasks not on the instance: %+v", running)
	}
	if ci := f.describeInstance(t, "prod", ref.Arn); ci.RunningTasksCount != 2 {
		t.Fatalf("runningTasksCount %d", ci.RunningTasksCount)
	}

	// With the old password the new deployment cannot pull.
	dep := f.forceDeploy(t, "prod", "app")
	waitFor(t, 2*time.Second, "a failed pull", func() bool {
		for _, task := range f.tasksOf(t, "prod", dep, ecstypes.DesiredStatusStopped) {
			if strings.HasPrefix(aws.ToString(task.StoppedReason), "CannotPullContainerError: Error response from daemon: pull access denied for ") {
				return true
			}
		}
		return false
	})

	if err := os.WriteFile(ref.ConfigPath, []byte("ECS_CLUSTER=prod\n"+dockercfg("https://"+f.RegistryHost(), "robot", "s3cret")), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Agent(ref.InstanceID); a.Auth[f.RegistryHost()] != "robot:old" {
		t.Fatalf("the agent re-read its config without a restart: %+v", a)
	}
	f.RestartAgent(ref.InstanceID)
	if ci := f.describeInstance(t, "prod", ref.Arn); ci.AgentConnected {
		t.Fatal("connected right after a restart")
	}
	waitFor(t, 2*time.Second, "the agent to reconnect", func() bool { return f.describeInstance(t, "prod", ref.Arn).AgentConnected })
	if a, _ := f.Agent(ref.InstanceID); a.Auth[f.RegistryHost()] != "robot:s3cret" || a.Restarts != 1 {
		t.Fatalf("agent after restart: %+v", a)
	}
	waitFor(t, 3*time.Second, "the deployment to complete", func() bool {
		svc := f.describe(t, "prod", "app")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted && svc.RunningCount == 2
	})
}

func TestAgentThatNeverReconnectsStopsPlacement(t *testing.T) {
	f := newFixture(t)
	ref := f.AddContainerInstance(Instance{Cluster: "prod", NeverReconnects: true})
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "pub", Containers: []Container{{Name: "web", Image: "nginx:1.27"}}})
	f.CreateService(Service{Cluster: "prod", Name: "web", TaskDefinition: td, DesiredCount: 1})
	f.RestartAgent(ref.InstanceID)
	time.Sleep(6 * testTick)
	if f.describeInstance(t, "prod", ref.Arn).AgentConnected {
		t.Fatal("an agent that never reconnects reconnected")
	}
	if svc := f.describe(t, "prod", "web"); svc.RunningCount != 1 {
		t.Fatalf("the running task stopped with its agent: %d running", svc.RunningCount)
	}
	f.forceDeploy(t, "prod", "web")
	waitFor(t, 2*time.Second, "a placement failure event", func() bool {
		msg := aws.ToString(f.describe(t, "prod", "web").Events[0].Message)
		return strings.Contains(msg, "was unable to place a task because no container instance met all of its requirements")
	})
	if svc := f.describe(t, "prod", "web"); svc.Deployments[0].RunningCount != 0 || svc.Deployments[0].PendingCount != 1 {
		t.Fatalf("new deployment %+v", svc.Deployments[0])
	}
}

// Tasks spread round robin over connected instances, and pull with what
// each one's agent loaded.
func TestPlacementRoundRobinPerInstanceAuth(t *testing.T) {
	f := newFixture(t)
	image := f.PushImage("team/app:1.0")
	f.SetRegistryCredentials(f.RegistryHost(), "robot", "s3cret")
	good := f.AddContainerInstance(Instance{Cluster: "prod", ECSConfig: dockercfg(f.RegistryHost(), "robot", "s3cret")})
	bad := f.AddContainerInstance(Instance{Cluster: "prod", ECSConfig: "ECS_CLUSTER=prod\n"})
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "app", Image: image}}})
	f.CreateService(Service{Cluster: "prod", Name: "app", TaskDefinition: td, DesiredCount: 0})
	_, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("app"), DesiredCount: aws.Int32(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	dep := aws.ToString(f.describe(t, "prod", "app").Deployments[0].Id)
	on := map[string]string{} // instance ARN → outcome
	waitFor(t, 2*time.Second, "tasks on both instances", func() bool {
		for _, task := range append(f.tasksOf(t, "prod", dep, ecstypes.DesiredStatusRunning), f.tasksOf(t, "prod", dep, ecstypes.DesiredStatusStopped)...) {
			if s := aws.ToString(task.LastStatus); s == "RUNNING" || s == "STOPPED" {
				on[aws.ToString(task.ContainerInstanceArn)+" "+s] = aws.ToString(task.StoppedReason)
			}
		}
		_, ok1 := on[good.Arn+" RUNNING"]
		_, ok2 := on[bad.Arn+" STOPPED"]
		return ok1 && ok2
	})
	for k, reason := range on {
		if strings.HasPrefix(k, good.Arn) && strings.HasSuffix(k, "STOPPED") {
			t.Errorf("a task failed on the instance with credentials: %s", reason)
		}
		if strings.HasPrefix(k, bad.Arn) && strings.HasSuffix(k, "STOPPED") && !strings.Contains(reason, "pull access denied") {
			t.Errorf("anonymous pull failed with %q", reason)
		}
	}
	list, err := f.ecs.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), ContainerInstance: aws.String(good.Arn)})
	if err != nil || len(list.TaskArns) == 0 {
		t.Fatalf("ListTasks by containerInstance: %+v, %v", list, err)
	}
}
