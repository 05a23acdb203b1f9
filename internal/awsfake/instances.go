package awsfake

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ECS container instances: EC2 machines registered in a cluster, each with
// an ECS agent (see agent.go), an SSM agent (ssm_*.go) and a directory of
// its own that stands for its root filesystem's /etc/ecs.

// OS names what a container instance runs.
type OS string

const (
	AL1          OS = "AL1"          // Amazon Linux AMI 2018.03: upstart, `stop ecs; start ecs`
	AL2          OS = "AL2"          // Amazon Linux 2: systemd
	AL2023       OS = "AL2023"       // Amazon Linux 2023: systemd
	Windows      OS = "WINDOWS"      // Windows Server 2022 Core
	Bottlerocket OS = "BOTTLEROCKET" // no ecs.config, no restart tool; the SSM agent runs in the control container
)

// Instance is what AddContainerInstance registers. Zero values pick what
// a fresh ECS-optimized instance has.
type Instance struct {
	Cluster    string // created if needed
	InstanceID string // EC2 instance id; default a random "i-" + 17 hex digits
	OS         OS     // default AL2023

	AgentVersion string // ECS agent; default "1.51.0" on AL1, "1.89.2" elsewhere
	// OSFamily overrides the ecs.os-family attribute (default LINUX, or
	// WINDOWS_SERVER_2022_CORE for Windows).
	OSFamily string

	// SSM: by default the instance is managed and Online.
	Unmanaged       bool   // SSM does not know it: DescribeInstanceInformation omits it
	PingStatus      string // "Online" (default), "ConnectionLost", "Inactive"
	PlatformName    string // default from OS, as the SSM agent reads /etc/os-release NAME
	PlatformVersion string // default from OS (VERSION_ID)

	// The instance profile's role, as IMDS names it; default "ecsInstanceRole".
	RoleName string
	// NoInstanceProfile: IMDS has no role credentials for it.
	NoInstanceProfile bool
	// DenyParameterRead: the role may not ssm:GetParameter (e.g. a Default
	// Host Management role without AmazonSSMManagedInstanceCore).
	DenyParameterRead bool

	// Dir is the instance's /etc/ecs: ecs.config lives there. Default: a
	// new directory the fake creates (and removes on Close).
	Dir string
	// ECSConfig is written to Dir/ecs.config when the fake creates Dir,
	// unless NoECSConfig. With a caller's Dir the caller writes the file.
	ECSConfig   string
	NoECSConfig bool

	// NoRestartTool leaves systemctl (or start/stop on AL1) off the PATH.
	NoRestartTool bool
	// RestartFails makes the restart command exit 1 without restarting.
	RestartFails bool
	// NeverReconnects: once its agent restarts it stays disconnected.
	NeverReconnects bool
	// Disconnected registers it with its agent not connected.
	Disconnected bool
}

// ContainerInstanceRef names a registered instance.
type ContainerInstanceRef struct {
	Arn        string // container instance ARN
	InstanceID string // EC2 instance id
	Dir        string // its /etc/ecs
	ConfigPath string // Dir/ecs.config
}

type containerInstance struct {
	cluster      *cluster
	arn, ec2ID   string
	os           OS
	osFamily     string
	agentVersion string
	registeredAt time.Time
	version      int64
	status       string // ACTIVE

	// SSM side
	managed         bool
	ping            string
	platformName    string
	platformVersion string
	role            string
	noProfile       bool
	denyParamRead   bool

	// files
	dir, sysDir   string // sysDir: the fake's own per-instance state, outside dir
	noRestartTool bool
	restartFails  bool
	logOffset     int64 // how much of the restart log has been applied

	agent agentState
}

// configPath is the instance's ecs.config.
func (ci *containerInstance) configPath() string { return filepath.Join(ci.dir, "ecs.config") }

func (ci *containerInstance) ref() ContainerInstanceRef {
	return ContainerInstanceRef{Arn: ci.arn, InstanceID: ci.ec2ID, Dir: ci.dir, ConfigPath: ci.configPath()}
}

func (ci *containerInstance) isWindows() bool { return ci.os == Windows }

// AddContainerInstance registers an EC2 instance in a cluster, with its
// agent connected (unless spec.Disconnected) and having loaded whatever
// ecs.config holds now. It panics on a test bug (duplicate id, no temp dir).
func (s *Server) AddContainerInstance(spec Instance) ContainerInstanceRef {
	now := s.lock()
	defer s.unlock()
	w := s.world
	if spec.Cluster == "" {
		spec.Cluster = "default"
	}
	if spec.InstanceID == "" {
		spec.InstanceID = "i-0" + randomHex(16)
	}
	if w.instanceByEC2(spec.InstanceID) != nil {
		panic(fmt.Sprintf("awsfake: AddContainerInstance: %s is already registered", spec.InstanceID))
	}
	if spec.OS == "" {
		spec.OS = AL2023
	}
	if spec.OS == Bottlerocket {
		// No /etc/ecs/ecs.config (settings go through apiclient) and no
		// systemctl that reaches the host's ecs unit from the control
		// container where SSM commands run.
		spec.NoECSConfig = spec.NoECSConfig || spec.ECSConfig == ""
		spec.NoRestartTool = true
	}
	c := w.createCluster(spec.Cluster)
	ci := &containerInstance{
		cluster:       c,
		arn:           w.arnPrefix() + "container-instance/" + c.name + "/" + randomHex(32),
		ec2ID:         spec.InstanceID,
		os:            spec.OS,
		osFamily:      spec.OSFamily,
		agentVersion:  spec.AgentVersion,
		registeredAt:  now,
		version:       1,
		status:        "ACTIVE",
		managed:       !spec.Unmanaged,
		ping:          orDefault(spec.PingStatus, "Online"),
		role:          orDefault(spec.RoleName, "ecsInstanceRole"),
		noProfile:     spec.NoInstanceProfile,
		denyParamRead: spec.DenyParameterRead,
		noRestartTool: spec.NoRestartTool,
		restartFails:  spec.RestartFails,
	}
	name, version := defaultPlatform(spec.OS)
	ci.platformName = orDefault(spec.PlatformName, name)
	ci.platformVersion = orDefault(spec.PlatformVersion, version)
	if ci.agentVersion == "" {
		ci.agentVersion = "1.89.2"
		if spec.OS == AL1 {
			ci.agentVersion = "1.51.0"
		}
	}
	if ci.osFamily == "" {
		ci.osFamily = "LINUX"
		if spec.OS == Windows {
			ci.osFamily = "WINDOWS_SERVER_2022_CORE"
		}
	}

	root, err := s.rootDir()
	if err != nil {
		panic(err)
	}
	ci.sysDir = filepath.Join(root, "sys", ci.ec2ID)
	ci.dir = spec.Dir
	if ci.dir == "" {
		ci.dir = filepath.Join(root, "instances", ci.ec2ID, "etc", "ecs")
		if err := os.MkdirAll(ci.dir, 0o755); err != nil {
			panic(fmt.Sprintf("awsfake: AddContainerInstance: %v", err))
		}
		if !spec.NoECSConfig {
			if err := os.WriteFile(ci.configPath(), []byte(spec.ECSConfig), 0o644); err != nil {
				panic(fmt.Sprintf("awsfake: AddContainerInstance: %v", err))
			}
		}
	}
	if err := s.writeInstanceTools(ci); err != nil {
		panic(fmt.Sprintf("awsfake: AddContainerInstance: %v", err))
	}

	ci.agent = agentState{
		connected:       !spec.Disconnected,
		neverReconnects: spec.NeverReconnects,
		startedAt:       now,
		auth:            loadAgentAuth(ci.configPath()),
	}
	s.writeAgentStarted(ci, now)
	c.instances = append(c.instances, ci)
	return ci.ref()
}

// defaultPlatform is what the SSM agent reports, from /etc/os-release NAME
// and VERSION_ID (aws/amazon-ssm-agent agent/platform/platform_unix.go).
// Bottlerocket's SSM agent runs in the Amazon Linux control container.
func defaultPlatform(o OS) (name, version string) {
	switch o {
	case AL1:
		return "Amazon Linux AMI", "2018.03"
	case AL2:
		return "Amazon Linux", "2"
	case Windows:
		return "Microsoft Windows Server 2022 Datacenter", "10.0.20348"
	case Bottlerocket:
		return "Amazon Linux", "2"
	default:
		return "Amazon Linux", "2023"
	}
}

func (w *world) instanceByEC2(id string) *containerInstance {
	for _, c := range w.clusters {
		for _, ci := range c.instances {
			if ci.ec2ID == id {
				return ci
			}
		}
	}
	return nil
}

// findInstance resolves a container instance ARN or its trailing id.
func (c *cluster) findInstance(ref string) *containerInstance {
	for _, ci := range c.instances {
		if sameResource(ref, ci.arn) {
			return ci
		}
	}
	return nil
}

// InstanceDir is the instance's /etc/ecs ("" for an unknown instance).
func (s *Server) InstanceDir(instanceID string) string {
	s.lock()
	defer s.unlock()
	if ci := s.world.instanceByEC2(instanceID); ci != nil {
		return ci.dir
	}
	return ""
}

// AgentInfo is what a test can read about an instance's ECS agent.
type AgentInfo struct {
	Connected bool
	StartedAt time.Time
	Restarts  int // restarts recorded since registration
	// Auth is what the agent loaded from ecs.config when it last started:
	// registry key (as the agent normalises it) → "user:password".
	Auth map[string]string
}

// Agent describes the instance's ECS agent; ok is false for an unknown id.
func (s *Server) Agent(instanceID string) (AgentInfo, bool) {
	s.lock()
	defer s.unlock()
	ci := s.world.instanceByEC2(instanceID)
	if ci == nil {
		return AgentInfo{}, false
	}
	a := ci.agent
	out := AgentInfo{Connected: a.connected, StartedAt: a.startedAt, Restarts: a.restarts, Auth: map[string]string{}}
	for k, v := range a.auth {
		out.Auth[k] = v.username + ":" + v.password
	}
	return out, true
}

// DisconnectedAgents lists, in registration order, the EC2 instance ids of
// the cluster's (name or ARN) instances whose ECS agent is not connected
// now. It reads them all under one lock: a sample is one instant of the fleet.
func (s *Server) DisconnectedAgents(cluster string) []string {
	s.lock()
	defer s.unlock()
	c := s.world.findCluster(cluster)
	if c == nil {
		return nil
	}
	var out []string
	for _, ci := range c.instances {
		if !ci.agent.connected {
			out = append(out, ci.ec2ID)
		}
	}
	return out
}

// RestartAgent restarts the instance's agent now, as `systemctl restart
// ecs` would: it disconnects, re-reads ecs.config and reconnects a few
// ticks later (unless it never reconnects).
func (s *Server) RestartAgent(instanceID string) {
	now := s.lock()
	defer s.unlock()
	ci := s.world.instanceByEC2(instanceID)
	if ci == nil {
		panic("awsfake: RestartAgent: unknown instance " + instanceID)
	}
	s.writeAgentStarted(ci, now)
	s.world.restartAgent(ci, now, now)
}

// SetPingStatus changes what SSM says of the instance's SSM agent.
func (s *Server) SetPingStatus(instanceID, status string) {
	s.lock()
	defer s.unlock()
	if ci := s.world.instanceByEC2(instanceID); ci != nil {
		ci.ping = status
	}
}

// writeAgentStarted records the agent's start for the stub systemctl, which
// answers ActiveEnterTimestamp from it (whole seconds, as systemd shows).
func (s *Server) writeAgentStarted(ci *containerInstance, at time.Time) {
	_ = os.WriteFile(filepath.Join(ci.sysDir, "agent-started"), []byte(strconv.FormatInt(at.Unix(), 10)+"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(ci.sysDir, "agent-state"), []byte("active\n"), 0o644)
}

// placeTask puts an EC2 task on a connected instance of its cluster, round
// robin. Clusters without registered instances keep the one implicit
// instance (and its anonymous pulls). False: nowhere to place it yet.
func (w *world) placeTask(t *task) bool {
	c := t.cluster
	if t.launchType != "EC2" || len(c.instances) == 0 {
		return true
	}
	if t.instance != nil && t.instance.agent.connected && t.instance.status == "ACTIVE" {
		return true
	}
	n := len(c.instances)
	for i := range n {
		ci := c.instances[(c.nextPlacement+i)%n]
		if ci.status == "ACTIVE" && ci.agent.connected && !ci.isWindows() {
			c.nextPlacement = (c.nextPlacement + i + 1) % n
			t.instance = ci
			return true
		}
	}
	return false
}

// placeRunning spreads tasks created already running (CreateService) over
// the cluster's instances, connected or not: they were placed earlier.
func (w *world) placeRunning(t *task) {
	c := t.cluster
	if t.launchType != "EC2" || len(c.instances) == 0 || t.instance != nil {
		return
	}
	var linux []*containerInstance
	for _, ci := range c.instances {
		if !ci.isWindows() {
			linux = append(linux, ci)
		}
	}
	if len(linux) == 0 {
		return
	}
	t.instance = linux[c.nextPlacement%len(linux)]
	c.nextPlacement++
}

// containerInstanceArn is where the task runs, as DescribeTasks says.
func (t *task) containerInstanceArn() string {
	if t.instance != nil {
		return t.instance.arn
	}
	return t.cluster.instanceArn
}

// instanceCounts says how many of the cluster's tasks run or wait on ci.
func (ci *containerInstance) counts() (running, pending int32) {
	return countTasks(ci.cluster.tasks, func(t *task) bool { return t.instance == ci })
}

// awaitPlacement keeps a task PENDING while no instance of its cluster has
// a connected agent, and tries again a tick later, as the service scheduler
// keeps trying to place it.
func (w *world) awaitPlacement(t *task, at time.Time) {
	if t.lastStatus == "PROVISIONING" {
		t.lastStatus = "PENDING"
		t.version++
	}
	svc := t.svc
	closest := t.cluster.instances[0]
	msg := fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. "+
		"The closest matching (container-instance %s) encountered error \"AGENT\". "+
		"For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
		svc.name, closest.arn[strings.LastIndex(closest.arn, "/")+1:])
	if len(svc.events) == 0 || svc.events[0].message != msg {
		svc.event(at, "%s", msg)
	}
	w.schedule(at.Add(w.tick), func(at time.Time) { w.startTask(t, at) })
}
