package awsfake

import (
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// The real instance script, through Run Command, on AL2023 and AL1: it
// reads the run's parameter with the instance role (IMDSv2, SigV4), writes
// ecs.config, restarts the agent the OS's way; the agents come back with
// the new credentials and the service's new tasks pull with them. The
// password reaches no SSM request.
func TestRealScriptRotatesThroughRunCommand(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	image := f.PushImage("team/app:1.0")
	f.SetRegistryCredentials(f.RegistryHost(), "robot", "s3cret")
	old := "ECS_CLUSTER=prod\n" + dockercfg(f.RegistryHost(), "robot", "old")
	al2023 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL2023, ECSConfig: old})
	al1 := f.AddContainerInstance(Instance{Cluster: "prod", OS: AL1, ECSConfig: old})
	td := f.RegisterTaskDefinition(TaskDefinition{Family: "app", Containers: []Container{{Name: "app", Image: image}}})
	f.CreateService(Service{Cluster: "prod", Name: "app", TaskDefinition: td, DesiredCount: 2})

	payload := `{"` + f.RegistryHost() + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("robot:s3cret")) + `","email":""}}`
	name := "/ecs-registry-rotate/run-1"
	if _, err := f.ssm().PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(base64.StdEncoding.EncodeToString([]byte(payload))),
	}); err != nil {
		t.Fatal(err)
	}
	params := func(mode, init string) map[string][]string {
		return map[string][]string{"commands": script.Commands(script.Params{
			Mode: mode, RunID: "run-1", Transport: script.TransportParameter, Parameter: name,
			AuthType: script.AuthTypeDockercfg, RegistryKey: f.RegistryHost(), Init: init, Restart: true,
		}), "executionTimeout": {"60"}}
	}
	for _, mode := range []string{script.ModePreflight, script.ModeApply} {
		for _, inst := range []struct {
			ref  ContainerInstanceRef
			init string
		}{{al2023, script.InitSystemd}, {al1, script.InitUpstart}} {
			invs := f.send(t, params(mode, inst.init), inst.ref.InstanceID)
			out := aws.ToString(invs[0].CommandPlugins[0].Output)
			res := script.ParseOutput(out)
			if invs[0].Status != ssmtypes.CommandInvocationStatusSuccess || !res.OK || res.Mode != mode {
				t.Fatalf("%s on %s: %s %+v\n%s", mode, inst.ref.InstanceID, invs[0].Status, res, out)
			}
		}
	}
	for _, ref := range []ContainerInstanceRef{al2023, al1} {
		b, _ := os.ReadFile(ref.ConfigPath)
		if !strings.Contains(string(b), "ECS_CLUSTER=prod\n") || strings.Count(string(b), "ECS_ENGINE_AUTH_DATA=") != 1 {
			t.Fatalf("%s ecs.config:\n%s", ref.InstanceID, b)
		}
	}
	waitFor(t, 3*time.Second, "the agents to come back with the new credentials", func() bool {
		for _, ref := range []ContainerInstanceRef{al2023, al1} {
			if a, _ := f.Agent(ref.InstanceID); !a.Connected || a.Restarts != 1 || a.Auth[f.RegistryHost()] != "robot:s3cret" {
				return false
			}
		}
		return true
	})
	f.forceDeploy(t, "prod", "app")
	waitFor(t, 3*time.Second, "the deployment to complete", func() bool {
		svc := f.describe(t, "prod", "app")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == "COMPLETED" && svc.RunningCount == 2
	})

	for _, c := range f.Calls() {
		in := string(c.Input)
		for _, secret := range []string{"s3cret", base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))} {
			if c.Service == "ssm" && c.Operation != "PutParameter" && strings.Contains(in, secret) {
				t.Errorf("%s carried the credential: %s", c.Operation, in)
			}
		}
	}
}
