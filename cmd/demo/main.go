// Command demo runs the real ecs-registry-rotate binary against the local
// fake of AWS (internal/awsfake), no AWS account or Docker engine needed:
//
//  1. a rotation that succeeds;
//  2. one that the registry check stops before anything is written;
//  3. one whose new tasks cannot pull, rolled back (rollback-on-failure):
//     it runs as under GitHub Actions, and its job summary is written to a
//     file (-summary);
//  4. the same without rollback: the job fails within seconds;
//  5. one in ecs-config mode that rewrites /etc/ecs/ecs.config on Amazon
//     Linux 1, 2 and 2023 container instances through SSM Run Command (the
//     fake runs the real instance script with bash);
//  6. one in ecs-config mode that the preflight stops before any instance
//     is changed: a new instance's role may not read the run's parameter.
//
// After each run it says what the outputs hold, each task error once with
// its count; -outputs prints them whole, as JSON. Everything it creates
// but the summary is removed at the end.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
)

const user = "deploy"

// options are the demo's flags.
type options struct {
	root    string    // the repository, where the binary is built from
	outputs bool      // print each run's outputs as JSON
	summary string    // where the job summary of run 3 goes
	out     io.Writer // everything the demo and the binary print
}

func main() {
	o := options{root: ".", out: os.Stdout}
	flag.BoolVar(&o.outputs, "outputs", false, "print each run's outputs, as one JSON object (the CLI's --output-file)")
	flag.StringVar(&o.summary, "summary", filepath.Join(os.TempDir(), "ecs-registry-rotate-demo-summary.md"),
		"write the job summary of the rolled-back run (3) to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := demo(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// demoRun is one demo's state: its temporary directory (the binary and
// the outputs), removed at the end, and the number of the next run.
type demoRun struct {
	options
	ctx context.Context
	dir string
	bin string
	n   int
}

func demo(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "ecs-registry-rotate-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d := &demoRun{options: o, ctx: ctx, dir: dir}
	if d.bin, err = d.build(); err != nil {
		return err
	}
	if err := d.secretsManager(); err != nil {
		return err
	}
	return d.ecsConfig()
}

// secretsManager rotates cluster prod, whose services pull with secret
// prod/registry: runs 1 to 4.
func (d *demoRun) secretsManager() error {
	fake, err := awsfake.Start(awsfake.Options{Tick: 400 * time.Millisecond})
	if err != nil {
		return err
	}
	defer fake.Close()
	seed(fake)
	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-11")
	flags := func(extra ...string) []string {
		return append([]string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user,
			"--registry", fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "2m"}, extra...)
	}

	d.step("1. The registry token was rotated to token-2026-11: rotate ECS onto it")
	d.run(fake, "token-2026-11", nil, flags()...)

	d.step("2. The next rotation has a typo (token-2026-1Z): the registry check refuses it, nothing is written")
	d.run(fake, "token-2026-1Z", nil, flags()...)

	d.step("3. The same typo with verify-credentials: false and rollback-on-failure: true, as a GitHub Actions step: " +
		"the new tasks cannot pull, so the secret goes back to its previous version and the services roll out on it again")
	if err := d.actionsRun(fake, "token-2026-1Z", flags("--verify-credentials=false", "--rollback-on-failure")...); err != nil {
		return err
	}

	d.step("4. The same typo with verify-credentials: false and no rollback: the new tasks cannot pull, the job fails within seconds")
	d.run(fake, "token-2026-1Z", nil, flags("--verify-credentials=false")...)
	return d.ctx.Err()
}

// ecsConfig rotates cluster edge, whose agents read the registry
// credentials from /etc/ecs/ecs.config, in a fake of its own whose agents
// take 0.6 s to reconnect after a restart: runs 5 and 6.
func (d *demoRun) ecsConfig() error {
	fake, err := awsfake.Start(awsfake.Options{Tick: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	defer fake.Close()
	instances := seedInstances(fake)
	flags := []string{"--auth-mode", "ecs-config", "--cluster", "edge", "--username", user,
		"--registry", fake.RegistryHost(), "--poll-interval", "1s", "--timeout", "2m"}

	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-11")
	d.step("5. auth-mode: ecs-config: AL1, AL2 and AL2023 instances hold token-2026-10 in /etc/ecs/ecs.config; " +
		"rewrite it through SSM, restart the agents a quarter at a time, roll the services")
	d.run(fake, "token-2026-11", nil, flags...)
	if err := d.ctx.Err(); err != nil {
		return err
	}

	newcomer := fake.AddContainerInstance(awsfake.Instance{Cluster: "edge", OS: awsfake.AL2023, DenyParameterRead: true,
		ECSConfig: ecsConfig(fake.RegistryHost(), "token-2026-11")})
	instances = append(instances, demoInstance{newcomer, awsfake.AL2023})
	fake.SetRegistryCredentials(fake.RegistryHost(), user, "token-2026-12")
	d.step(fmt.Sprintf("6. ecs-config again, to token-2026-12, after instance %s joined with a role that may not read SSM parameters: "+
		"the read-only preflight finds it, and no instance is changed", newcomer.InstanceID))
	d.run(fake, "token-2026-12", nil, flags...)

	d.say("\n>>> the instances now, as the fake sees them:")
	for _, in := range instances {
		agent, _ := fake.Agent(in.InstanceID)
		d.say(">>> %s  %-6s  ecs.config: %s", in.InstanceID, in.os, configHolds(in.ConfigPath))
		d.say(">>> %s  %-6s  agent: restarted %d time(s), connected %v, pulls from the registry as %s",
			in.InstanceID, in.os, agent.Restarts, agent.Connected, agent.Auth[fake.RegistryHost()])
	}
	d.say(">>> SSM parameters left: %d; an SSM request other than PutParameter carried a password: %v",
		len(fake.ParameterNames()), ssmCarried(fake, "token-2026-11", "token-2026-12"))
	return d.ctx.Err()
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
// writes the SecureString) carried one of the passwords, plain or in the
// auth data.
func ssmCarried(fake *awsfake.Server, passwords ...string) bool {
	var forms []string
	for _, p := range passwords {
		forms = append(forms, p, base64.StdEncoding.EncodeToString([]byte(user+":"+p)))
	}
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

// actionsRun runs the binary as a GitHub Actions step: inputs as flags,
// the log in workflow commands on stdout, the outputs to GITHUB_OUTPUT and
// the job summary to the -summary file, which it then names.
func (d *demoRun) actionsRun(fake *awsfake.Server, password string, args ...string) error {
	if err := os.WriteFile(d.summary, nil, 0o644); err != nil {
		return fmt.Errorf("the job summary cannot be written to %s: %w", d.summary, err)
	}
	d.run(fake, password, []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT=" + filepath.Join(d.dir, "github-output"),
		"GITHUB_STEP_SUMMARY=" + d.summary,
	}, args...)
	if fi, err := os.Stat(d.summary); err == nil && fi.Size() > 0 {
		d.say(">>> its job summary, as GitHub shows it on the run's page, is in %s (Markdown, %d bytes)", d.summary, fi.Size())
	}
	return nil
}

// run runs the binary against the fake with these flags and the password,
// then says how it ended and what its outputs hold.
func (d *demoRun) run(fake *awsfake.Server, password string, env []string, args ...string) {
	if d.ctx.Err() != nil {
		return
	}
	d.n++
	outputs := filepath.Join(d.dir, fmt.Sprintf("outputs-%d.json", d.n))
	cmd := exec.CommandContext(d.ctx, d.bin, append(args, "--output-file", outputs)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	// The password travels in ECS_REGISTRY_ROTATE_PASSWORD, as a CLI user
	// would give it, never in the process list.
	cmd.Env = append(append(append(ownEnv(), fake.Env()...), "ECS_REGISTRY_ROTATE_PASSWORD="+password), env...)
	log := &lineWriter{out: d.out}
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	err := cmd.Run()
	log.Flush()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	d.say("\n>>> exit status %d after %s", code, time.Since(start).Round(100*time.Millisecond))
	if err != nil && cmd.ProcessState == nil {
		d.say(">>> could not run: %v", err)
		return
	}
	d.describeOutputs(outputs)
}

// ownEnv is this process's environment without what would change how the
// binary runs or where it writes: a demo started inside an Actions job must
// not write that job's outputs and summary, nor take its inputs.
func ownEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, p := range []string{"GITHUB_", "INPUT_", "ECS_REGISTRY_ROTATE_", "ACTIONS_"} {
			if strings.HasPrefix(kv, p) {
				return true
			}
		}
		return false
	})
}

// outputsOf is what describeOutputs reads of a run's outputs.
type outputsOf struct {
	Result          string `json:"result"`
	SecretVersionID string `json:"secret-version-id"`
	Services        []struct {
		Service      string `json:"service"`
		RolloutState string `json:"rolloutState"`
	} `json:"services"`
	FailedTasks []struct {
		Service       string `json:"service"`
		StoppedReason string `json:"stoppedReason"`
		Containers    []struct {
			Reason string `json:"reason"`
		} `json:"containers"`
	} `json:"failed-tasks"`
	Instances []struct {
		Status string `json:"status"`
	} `json:"instances"`
}

// describeOutputs says what a run's outputs hold, each task error once
// with the number of tasks that stopped with it; with -outputs it prints
// them whole.
func (d *demoRun) describeOutputs(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		d.say(">>> no outputs: %v", err)
		return
	}
	if d.outputs {
		d.say(">>> outputs:\n%s", strings.TrimSpace(string(b)))
	}
	var o outputsOf
	if err := json.Unmarshal(b, &o); err != nil {
		d.say(">>> the outputs do not parse: %v", err)
		return
	}
	line := ">>> outputs: result=" + o.Result
	if len(o.Services) > 0 {
		var states []string
		for _, s := range o.Services {
			states = append(states, s.Service+" "+orDash(s.RolloutState))
		}
		line += "; services: " + strings.Join(states, ", ")
	}
	if len(o.Instances) > 0 {
		statuses := map[string]int{}
		for _, in := range o.Instances {
			statuses[in.Status]++
		}
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(statuses)) {
			parts = append(parts, fmt.Sprintf("%d %s", statuses[s], s))
		}
		line += "; instances: " + strings.Join(parts, ", ")
	}
	if !d.outputs {
		line += " (-outputs prints them all)"
	}
	d.say("%s", line)
	for _, g := range groupReasons(o) {
		d.say(">>> %d task%s stopped with: %s", g.count, plural(g.count), g.reason)
	}
}

type reasonCount struct {
	reason string
	count  int
}

// groupReasons is each task error once, with how many tasks it stopped,
// in the order first seen: ten tasks that could not pull are one problem.
func groupReasons(o outputsOf) []reasonCount {
	var groups []reasonCount
	for _, t := range o.FailedTasks {
		reason := t.StoppedReason
		for _, c := range t.Containers {
			if c.Reason != "" {
				reason = c.Reason
				break
			}
		}
		if i := slices.IndexFunc(groups, func(g reasonCount) bool { return g.reason == reason }); i >= 0 {
			groups[i].count++
			continue
		}
		groups = append(groups, reasonCount{reason, 1})
	}
	return groups
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// lineWriter passes the binary's output through line by line, and shows
// the one line under Actions that carries the password, ::add-mask::, as
// the runner shows it: masked.
type lineWriter struct {
	out     io.Writer
	pending []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := slices.Index(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.pending[:i]))
		w.pending = w.pending[i+1:]
	}
}

// Flush writes an unfinished last line.
func (w *lineWriter) Flush() {
	if len(w.pending) > 0 {
		w.line(string(w.pending))
		w.pending = nil
	}
}

func (w *lineWriter) line(l string) {
	if strings.HasPrefix(l, "::add-mask::") {
		l = "::add-mask::***"
	}
	fmt.Fprintln(w.out, l)
}

// build compiles the binary into the demo's directory.
func (d *demoRun) build() (string, error) {
	bin := filepath.Join(d.dir, "ecs-registry-rotate")
	cmd := exec.CommandContext(d.ctx, "go", "build", "-o", bin, "./cmd/ecs-registry-rotate")
	cmd.Dir = d.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(d.ctx.Err(), context.Canceled) {
			return "", d.ctx.Err()
		}
		return "", fmt.Errorf("build the binary (run the demo from the repository root): %w\n%s", err, out)
	}
	return bin, nil
}

func (d *demoRun) step(title string) {
	if d.ctx.Err() == nil {
		d.say("\n==================== %s\n", title)
	}
}

func (d *demoRun) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}
