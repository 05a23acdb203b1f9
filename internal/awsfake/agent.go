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

// loadAgentAuth builds the agent's registry auth from ecs.config as ecs-init
// hands it the variables.
func loadAgentAuth(configPath string) map[string]registryCred {
	env := readECSConfig(configPath)
	return parseAgentAuth(env["ECS_ENGINE_AUTH_TYPE"], []byte(env["ECS_ENGINE_AUTH_DATA"]))
}

// parseAgentAuth is aws/amazon-ecs-agent
// agent/dockerclient/dockerauth/dockerauth.go parseAuthData, read at commit
// 8dfceca6cf380a83c3007349317566f2862f0673. The data is unmarshalled as a
// whole into a typed map, so one member of the wrong shape (a string where
// an object belongs, a number where a string belongs, in any field the
// type has) leaves the agent with no credentials at all, as does a value
// that is not a JSON object (a quoted "{...}" is a JSON string). For
// "dockercfg" only "auth" is read: base64 that does not decode, or decoded
// text without ":", drops that registry alone. An empty type is silent,
// another type a warning; both give nothing. Keys then lose a lower-case
// "http://" or "https://" (stripRegistrySchema); where two keys become
// one, Go's map order decides whose credentials stay, as in the agent.
func parseAgentAuth(authType string, data []byte) map[string]registryCred {
	intermediate := map[string]registryCred{}
	switch authType {
	case "docker":
		// github.com/docker/docker api/types/registry.AuthConfig, which the
		// agent decodes into: every field is a string.
		var m map[string]struct {
			Username      string `json:"username,omitempty"`
			Password      string `json:"password,omitempty"`
			Auth          string `json:"auth,omitempty"`
			Email         string `json:"email,omitempty"`
			ServerAddress string `json:"serveraddress,omitempty"`
			IdentityToken string `json:"identitytoken,omitempty"`
			RegistryToken string `json:"registrytoken,omitempty"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return map[string]registryCred{}
		}
		for k, v := range m {
			intermediate[k] = registryCred{v.Username, v.Password}
		}
	case "dockercfg":
		var m map[string]struct { // dockercfgData
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
			intermediate[k] = registryCred{user, pass}
		}
	default:
		return map[string]registryCred{}
	}
	out := make(map[string]registryCred, len(intermediate))
	for k, v := range intermediate {
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

// agentKeyFor is the key whose credentials the agent hands Docker for
// image, as dockerauth.go GetAuthconfig picks it (same commit), "" for
// none. The tag is dropped as utils.ParseRepositoryTag does (the text
// after the last ":" unless it holds a "/"; a digest is not special) and
// the registry found as splitReposName does (the first component if it
// holds "." or ":" or is "localhost", else Docker Hub). Docker Hub images
// use "index.docker.io/v1/" and nothing else. Other images start from the
// key equal to their host, if any; then, walking the keys of that host in
// Go's map order, the first one is taken when nothing is yet, and a later
// one only when it is longer and a string prefix of the image as given. So
// without a key equal to the host, the map's order can decide, as it does
// in the agent: this fake does not make that choice any steadier.
func agentKeyFor(auth map[string]registryCred, image string) string {
	repository := image
	if n := strings.LastIndex(image, ":"); n >= 0 && !strings.Contains(image[n+1:], "/") {
		repository = image[:n]
	}
	indexName := "docker.io"
	if parts := strings.SplitN(repository, "/", 2); len(parts) == 2 &&
		(strings.Contains(parts[0], ".") || strings.Contains(parts[0], ":") || parts[0] == "localhost") {
		indexName = parts[0]
	}
	switch indexName {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		if _, ok := auth[dockerHubKey]; ok {
			return dockerHubKey
		}
		return ""
	}
	longestKey := ""
	if _, found := auth[indexName]; found {
		longestKey = indexName
	}
	for registry := range auth {
		hostname := strings.SplitN(registry, "/", 2)[0]
		if indexName != hostname {
			continue
		}
		if longestKey == "" {
			longestKey = registry
		} else if len(registry) > len(longestKey) && strings.HasPrefix(image, registry) {
			longestKey = registry
		}
	}
	return longestKey
}

// agentCredFor is what the agent gives Docker for image: the credentials
// under agentKeyFor, or nil to pull anonymously.
func agentCredFor(auth map[string]registryCred, image string) *registryCred {
	key := agentKeyFor(auth, image)
	if key == "" {
		return nil
	}
	c := auth[key]
	return &c
}

// AgentCredentials is what this fake's ECS agent would hand Docker to pull
// image, given ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA as ecs-init
// passes them: the key it picked (scheme stripped) and its credentials, or
// ok false for an anonymous pull. It is exported so that a test outside the
// fake can hold the fake's reading against the product's; where the agent's
// choice depends on map order, so does this answer.
func AgentCredentials(authType, authData, image string) (key, username, password string, ok bool) {
	auth := parseAgentAuth(authType, []byte(authData))
	key = agentKeyFor(auth, image)
	if key == "" {
		return "", "", "", false
	}
	return key, auth[key].username, auth[key].password, true
}
