package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

const (
	user        = "deploy"
	oldPassword = "old-Pa55word"
	newPassword = "n3w-S3cret-t0ken"
)

func TestMain(m *testing.M) {
	// The in-process runs poll the fake every 100 ms; the real binary, which
	// the binary tests run, keeps the 1 s floor.
	inputs.MinPollInterval = 10 * time.Millisecond
	testenv.Main(m)
}

// world is a cluster "prod" in the fake: services web (2 tasks) and worker
// (1 task) pull from the fake registry with secret prod/registry; proxy pulls
// a public image without it. The registry now wants newPassword, the secret
// still holds oldPassword.
type world struct {
	fake      *awsfake.Server
	secretARN string
	webImage  string
	webTD     string // task definition of web: a container that pulls with the secret
	// clientOptions, when set, adjusts the AWS options of every run.
	clientOptions func(*awsclient.Options)
}

func newWorld(t testing.TB, services ...awsfake.Service) *world {
	t.Helper()
	return newWorldTick(t, 20*time.Millisecond, services...)
}

// newWorldTick is newWorld whose tasks take tick for each step of their life.
func newWorldTick(t testing.TB, tick time.Duration, services ...awsfake.Service) *world {
	t.Helper()
	return newWorldOpts(t, awsfake.Options{Tick: tick}, services...)
}

// newWorldOpts is newWorld on a fake started with opts.
func newWorldOpts(t testing.TB, opts awsfake.Options, services ...awsfake.Service) *world {
	t.Helper()
	fake, err := awsfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w := &world{fake: fake}
	fake.CreateCluster("prod")
	w.secretARN = fake.CreateSecret("prod/registry", `{"username":"deploy","password":"`+oldPassword+`","team":"platform"}`)
	w.webImage = fake.PushImage("shop/web:1.4.2")
	web := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "web", Containers: []awsfake.Container{
		{Name: "web", Image: w.webImage, CredentialsParameter: w.secretARN},
		{Name: "sidecar", Image: "public.ecr.aws/nginx/nginx:1.27"},
	}})
	worker := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "worker", Containers: []awsfake.Container{
		{Name: "worker", Image: fake.PushImage("shop/worker:2.0.1"), CredentialsParameter: "prod/registry"},
	}})
	proxy := fake.RegisterTaskDefinition(awsfake.TaskDefinition{Family: "proxy", Containers: []awsfake.Container{
		{Name: "nginx", Image: "nginx:1.27"},
	}})
	w.webTD = web
	fake.SetRegistryCredentials(fake.RegistryHost(), user, oldPassword)
	if len(services) == 0 {
		services = []awsfake.Service{
			{Name: "web", TaskDefinition: web, DesiredCount: 2},
			{Name: "worker", TaskDefinition: worker, DesiredCount: 1},
			{Name: "proxy", TaskDefinition: proxy, DesiredCount: 1},
		}
	}
	for _, s := range services {
		s.Cluster = "prod"
		if s.TaskDefinition == "" {
			s.TaskDefinition = web
		}
		fake.CreateService(s)
	}
	fake.SetRegistryCredentials(fake.RegistryHost(), user, newPassword)
	return w
}

// result is what a run left behind that a user can see.
type result struct {
	code    int
	stdout  string
	outputs map[string]string
	summary string
	took    time.Duration
}

// defaultInputs are the inputs of a rotation onto newPassword.
func (w *world) defaultInputs() map[string]string {
	return map[string]string{
		"cluster": "prod", "secret-id": "prod/registry", "username": user, "password": newPassword,
		"registry": w.fake.RegistryHost(), "poll-interval": "100ms", "timeout": testenv.ScaleString(20 * time.Second),
	}
}

// run runs the program in-process as GitHub Actions would: inputs from
// INPUT_*, outputs and summary to files.
func (w *world) run(t *testing.T, inputs map[string]string) result {
	t.Helper()
	return w.runContext(context.Background(), t, inputs)
}

func (w *world) runContext(ctx context.Context, t *testing.T, inputs map[string]string) result {
	t.Helper()
	return w.runWith(ctx, t, inputs, nil)
}

// runEnv runs with extra environment variables, as the runner would set them.
func (w *world) runEnv(t *testing.T, inputs, extraEnv map[string]string) result {
	t.Helper()
	return w.runWith(context.Background(), t, inputs, extraEnv)
}

func (w *world) runWith(ctx context.Context, t *testing.T, inputs, extraEnv map[string]string) result {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	opts := awsclient.Options{Extra: w.fake.LoadOptions(), MaxBackoff: 20 * time.Millisecond}
	if w.clientOptions != nil {
		w.clientOptions(&opts)
	}
	code := run(ctx, nil, func(k string) string { return env[k] }, streams{out: &stdout, err: &stderr}, opts)
	r := result{code: code, stdout: stdout.String(), took: time.Since(start)}
	if stderr.Len() > 0 {
		t.Errorf("under Actions nothing goes to stderr, got:\n%s", stderr.String())
	}
	r.outputs = parseOutputs(t, readFile(env["GITHUB_OUTPUT"]))
	r.summary = readFile(env["GITHUB_STEP_SUMMARY"])
	assertNoPassword(t, r, inputs["password"])
	if t.Failed() || testing.Verbose() {
		t.Logf("stdout:\n%s", r.stdout)
	}
	return r
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// parseOutputs reads GITHUB_OUTPUT's name<<delimiter blocks.
func parseOutputs(t testing.TB, text string) map[string]string {
	t.Helper()
	outputs := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		outputs[name] = strings.Join(value, "\n")
	}
	return outputs
}

// assertNoPassword fails when the password shows anywhere the program wrote,
// except in the one line that asks the runner to mask it.
func assertNoPassword(t *testing.T, r result, password string) {
	t.Helper()
	if password == "" {
		return
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, password) && line != "::add-mask::"+password {
			t.Errorf("password printed in: %q", line)
		}
	}
	for name, v := range r.outputs {
		if strings.Contains(v, password) {
			t.Errorf("password in output %s", name)
		}
	}
	if strings.Contains(r.summary, password) {
		t.Errorf("password in the job summary")
	}
}

// mutations are the names of the changing calls AWS received, but for the
// run's locks (creating and deleting them changes nothing that is rotated).
func (w *world) mutations() []string {
	var ops []string
	for _, c := range w.fake.MutatingCalls() {
		if !strings.Contains(string(c.Input), lock.Prefix) {
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

// awsfakeService is a service of one task running web's task definition.
func awsfakeService(name, controller string, w *world) awsfake.Service {
	return awsfake.Service{Cluster: "prod", Name: name, TaskDefinition: w.webTD, DesiredCount: 1, DeploymentController: controller}
}
