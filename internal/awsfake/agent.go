package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// The ECS agent of a container instance. It builds its registry auth once,
// when it starts, from ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA as
// ecs-init passes them from /etc/ecs/ecs.config; a restart disconnects it
// for a few ticks, then it reconnects with what it read. Tasks already
// running keep running.

// reconnectTicks is how long a restarted agent stays away.
const reconnectTicks = 3

type agentState struct {
	connected       bool
	neverReconnects bool
	stopped         bool // stopped (upstart `stop ecs`) and not started again
	startedAt       time.Time
	restarts        int
	gen             int                     // bumps on every restart, so a stale reconnect is ignored
	auth            map[string]registryCred // registry key (schema stripped) → credentials
}

// restartAgent applies one restart that happened at startedAt, learnt of
// at now: the agent is disconnected from now on, has read ecs.config, and
// reconnects reconnectTicks later unless it never does.
func (w *world) restartAgent(ci *containerInstance, startedAt, now time.Time) {
	a := &ci.agent
	a.restarts++
	a.gen++
	a.stopped = false
	a.startedAt = startedAt
	if a.connected {
		a.connected = false
		ci.version++
	}
	loaded := loadAgentAuth(ci.configPath())
	if a.neverReconnects {
		return
	}
	gen := a.gen
	w.schedule(now.Add(reconnectTicks*w.tick), func(time.Time) {
		if a.gen != gen || a.stopped {
			return
		}
		a.auth = loaded
		a.connected = true
		ci.version++
	})
}

// stopAgent is upstart's `stop ecs` without a `start ecs` after it.
func (w *world) stopAgent(ci *containerInstance) {
	a := &ci.agent
	a.gen++
	a.stopped = true
	if a.connected {
		a.connected = false
		ci.version++
	}
}

// readECSConfig reads ecs.config as ecs-init does: the whole file trimmed,
// split at "\n", each line trimmed (so a CR goes) and split at the first
// "="; lines without "=" are skipped, there are no comments and no quote
// removal, and the last occurrence of a key wins
// (aws/amazon-ecs-agent ecs-init/docker/docker.go loadEnvVariables). A
// missing file is an empty configuration.
func readECSConfig(path string) map[string]string {
	env := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return env
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		env[k] = v
	}
	return env
}

// loadAgentAuth builds the agent's registry auth from ecs.config
// (aws/amazon-ecs-agent agent/dockerclient/dockerauth/dockerauth.go
// parseAuthData): "docker" is registry → {username, password, email};
// "dockercfg" is registry → {auth: base64("user:pass")}, where a bad base64
// or a missing ":" drops that registry. Invalid JSON or an unknown type
// leaves the agent anonymous. Keys lose an http:// or https:// prefix.
func loadAgentAuth(configPath string) map[string]registryCred {
	env := readECSConfig(configPath)
	data := []byte(env["ECS_ENGINE_AUTH_DATA"])
	parsed := map[string]registryCred{}
	switch env["ECS_ENGINE_AUTH_TYPE"] {
	case "docker":
		// go-dockerclient's AuthConfiguration; encoding/json matches keys
		// case-insensitively, as the agent's decoding does.
		var m map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return map[string]registryCred{}
		}
		for k, v := range m {
			parsed[k] = registryCred{v.Username, v.Password}
		}
	case "dockercfg":
		var m map[string]struct {
			Auth string `json:"auth"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return map[string]registryCred{}
		}
		for k, v := range m {
			raw, err := base64.StdEncoding.DecodeString(v.Auth)
			if err != nil {
				continue
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				continue
			}
			parsed[k] = registryCred{user, pass}
		}
	default:
		return map[string]registryCred{}
	}
	out := make(map[string]registryCred, len(parsed))
	for k, v := range parsed {
		if strings.HasPrefix(k, "http://") {
			k = strings.TrimPrefix(k, "http://")
		} else if strings.HasPrefix(k, "https://") {
			k = strings.TrimPrefix(k, "https://")
		}
		out[k] = v
	}
	return out
}

// dockerHubKey is the only key the agent uses for Docker Hub images.
const dockerHubKey = "index.docker.io/v1/"

// agentCredFor picks the credentials the agent gives Docker for image, as
// dockerauth.go GetAuthconfig does: Docker Hub images (docker.io,
// index.docker.io, registry-1.docker.io, or no registry at all) use only
// "index.docker.io/v1/"; other images use the key equal to their registry
// host[:port], else the longest key on that host that prefixes the image.
// nil: pull anonymously.
func agentCredFor(auth map[string]registryCred, image string) *registryCred {
	if len(auth) == 0 {
		return nil
	}
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo = repo[:i]
	}
	index := "docker.io"
	if first, _, ok := strings.Cut(repo, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		index = first
	}
	switch index {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		if c, ok := auth[dockerHubKey]; ok {
			return &c
		}
		return nil
	}
	longest := ""
	if _, ok := auth[index]; ok {
		longest = index
	}
	for key := range auth {
		host, _, _ := strings.Cut(key, "/")
		if host != index {
			continue
		}
		if longest == "" || (len(key) > len(longest) && strings.HasPrefix(image, key)) {
			longest = key
		}
	}
	if longest == "" {
		return nil
	}
	c := auth[longest]
	return &c
}
