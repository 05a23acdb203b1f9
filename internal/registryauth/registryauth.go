// Package registryauth holds the registry credential formats exactly as the
// Amazon ECS agent reads them from ECS_ENGINE_AUTH_TYPE and
// ECS_ENGINE_AUTH_DATA, and the keys under which it finds them.
//
// Source: aws/amazon-ecs-agent agent/dockerclient/dockerauth/dockerauth.go
// (parseAuthData, stripRegistrySchema, GetAuthconfig, splitReposName,
// isDockerhubHostname) and agent/utils/repotag.go (ParseRepositoryTag), read
// at commit 8dfceca6cf380a83c3007349317566f2862f0673. What the agent does:
//
//   - ECS_ENGINE_AUTH_TYPE=dockercfg: the data is a JSON object from registry
//     key to {"auth": base64(user ":" password)}; only "auth" is read. A value
//     that is not standard base64, or whose decoded text has no ":", drops
//     that registry (the text is split at the first ":", so the user name
//     cannot hold one; the password can).
//   - ECS_ENGINE_AUTH_TYPE=docker: registry key to a Docker AuthConfig,
//     {"username","password","email",...}.
//   - Data that is not such a JSON object (any entry of the wrong shape
//     included), an empty type or another type: no credentials at all, for
//     every registry; the agent logs a warning and pulls anonymously.
//   - Keys lose a leading "http://" or "https://" (lower case only), nothing
//     else: no lower-casing, no path removal.
//   - An image's registry is its first path component if that holds "." or
//     ":" or is "localhost", else Docker Hub. Docker Hub images (bare names,
//     docker.io, index.docker.io, registry-1.docker.io; compared byte for
//     byte) look up exactly "index.docker.io/v1/". Other images take the
//     longest key of their host[:port] that is a string prefix of the image
//     reference over the key equal to the host; without a key equal to the
//     host, Go's map order may decide (Resolve, agentkey.go, says exactly
//     when).
package registryauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The two values of ECS_ENGINE_AUTH_TYPE this package writes.
const (
	TypeDockercfg = "dockercfg"
	TypeDocker    = "docker"
)

// DockerHubKey is the key to write for Docker Hub: the agent finds Docker Hub
// credentials only under "index.docker.io/v1/" once the scheme is stripped
// (dockerauth.go: dockerRegistryKey), and docker login writes this spelling.
const DockerHubKey = "https://index.docker.io/v1/"

// dockerHubLookupKey is DockerHubKey as the agent holds it, scheme stripped.
const dockerHubLookupKey = "index.docker.io/v1/"

// dockerHubHosts are the host names the agent takes for Docker Hub
// (dockerauth.go: dockerRegistryHosts).
var dockerHubHosts = []string{"docker.io", "index.docker.io", "registry-1.docker.io"}

// Credentials are what the agent hands Docker for one registry.
type Credentials struct {
	Username string
	Password string
}

// Key normalises a registry input to the key written to
// ECS_ENGINE_AUTH_DATA, and reports whether that differs from what was
// given:
//
//   - Docker Hub in any spelling (docker.io, index.docker.io,
//     registry-1.docker.io, with or without scheme, port or path) is
//     DockerHubKey: the agent looks Docker Hub images up under
//     "index.docker.io/v1/" only, so no other Docker Hub key is ever used;
//   - any other registry is its host[:port], lower case, without scheme,
//     query or fragment, followed by its path if it has one
//     (ghcr.io/org): the agent prefers such a key, over the host's own, for
//     the images of which it is a string prefix (see Resolve). The path is
//     lower-cased (image paths are lower case, and the agent compares byte
//     for byte) and loses leading and trailing slashes.
//
// Host names are lower-cased because DNS ignores case and image references
// are written in lower case; note that the agent itself compares byte for
// byte, so an image written "Registry.Example.com/app" would not match.
// Key does not judge whether the agent can match the result: the registry
// input's validation refuses what it cannot (a path with characters no image
// path holds).
func Key(registry string) (key string, changed bool) {
	rest := registry
	for _, scheme := range []string{"https://", "http://"} {
		if len(rest) >= len(scheme) && strings.EqualFold(rest[:len(scheme)], scheme) {
			rest = rest[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	hostPort, path, _ := strings.Cut(rest, "/")
	hostPort = asciiLower(hostPort)
	if isDockerHubHost(hostOnly(hostPort)) {
		return DockerHubKey, registry != DockerHubKey
	}
	key = hostPort
	if path = strings.Trim(asciiLower(path), "/"); path != "" {
		key += "/" + path
	}
	return key, key != registry
}

// ImageKey is the key (scheme stripped, as the agent holds its keys) under
// which the agent looks first for an image's credentials:
// "index.docker.io/v1/" for Docker Hub images, else the image's host[:port].
func ImageKey(image string) string {
	index := indexName(parseRepositoryTag(image))
	if isDockerHubHost(index) {
		return dockerHubLookupKey
	}
	return index
}

// Matches reports whether the agent, given ECS_ENGINE_AUTH_DATA with key as
// its only registry, would pull image with those credentials.
func Matches(key, image string) bool {
	_, ok := Lookup(map[string]Credentials{stripScheme(key): {}}, image)
	return ok
}

// Lookup finds the key of auths (as Parse returns them, scheme stripped)
// whose credentials the agent uses to pull image, as GetAuthconfig does.
// Where the agent's choice depends on Go's random map order (see Resolve),
// ok is false: no key is certain.
func Lookup(auths map[string]Credentials, image string) (key string, ok bool) {
	keys := make([]string, 0, len(auths))
	for k := range auths {
		keys = append(keys, k)
	}
	r := Resolve(keys, image)
	return r.Key, r.Found()
}

// IsECR reports whether a key names an Amazon ECR private registry. The agent
// pulls ECR images with an ECR token that ECS arranges for the task, never
// with ECS_ENGINE_AUTH_DATA, so such a key rotates nothing.
func IsECR(key string) bool {
	hostPort, _, _ := strings.Cut(stripScheme(key), "/")
	return ecrHost.MatchString(hostOnly(hostPort))
}

var ecrHost = regexp.MustCompile(`^[0-9]{12}\.(dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|dkr-ecr(-fips)?\.[a-z0-9-]+\.on\.aws)$`)

// Entry is the value of one registry in ECS_ENGINE_AUTH_DATA:
// {"auth":base64(user:password),"email":""} for dockercfg, or
// {"username","password","email":""} for docker. The user name and password
// must be non-empty valid UTF-8 (the agent hands them to Docker as JSON
// strings, which cannot carry other bytes), and for dockercfg the user name
// must not hold ":" (the agent splits at the first one). Errors never quote
// either value.
func Entry(authType, username, password string) ([]byte, error) {
	switch {
	case username == "" || password == "":
		return nil, errors.New("registry auth data needs a non-empty user name and password")
	case !utf8.ValidString(username) || !utf8.ValidString(password):
		return nil, errors.New("registry auth data cannot carry a user name or password that is not valid UTF-8: Docker receives them as JSON strings")
	}
	switch authType {
	case TypeDockercfg:
		if strings.Contains(username, ":") {
			return nil, errors.New("ecs-config-auth-type dockercfg cannot carry a user name that contains \":\": the ECS agent splits user:password at the first \":\"; use ecs-config-auth-type docker")
		}
		return marshal(dockercfgEntry{Auth: base64.StdEncoding.EncodeToString([]byte(username + ":" + password)), Email: ""})
	case TypeDocker:
		return marshal(dockerEntry{Username: username, Password: password, Email: ""})
	default:
		return nil, fmt.Errorf("unknown ECS_ENGINE_AUTH_TYPE %q: use %s or %s", authType, TypeDockercfg, TypeDocker)
	}
}

// Payload is ECS_ENGINE_AUTH_DATA holding one registry: a JSON object with
// the single member key → Entry(authType, username, password). key must be
// what Key returns.
func Payload(authType, key, username, password string) ([]byte, error) {
	if key == "" || !utf8.ValidString(key) {
		return nil, errors.New("registry key is empty or not valid UTF-8")
	}
	if k, changed := Key(key); changed {
		return nil, fmt.Errorf("registry key %q is not normalised (the ECS agent would be given %q): use registryauth.Key", key, k)
	}
	entry, err := Entry(authType, username, password)
	if err != nil {
		return nil, err
	}
	name, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(name)+len(entry)+3)
	out = append(out, '{')
	out = append(out, name...)
	out = append(out, ':')
	out = append(out, entry...)
	return append(out, '}'), nil
}

// PayloadB64 is Payload in standard base64, as the SSM parameter and the
// inline transport carry it.
func PayloadB64(authType, key, username, password string) (string, error) {
	p, err := Payload(authType, key, username, password)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(p), nil
}

// Parse reads ECS_ENGINE_AUTH_DATA as the agent does (parseAuthData): it
// returns the credentials by key, scheme stripped, and an empty map wherever
// the agent would pull anonymously. Where two keys differ only by scheme the
// agent keeps one at random; Parse keeps the last in sorted order.
func Parse(authType, data string) map[string]Credentials {
	byKey := map[string]Credentials{}
	switch authType {
	case TypeDocker:
		entries := map[string]dockerAuthConfig{}
		if json.Unmarshal([]byte(data), &entries) != nil {
			return map[string]Credentials{}
		}
		for k, e := range entries {
			byKey[k] = Credentials{Username: e.Username, Password: e.Password}
		}
	case TypeDockercfg:
		entries := map[string]dockercfgConfigEntry{}
		if json.Unmarshal([]byte(data), &entries) != nil {
			return map[string]Credentials{}
		}
		for k, e := range entries {
			decoded, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				continue
			}
			user, pass, ok := strings.Cut(string(decoded), ":")
			if !ok {
				continue
			}
			byKey[k] = Credentials{Username: user, Password: pass}
		}
	default:
		return map[string]Credentials{}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]Credentials, len(byKey))
	for _, k := range keys {
		out[stripScheme(k)] = byKey[k]
	}
	return out
}

// dockercfgEntry and dockerEntry fix the member order of what is written.
type dockercfgEntry struct {
	Auth  string `json:"auth"`
	Email string `json:"email"`
}

type dockerEntry struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
}

// dockercfgConfigEntry is the agent's own type for reading dockercfg data
// (dockerauth.go), so that Parse accepts and refuses what the agent does.
type dockercfgConfigEntry struct {
	Auth string `json:"auth"`
}

// dockerAuthConfig has the fields of github.com/docker/docker's
// registry.AuthConfig, which the agent decodes docker data into (vendored
// api/types/registry/authconfig.go): any of them of the wrong JSON type makes
// the whole data unreadable.
type dockerAuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// marshal keeps encoding/json's default escaping of <, > and &: the agent
// decodes them all the same, and fewer shell and sed metacharacters reach the
// script that writes ecs.config.
func marshal(v any) ([]byte, error) { return json.Marshal(v) }

// stripScheme is the agent's stripRegistrySchema: lower-case http:// or
// https:// only.
func stripScheme(registry string) string {
	if rest, ok := strings.CutPrefix(registry, "http://"); ok {
		return rest
	}
	return strings.TrimPrefix(registry, "https://")
}

// parseRepositoryTag is the agent's utils.ParseRepositoryTag, repository only:
// the text after the last ":" is a tag unless it holds a "/".
func parseRepositoryTag(image string) string {
	n := strings.LastIndex(image, ":")
	if n < 0 {
		return image
	}
	if !strings.Contains(image[n+1:], "/") {
		return image[:n]
	}
	return image
}

// indexName is the registry part of the agent's splitReposName.
func indexName(repository string) string {
	first, _, hasPath := strings.Cut(repository, "/")
	if !hasPath || (!strings.Contains(first, ".") && !strings.Contains(first, ":") && first != "localhost") {
		return "docker.io"
	}
	return first
}

func isDockerHubHost(host string) bool { return slices.Contains(dockerHubHosts, host) }

// hostOnly drops a ":port" (after a bracketed IPv6 literal, if any).
func hostOnly(hostPort string) string {
	if strings.HasPrefix(hostPort, "[") {
		if i := strings.Index(hostPort, "]"); i >= 0 {
			return hostPort[:i+1]
		}
		return hostPort
	}
	host, _, _ := strings.Cut(hostPort, ":")
	return host
}

// asciiLower lower-cases A-Z only: host names are ASCII, and other bytes are
// left exactly as they were.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
