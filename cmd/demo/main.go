// Command demo runs the real ecs-registry-rotate binary against the local
// fake of AWS (internal/awsfake): one rotation that succeeds, one that the
// registry check stops before anything is written, and one whose tasks fail
// to pull, caught within seconds. No AWS account or Docker engine is needed.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	return nil
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
	args := append([]string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
		"--registry", fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "2m"}, extra...)
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
