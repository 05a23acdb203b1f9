package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/registryauth"
)

func secretsConfig(services ...string) inputs.Config {
	return inputs.Config{
		Common:      inputs.Common{AuthMode: inputs.ModeSecretsManager, Cluster: "prod", Clusters: []string{"prod"}, Services: services},
		SecretStore: inputs.SecretStore{SecretID: "prod/registry"},
		Rollout:     inputs.Rollout{ForceNewDeployment: true},
	}
}

func ecsConfig(registry string, services ...string) inputs.Config {
	return inputs.Config{
		Common:         inputs.Common{AuthMode: inputs.ModeECSConfig, Cluster: "prod", Clusters: []string{"prod"}, Services: services},
		Credentials:    inputs.Credentials{Registry: registry},
		ECSConfigStore: inputs.ECSConfigStore{ECSConfigAuthType: "dockercfg"},
		Rollout:        inputs.Rollout{ForceNewDeployment: true},
	}
}

// built is a plan with its store's target, whichever store cfg names.
type built struct {
	Plan
	Fleet
	Secret Secret
}

func (b built) JudgeKeys(keysAfter []string) error { return b.Fleet.JudgeKeys(b.Services, keysAfter) }

// Build plans as the store that cfg names would.
func Build(ctx context.Context, cfg inputs.Config, api ECS, sm Secrets, ssmAPI SSM) (built, error) {
	scope := Scope{Common: cfg.Common, ForceNewDeployment: cfg.ForceNewDeployment}
	if cfg.AuthMode == inputs.ModeECSConfig {
		p, f, err := ForFleet(ctx, scope, cfg.Credentials, cfg.ECSConfigAuthType, api, ssmAPI)
		return built{Plan: p, Fleet: f}, err
	}
	p, s, err := ForSecret(ctx, scope, cfg.SecretID, api, sm)
	return built{Plan: p, Secret: s}, err
}

func names(services []Service) []string {
	var out []string
	for _, s := range services {
		out = append(out, s.Name)
	}
	return out
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one that says %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not say %q:\n%v", p, err)
		}
	}
}

// Issue 7 point 4: a service named by name and by ARN is planned once.
func TestServiceNamedTwiceIsPlannedOnce(t *testing.T) {
	api := &fakeECS{}
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "registry.example.com/web:1", "prod/registry"))
	api.addService("worker", ecstypes.LaunchTypeEc2, container("worker", "registry.example.com/worker:1", secretARN))
	p, err := Build(context.Background(), secretsConfig("web", serviceARN("web"), "worker", serviceARN("worker")), api, fakeSecrets{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p.Services); !slices.Equal(got, []string{"web", "worker"}) {
		t.Errorf("planned %v, want [web worker] once each", got)
	}
}

// A service keeps the ids of its deployments, primary or not: the rollout
// tells the deployment it starts from them when the answer that names it is
// lost.
func TestServiceKeepsItsDeploymentIDs(t *testing.T) {
	api := &fakeECS{}
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "registry.example.com/web:1", "prod/registry"))
	api.services[0].Deployments = []ecstypes.Deployment{
		{Id: aws.String("ecs-svc/2"), Status: aws.String("PRIMARY")},
		{Id: aws.String("ecs-svc/1"), Status: aws.String("ACTIVE")},
	}
	p, err := Build(context.Background(), secretsConfig("web"), api, fakeSecrets{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Services[0].DeploymentIDs; !slices.Equal(got, []string{"ecs-svc/2", "ecs-svc/1"}) {
		t.Errorf("deployment ids %v, want [ecs-svc/2 ecs-svc/1]", got)
	}
}

// Issue 7 point 2: a secret that no listed service uses stops the run.
func TestListedServicesIgnoringTheSecretStopTheRun(t *testing.T) {
	api := &fakeECS{}
	api.addService("db-proxy", ecstypes.LaunchTypeEc2, container("proxy", "registry.example.com/proxy:1", ""))
	api.addService("cache", ecstypes.LaunchTypeEc2, container("cache", "redis:7", "prod/other"))
	_, err := Build(context.Background(), secretsConfig("db-proxy", "cache"), api, fakeSecrets{}, nil)
	mustContain(t, err, "prod/registry", "cluster prod", "listed services", "db-proxy (task definition db-proxy:1)", "cache (task definition cache:1)", "repositoryCredentials", "nothing was written")
	if !errors.Is(err, ErrNoConsumers) {
		t.Errorf("error does not wrap ErrNoConsumers: %v", err)
	}
}

// A listed service that ignores the secret beside one that uses it is kept,
// with a warning (the cmd tests read its wording).
func TestListedServiceIgnoringTheSecretIsWarned(t *testing.T) {
	api := &fakeECS{}
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "registry.example.com/web:1", "prod/registry"))
	api.addService("proxy", ecstypes.LaunchTypeEc2, container("proxy", "nginx", ""))
	p, err := Build(context.Background(), secretsConfig("web", "proxy"), api, fakeSecrets{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p.Services); !slices.Equal(got, []string{"web", "proxy"}) {
		t.Errorf("planned %v, want [web proxy]", got)
	}
	if len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], "service proxy does not name secret prod/registry") {
		t.Errorf("warnings %q", p.Warnings)
	}
	if got := p.Images(); !slices.Equal(got, []string{"registry.example.com/web:1"}) {
		t.Errorf("Images() = %v", got)
	}
}

// Issue 7 point 2: a secret that no service of the cluster uses stops the run,
// saying how many services were looked at.
func TestDiscoveredNoConsumerStopsTheRun(t *testing.T) {
	api := &fakeECS{}
	for i := range 3 {
		api.addService(fmt.Sprintf("svc%d", i), ecstypes.LaunchTypeEc2, container("app", "registry.example.com/app:1", "prod/other"))
	}
	_, err := Build(context.Background(), secretsConfig(), api, fakeSecrets{}, nil)
	mustContain(t, err, "cluster prod", "secret prod/registry", "3 services were examined", "nothing was written")

	_, err = Build(context.Background(), secretsConfig(), &fakeECS{}, fakeSecrets{}, nil)
	mustContain(t, err, "cluster prod", "secret prod/registry", "has no services")
}

// ecs-config mode: a mixed Amazon Linux fleet, more instances than one
// DescribeContainerInstances call and one SSM page take; services found by
// image as the agent matches it.
func TestECSConfigPlan(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	releases := []struct{ name, version, os, init string }{
		{"Amazon Linux AMI", "2018.03", "Amazon Linux 1", InitUpstart},
		{"Amazon Linux", "2", "Amazon Linux 2", InitSystemd},
		{"Amazon Linux", "2023", "Amazon Linux 2023", InitSystemd},
	}
	const n = 130
	for i := range n {
		id := fmt.Sprintf("i-%017x", i)
		api.addInstance(instance{id: id})
		r := releases[i%3]
		sm.manage(id, r.name, r.version, ssmtypes.PingStatusOnline)
	}
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "nginx:1.27", ""), container("sidecar", "ghcr.io/org/sidecar:1", ""))
	api.addService("worker", ecstypes.LaunchTypeEc2, container("worker", "docker.io/library/redis:7", "prod/registry")) // pulls with Secrets Manager
	api.addService("api", ecstypes.LaunchTypeEc2, container("api", "index.docker.io/team/api:2", ""))
	api.addService("edge", ecstypes.LaunchTypeFargate, container("edge", "nginx:1.27", ""))
	api.addService("private", "", container("private", "registry.example.com/app:1", ""))

	p, err := Build(context.Background(), ecsConfig("docker.io"), api, fakeSecrets{}, sm)
	if err != nil {
		t.Fatal(err)
	}
	if p.RegistryKey != registryauth.DockerHubKey {
		t.Errorf("RegistryKey = %q", p.RegistryKey)
	}
	if got := names(p.Services); !slices.Equal(got, []string{"web", "api"}) {
		t.Errorf("planned %v, want [web api]", got)
	}
	if got := p.Images(); !slices.Equal(got, []string{"nginx:1.27", "index.docker.io/team/api:2"}) {
		t.Errorf("Images() = %v", got)
	}
	if len(p.Instances) != n {
		t.Fatalf("%d instances, want %d", len(p.Instances), n)
	}
	for i, in := range p.Instances {
		r := releases[i%3]
		if in.OS != r.os || in.Init != r.init || !in.SSMManaged || !in.AgentConnected || in.AgentVersion != "1.99.0" || in.OSType != "linux" {
			t.Errorf("instance %d = %+v, want %s/%s", i, in, r.os, r.init)
		}
	}
	warned := strings.Join(p.Warnings, "\n")
	for _, w := range []string{"registry docker.io is written to ECS_ENGINE_AUTH_DATA as https://index.docker.io/v1/", "service edge runs on Fargate"} {
		if !strings.Contains(warned, w) {
			t.Errorf("no warning %q in %q", w, p.Warnings)
		}
	}
	if got := api.calls["DescribeContainerInstances"]; got != 2 {
		t.Errorf("%d DescribeContainerInstances calls for %d instances, want 2", got, n)
	}
	if sm.calls != 3 {
		t.Errorf("%d DescribeInstanceInformation calls for %d instances, want 3 (50 ids each)", sm.calls, n)
	}
}

// ecs-config mode refuses, in one error, every instance it cannot rewrite,
// each with what to do instead; a fit instance is not named.
func TestECSConfigRefusesInstances(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	api.addInstance(instance{id: "i-good"})
	sm.manage("i-good", "Amazon Linux", "2023", ssmtypes.PingStatusOnline)
	api.addInstance(instance{id: "i-unmanaged"})
	api.addInstance(instance{id: "i-lost"})
	sm.manage("i-lost", "Amazon Linux", "2", ssmtypes.PingStatusConnectionLost)
	api.addInstance(instance{id: "i-windows", osType: "windows", osFamily: "WINDOWS_SERVER_2022_CORE"})
	sm.manage("i-windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348", ssmtypes.PingStatusOnline)
	api.addInstance(instance{id: "i-bottlerocket", bottlerocket: "aws-ecs-2"})
	sm.manage("i-bottlerocket", "Amazon Linux", "2", ssmtypes.PingStatusOnline) // its control container reports itself
	api.addInstance(instance{id: "i-disconnected", disconnected: true})
	sm.manage("i-disconnected", "Amazon Linux", "2", ssmtypes.PingStatusOnline)
	api.addInstance(instance{id: "i-ubuntu"})
	sm.manage("i-ubuntu", "Ubuntu", "22.04", ssmtypes.PingStatusOnline)
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "nginx", ""))

	_, err := Build(context.Background(), ecsConfig(registryauth.DockerHubKey), api, fakeSecrets{}, sm)
	mustContain(t, err, "6 of the 7 container instances of cluster prod", "nothing was changed",
		"i-unmanaged (container instance ciunmanaged): Systems Manager does not manage it",
		"i-lost (container instance cilost): its SSM agent is ConnectionLost",
		"i-windows (container instance ciwindows): it runs Windows", "Restart-Service AmazonECS",
		"i-bottlerocket (container instance cibottlerocket): it runs Bottlerocket", "apiclient set settings.container-registry.credentials",
		"i-disconnected (container instance cidisconnected): its ECS agent is disconnected",
		"i-ubuntu (container instance ciubuntu): SSM reports Ubuntu 22.04, not Amazon Linux 1, 2 or 2023")
	if err != nil && strings.Contains(err.Error(), "i-good") {
		t.Errorf("the fit instance is named: %v", err)
	}
}

func TestECSConfigEmptyCluster(t *testing.T) {
	api := &fakeECS{}
	api.addService("web", ecstypes.LaunchTypeFargate, container("web", "nginx", ""))
	_, err := Build(context.Background(), ecsConfig(registryauth.DockerHubKey), api, fakeSecrets{}, &fakeSSM{})
	mustContain(t, err, "cluster prod has no ACTIVE container instance", "Fargate", "nothing was changed")
}

func TestECSConfigNoConsumer(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	api.addInstance(instance{id: "i-1"})
	sm.manage("i-1", "Amazon Linux", "2", ssmtypes.PingStatusOnline)
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "nginx", ""))
	api.addService("api", ecstypes.LaunchTypeEc2, container("api", "registry.example.com:5000/api:1", "prod/registry"))

	// "docker.io" is never looked up by the agent; the plan uses the real key.
	_, err := Build(context.Background(), ecsConfig("https://Registry.Example.com:5000/team"), api, fakeSecrets{}, sm)
	mustContain(t, err, "no service of cluster prod pulls images of registry key registry.example.com:5000", "2 services were examined", "nothing was changed")

	_, err = Build(context.Background(), ecsConfig("registry.example.com:5000", "api"), api, fakeSecrets{}, sm)
	mustContain(t, err, "cluster prod", "listed services api (task definition api:1)", "registry key registry.example.com:5000", "nothing was changed")
}

// Both problems are reported at once, so one fix-and-retry suffices.
func TestECSConfigReportsInstancesAndServicesTogether(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	api.addInstance(instance{id: "i-unmanaged"})
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "ghcr.io/org/web", ""))
	_, err := Build(context.Background(), ecsConfig(registryauth.DockerHubKey), api, fakeSecrets{}, sm)
	mustContain(t, err, "i-unmanaged", "no service of cluster prod pulls images of registry key https://index.docker.io/v1/")
}

func TestECSConfigRefusesECR(t *testing.T) {
	_, err := Build(context.Background(), ecsConfig("123456789012.dkr.ecr.us-east-1.amazonaws.com"), &fakeECS{}, fakeSecrets{}, &fakeSSM{})
	mustContain(t, err, "Amazon ECR", "never with ECS_ENGINE_AUTH_DATA")
}

func TestECSConfigRefusesUnwritableCredentials(t *testing.T) {
	cfg := ecsConfig(registryauth.DockerHubKey)
	cfg.Username, cfg.Password = "robot:ci", "a-long-password"
	_, err := Build(context.Background(), cfg, &fakeECS{}, fakeSecrets{}, &fakeSSM{})
	mustContain(t, err, "dockercfg", "\":\"", "ecs-config-auth-type docker")
	if err != nil && strings.Contains(err.Error(), cfg.Password) {
		t.Errorf("the error quotes the password: %v", err)
	}
}

func TestAmazonLinux(t *testing.T) {
	for _, tc := range []struct{ name, version, os, init string }{
		{"Amazon Linux AMI", "2018.03", "Amazon Linux 1", InitUpstart},
		{"Amazon Linux", "2017.09", "Amazon Linux 1", InitUpstart},
		{"Amazon Linux", "2", "Amazon Linux 2", InitSystemd},
		{"Amazon Linux", "2023", "Amazon Linux 2023", InitSystemd},
		{"Amazon Linux", "2023.6.20250107", "Amazon Linux 2023", InitSystemd},
		{"Ubuntu", "22.04", "", ""},
		{"Amazon Linux", "", "", ""},
		{"", "", "", ""},
	} {
		os, init := amazonLinux(tc.name, tc.version)
		if os != tc.os || init != tc.init {
			t.Errorf("amazonLinux(%q, %q) = %q, %q; want %q, %q", tc.name, tc.version, os, init, tc.os, tc.init)
		}
	}
}

// A registry with a path is the key the agent prefers for the images it
// prefixes, as a string: ghcr.io/org affects ghcr.io/org/… and
// ghcr.io/orgx/…, not ghcr.io/other/…; JudgeKeys holds an instance's keys
// after the rewrite against those images and names the services at fault.
func TestECSConfigPathKey(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	api.addInstance(instance{id: "i-a"})
	sm.manage("i-a", "Amazon Linux", "2023", ssmtypes.PingStatusOnline)
	api.addService("app", ecstypes.LaunchTypeEc2, container("app", "ghcr.io/org/app:1", ""), container("proxy", "nginx:1.27", ""))
	api.addService("orgx", ecstypes.LaunchTypeEc2, container("api", "ghcr.io/orgx/api:2", ""))
	api.addService("other", ecstypes.LaunchTypeEc2, container("web", "ghcr.io/other/web:1", ""))
	api.addService("asm", ecstypes.LaunchTypeEc2, container("job", "ghcr.io/org/job:1", "prod/registry"))

	for _, registry := range []string{"ghcr.io/org", "https://ghcr.io/Org/"} {
		p, err := Build(context.Background(), ecsConfig(registry), api, fakeSecrets{}, sm)
		if err != nil {
			t.Fatal(err)
		}
		if p.RegistryKey != "ghcr.io/org" {
			t.Errorf("%s: RegistryKey = %q, want ghcr.io/org", registry, p.RegistryKey)
		}
		if got := names(p.Services); !slices.Equal(got, []string{"app", "orgx"}) {
			t.Errorf("%s: planned %v, want [app orgx]", registry, got)
		}
		if got := p.Services[0].AffectedImages(); !slices.Equal(got, []string{"ghcr.io/org/app:1"}) {
			t.Errorf("app's AffectedImages = %v", got)
		}
		warned := strings.Contains(strings.Join(p.Warnings, "\n"), "is written to ECS_ENGINE_AUTH_DATA as ghcr.io/org")
		if warned != (registry != "ghcr.io/org") {
			t.Errorf("%s: warned that the key changed: %v (%q)", registry, warned, p.Warnings)
		}

		if err := p.JudgeKeys([]string{"ghcr.io", "ghcr.io/org", "quay.io"}); err != nil {
			t.Errorf("JudgeKeys with the host key beside the rotated one: %v", err)
		}
		err = p.JudgeKeys([]string{"ghcr.io", "ghcr.io/org", "ghcr.io/org/app"})
		mustContain(t, err, "key ghcr.io/org/app captures image ghcr.io/org/app:1; the rotated key ghcr.io/org is not the one the agent will use",
			"services that pull these images: app)")
		var je *registryauth.JudgeError
		if !errors.As(err, &je) || !slices.Equal(je.Captured["ghcr.io/org/app"], []string{"ghcr.io/org/app:1"}) {
			t.Errorf("JudgeKeys does not wrap the JudgeError: %#v", err)
		}
		mustContain(t, p.JudgeKeys(nil), "no key matches images ghcr.io/org/app:1, ghcr.io/orgx/api:2", "services that pull these images: app, orgx)")
	}
}

// A fleet that cannot be rewritten is refused in an error that stays
// readable: the first instances with what to do, then ids, then a count.
func TestECSConfigRefusesAFleetBriefly(t *testing.T) {
	api, sm := &fakeECS{}, &fakeSSM{}
	for i := range 100 {
		api.addInstance(instance{id: fmt.Sprintf("i-%017x", i)}) // none managed by Systems Manager
	}
	api.addService("web", ecstypes.LaunchTypeEc2, container("web", "nginx", ""))
	_, err := Build(context.Background(), ecsConfig(registryauth.DockerHubKey), api, fakeSecrets{}, sm)
	mustContain(t, err, "100 of the 100 container instances of cluster prod", "(8) i-00000000000000007 (container instance",
		"and 92 more: i-00000000000000008, ", "i-0000000000000002f and 52 others")
	if err != nil && (strings.Contains(err.Error(), "(9)") || len(err.Error()) > 4096) {
		t.Errorf("%d characters, or more than 8 instances in detail:\n%v", len(err.Error()), err)
	}
}
