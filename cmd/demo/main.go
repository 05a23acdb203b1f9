// Command demo runs the real ecs-registry-rotate binary against the local
// fake of AWS (internal/awsfake): one rotation that succeeds, one that the
// registry check stops before anything is written, one whose tasks fail to
// pull, caught within seconds, and one in ecs-config mode that rewrites
// /etc/ecs/ecs.config on Amazon Linux 1, 2 and 2023 container instances
// through SSM Run Command (the fake runs the real instance script with
// bash). No AWS account or Docker engine is needed.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

const user = "deploy"

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo() error {
	bin, err := build()
	if err != nil {
		return err
	}
	fake, err := awsfake.Start(awsfake.Options{Tick: 400 * time.Millisecond})
	if err != nil {
		return err
	}
	defer fake.Close()
	seed(fake)

	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-11")
	step("1. The registry token was rotated to token-2026-11: rotate ECS onto it")
	rotate(bin, fake, "token-2026-11")

	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-12")
	step("2. The next rotation has a typo (token-2026-1Z): the registry check refuses it, nothing is written")
	rotate(bin, fake, "token-2026-1Z")

	step("3. The same typo with verify-credentials: false: the new tasks cannot pull, the job fails within seconds")
	rotate(bin, fake, "token-2026-1Z", "--verify-credentials=false")

	return ecsConfigDemo(bin)
}

// ecsConfigDemo rotates a cluster whose agents read the registry
// credentials from /etc/ecs/ecs.config, in a fake of its own whose agents
// take 0.6 s to reconnect after a restart.
func ecsConfigDemo(bin string) error {
	fake, err := awsfake.Start(awsfake.Options{Tick: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	defer fake.Close()
	instances := seedInstances(fake)

	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-11")
	step("4. auth-mode: ecs-config: AL1, AL2 and AL2023 instances hold token-2026-10 in /etc/ecs/ecs.config; rewrite it through SSM, restart the agents a quarter at a time, roll the services")
	run(bin, fake, "token-2026-11", "--auth-mode", "ecs-config", "--ecs-config-transport", "parameter",
		"--cluster", "edge", "--username", user, "--registry", fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "2m")

	fmt.Println("\n>>> the instances now, as the fake sees them:")
	for _, in := range instances {
		agent, _ := fake.Agent(in.InstanceID)
		fmt.Printf(">>> %s  %-6s  ecs.config: %s\n", in.InstanceID, in.os, configHolds(in.ConfigPath))
		fmt.Printf(">>> %s  %-6s  agent: restarted %d time(s), connected %v, pulls from the registry as %s\n",
			in.InstanceID, in.os, agent.Restarts, agent.Connected, agent.Auth[fake.RegistryHost()])
	}
	fmt.Printf(">>> SSM parameters left: %d; an SSM request other than PutParameter carried the password: %v\n",
		len(fake.ParameterNames()), ssmCarried(fake, "token-2026-11"))
	return nil
}

type demoInstance struct {
	awsfake.ContainerInstanceRef
	os awsfake.OS
}

// seedInstances builds cluster edge: an AL1, an AL2 and an AL2023 instance
// whose ecs.config gives the agent token-2026-10 for the registry (and keeps
// a ghcr.io entry), and two services that pull from the registry without
// repositoryCredentials, so with what their instance's agent loaded.
func seedInstances(fake *awsfake.Server) []demoInstance {
	fake.CreateCluster("edge")
	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-10")
	var out []demoInstance
	for _, o := range []awsfake.OS{awsfake.AL1, awsfake.AL2, awsfake.AL2023} {
		ref := fake.AddContainerInstance(awsfake.Instance{Cluster: "edge", OS: o, ECSConfig: ecsConfig(fake.RegistryHost(), "token-2026-10")})
		out = append(out, demoInstance{ref, o})
	}
	for _, svc := range []struct{ name, image string }{{"api", "edge/api:3.1.0"}, {"cache", "edge/cache:7.2"}} {
		td := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: svc.name, Containers: []awsfake.Container{
			{Name: svc.name, Image: fake.PushImage(svc.image)},
		}})
		fake.CreateService(awsfake.Service{Cluster: "edge", Name: svc.name, TaskDefinition: td, DesiredCount: 2})
	}
	return out
}

func ecsConfig(registry, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return "ECS_CLUSTER=edge\nECS_ENGINE_AUTH_TYPE=dockercfg\n" +
		`ECS_ENGINE_AUTH_DATA={"` + registry + `":{"auth":"` + auth + `","email":""},"ghcr.io":{"auth":"b3RoZXI6a2VlcA==","email":""}}` + "\n" +
		"ECS_ENABLE_TASK_IAM_ROLE=true\n"
}

// configHolds says what ecs.config now gives the agent for each registry,
// as user:password, and whether the lines around the two variables stayed.
func configHolds(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	text := string(b)
	kept := "other lines kept"
	if !strings.HasPrefix(text, "ECS_CLUSTER=edge\n") || !strings.HasSuffix(text, "\nECS_ENABLE_TASK_IAM_ROLE=true\n") {
		kept = "other lines CHANGED"
	}
	for _, line := range strings.Split(text, "\n") {
		data, ok := strings.CutPrefix(line, "ECS_ENGINE_AUTH_DATA=")
		if !ok {
			continue
		}
		var entries map[string]struct{ Auth string }
		if err := json.Unmarshal([]byte(data), &entries); err != nil {
			return "ECS_ENGINE_AUTH_DATA does not parse: " + err.Error()
		}
		var parts []string
		for _, key := range slices.Sorted(maps.Keys(entries)) {
			raw, _ := base64.StdEncoding.DecodeString(entries[key].Auth)
			parts = append(parts, key+" → "+string(raw))
		}
		return strings.Join(parts, ", ") + "; " + kept
	}
	return "no ECS_ENGINE_AUTH_DATA"
}

// ssmCarried says whether an SSM request other than PutParameter (which
// writes the SecureString) carried the password, plain or in the auth data.
func ssmCarried(fake *awsfake.Server, password string) bool {
	forms := []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	for _, c := range fake.Calls() {
		if c.Service != "ssm" || c.Operation == "PutParameter" {
			continue
		}
		for _, f := range forms {
			if strings.Contains(string(c.Input), f) {
				return true
			}
		}
	}
	return false
}

// seed builds a cluster with two services that pull with the secret and one
// public service that does not.
func seed(fake *awsfake.Server) {
	fake.CreateCluster("prod")
	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-10")
	secretARN := fake.CreateSecret("prod/registry", `{"username":"deploy","password":"token-2026-10","team":"platform"}`)
	for _, svc := range []struct{ name, image string }{{"web", "shop/web:1.4.2"}, {"worker", "shop/worker:2.0.1"}} {
		td := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: svc.name, Containers: []awsfake.Container{
			{Name: svc.name, Image: fake.PushImage(svc.image), CredentialsParameter: secretARN},
		}})
		fake.CreateService(awsfake.Service{Cluster: "prod", Name: svc.name, TaskDefinition: td, DesiredCount: 2})
	}
	td := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "proxy", Containers: []awsfake.Container{{Name: "nginx", Image: "nginx:1.27"}}})
	fake.CreateService(awsfake.Service{Cluster: "prod", Name: "proxy", TaskDefinition: td, DesiredCount: 1})
}

func rotate(bin string, fake *awsfake.Server, password string, extra ...string) {
	run(bin, fake, password, append([]string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "2m"}, extra...)...)
}

// run runs the binary against the fake with these flags and the password.
func run(bin string, fake *awsfake.Server, password string, args ...string) {
	cmd := exec.Command(bin, args...)
	// The password travels as INPUT_PASSWORD, as under Actions, not in the process list.
	cmd.Env = append(append(os.Environ(), fake.Env()...), "INPUT_PASSWORD="+password)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	fmt.Printf("\n>>> exit status %d after %s\n", cmd.ProcessState.ExitCode(), time.Since(start).Round(100*time.Millisecond))
	if err != nil && cmd.ProcessState == nil {
		fmt.Println(">>> could not run:", err)
	}
}

func build() (string, error) {
	dir, err := os.MkdirTemp("", "ecs-registry-rotate-demo")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ecs-registry-rotate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ecs-registry-rotate")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the binary (run the demo from the repository root): %w", err)
	}
	return bin, nil
}

func step(title string) {
	fmt.Printf("\n==================== %s\n\n", title)
}
