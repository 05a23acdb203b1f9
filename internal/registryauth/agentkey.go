package registryauth

import (
	"fmt"
	"slices"
	"strings"
)

// The agent's choice of key, as aws/amazon-ecs-agent
// agent/dockerclient/dockerauth/dockerauth.go GetAuthconfig makes it (read
// at commit 8dfceca6cf380a83c3007349317566f2862f0673):
//
//  1. repository, _ := utils.ParseRepositoryTag(image): the text after the
//     last ":" is dropped unless it holds a "/" (agent/utils/repotag.go).
//  2. indexName, _ := splitReposName(repository): the first "/" component
//     when it holds "." or ":" or is "localhost", else "docker.io".
//  3. isDockerhubHostname(indexName) (docker.io, index.docker.io,
//     registry-1.docker.io, byte for byte): the answer is
//     authDataMap["index.docker.io/v1/"], whatever other keys exist.
//  4. Otherwise longestKey starts as indexName when that is a key. Then
//     `for registry := range authDataMap`, over every key whose part before
//     the first "/" equals indexName: if longestKey is still "", that key is
//     taken whatever it is; else it is taken only when it is longer than
//     longestKey and strings.HasPrefix(image, registry) (the image as given,
//     tag included: a string prefix, not a path prefix).
//
// With a key equal to the host, step 4 always ends on the longest key of
// that host that is a prefix of the image (they are prefixes of one string,
// so they nest), else the host key. Without one, the first key that Go's
// randomised map iteration yields decides: it stays unless the longest
// prefix key is longer than it. Where different first keys give different
// answers, the agent's choice changes from one start of the agent to the
// next.
//
// The agent looks up twice for one pull: with the task definition's image
// (PullImageManifest) and with the canonical reference name@digest, tag
// dropped (engine/docker_task_engine.go pullContainer,
// utils/reference.GetCanonicalRef). A key whose path holds only what an
// image path can hold matches both alike.

// Resolution is the agent's choice of key for one image.
type Resolution struct {
	// Key is the key, scheme stripped, whose credentials the agent hands
	// Docker for the image; "" when it has none (an anonymous pull) or when
	// the choice is Ambiguous.
	Key string
	// Ambiguous lists, sorted, every key the agent may pick when its choice
	// depends on Go's random map order: no key equals the image's host, and
	// two or more of the host's namespaced keys would each win if the map
	// yielded it first. Key is then "".
	Ambiguous []string
}

// Found reports whether the agent will certainly use a key for the image.
func (r Resolution) Found() bool { return r.Key != "" }

// Resolve says which of keys the agent uses to pull image. keys are the
// member names of ECS_ENGINE_AUTH_DATA that survived parseAuthData, as
// decoded JSON strings (a scheme, if any, is stripped here as
// stripRegistrySchema does; names that become equal are one key).
func Resolve(keys []string, image string) Resolution {
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[stripScheme(k)] = true
	}
	index := indexName(parseRepositoryTag(image))
	if isDockerHubHost(index) {
		if set[dockerHubLookupKey] {
			return Resolution{Key: dockerHubLookupKey}
		}
		return Resolution{}
	}
	var onHost []string
	longestPrefix := ""
	for k := range set {
		host, _, _ := strings.Cut(k, "/")
		if host != index {
			continue
		}
		onHost = append(onHost, k)
		if strings.HasPrefix(image, k) && len(k) > len(longestPrefix) {
			longestPrefix = k
		}
	}
	if set[index] {
		if len(longestPrefix) > len(index) {
			return Resolution{Key: longestPrefix}
		}
		return Resolution{Key: index}
	}
	// No key equals the host: the first key of the host that the map
	// yields stays unless the longest prefix key is longer than it.
	outcomes := map[string]bool{}
	for _, first := range onHost {
		if len(longestPrefix) > len(first) {
			outcomes[longestPrefix] = true
		} else {
			outcomes[first] = true
		}
	}
	switch len(outcomes) {
	case 0:
		return Resolution{}
	case 1:
		for k := range outcomes {
			return Resolution{Key: k}
		}
	}
	may := make([]string, 0, len(outcomes))
	for k := range outcomes {
		may = append(may, k)
	}
	slices.Sort(may)
	return Resolution{Ambiguous: may}
}

// Affects reports whether image is one whose credentials a rotation of key
// changes, as the agent matches them when no other key of the same host
// captures the image (Judge tells, from the keys an instance will hold):
//
//   - the Docker Hub key: every Docker Hub image (bare names, docker.io,
//     index.docker.io, registry-1.docker.io);
//   - a host[:port] key: every image of that host;
//   - a host[:port]/path key: every image of that host of which the key is a
//     string prefix, as GetAuthconfig compares them: ghcr.io/org covers
//     ghcr.io/org/app and also ghcr.io/orgx/app.
//
// An image of the host outside a path key's prefix pulls with that key only
// on an instance that holds no other key of the host (the agent then takes
// the only one it has); it is not counted as affected.
func Affects(key, image string) bool {
	key = stripScheme(key)
	if key == "" {
		return false
	}
	index := indexName(parseRepositoryTag(image))
	if isDockerHubHost(index) {
		return key == dockerHubLookupKey
	}
	host, _, hasPath := strings.Cut(key, "/")
	if host != index {
		return false
	}
	return !hasPath || strings.HasPrefix(image, key)
}

// Captured returns, for each key of keysAfter other than rotatedKey that the
// agent will certainly use for one of images, those images, in the order
// given. keysAfter are the member names of ECS_ENGINE_AUTH_DATA after the
// rewrite, as Resolve takes them. Images whose key is ambiguous or that no
// key matches are not in it (Judge reports them).
func Captured(keysAfter []string, rotatedKey string, images []string) map[string][]string {
	rotated := stripScheme(rotatedKey)
	out := map[string][]string{}
	for _, image := range images {
		if r := Resolve(keysAfter, image); r.Found() && r.Key != rotated && !slices.Contains(out[r.Key], image) {
			out[r.Key] = append(out[r.Key], image)
		}
	}
	return out
}

// JudgeError says why the agent, with the keys it will hold after the
// rewrite, would not pull every affected image with the rotated key.
type JudgeError struct {
	RotatedKey string
	// Captured: another key → the images the agent will pull with it.
	Captured map[string][]string
	// Unmatched are the images no key matches: the agent pulls them
	// anonymously.
	Unmatched []string
	// Ambiguous: image → the keys the agent picks among by map order.
	Ambiguous map[string][]string
	// SameKey are members other than RotatedKey that the agent reads as the
	// same key (it strips http:// and https://) and keeps one of at random.
	SameKey []string
	// Missing is true when RotatedKey is not among the keys at all.
	Missing bool
}

// maxListed bounds the images one sentence of a JudgeError names.
const maxListed = 5

func (e *JudgeError) Error() string {
	var parts []string
	if e.Missing {
		parts = append(parts, fmt.Sprintf("the rotated key %s is not among the keys of ECS_ENGINE_AUTH_DATA", e.RotatedKey))
	}
	if len(e.SameKey) > 0 {
		parts = append(parts, fmt.Sprintf("members %s and %s are one key to the ECS agent, which strips http:// and https:// and keeps one of them at random",
			strings.Join(e.SameKey, ", "), e.RotatedKey))
	}
	keys := make([]string, 0, len(e.Captured))
	for k := range e.Captured {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("key %s captures %s; the rotated key %s is not the one the agent will use",
			k, listImages(e.Captured[k]), e.RotatedKey))
	}
	if len(e.Unmatched) > 0 {
		parts = append(parts, fmt.Sprintf("no key matches %s: the agent would pull anonymously", listImages(e.Unmatched)))
	}
	images := make([]string, 0, len(e.Ambiguous))
	for image := range e.Ambiguous {
		images = append(images, image)
	}
	slices.Sort(images)
	for i, image := range images {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more images whose key the agent picks at random", len(images)-maxListed))
			break
		}
		parts = append(parts, fmt.Sprintf("for image %s the agent picks at random (Go map order) among keys %s, since no key equals its host %s",
			image, strings.Join(e.Ambiguous[image], ", "), indexName(parseRepositoryTag(image))))
	}
	return strings.Join(parts, "; ")
}

func listImages(images []string) string {
	word := "images"
	if len(images) == 1 {
		word = "image"
	}
	if len(images) <= maxListed {
		return word + " " + strings.Join(images, ", ")
	}
	return fmt.Sprintf("%s %s and %d more", word, strings.Join(images[:maxListed], ", "), len(images)-maxListed)
}

// Judge says whether the agent, holding keysAfter (the member names of
// ECS_ENGINE_AUTH_DATA after the rewrite, as the preflight reports them),
// will pull every one of images with rotatedKey's credentials. It returns
// nil, or a *JudgeError naming each key that captures images, each image no
// key matches, each image whose key depends on map order, and any member the
// agent would confuse with rotatedKey.
func Judge(keysAfter []string, rotatedKey string, images []string) error {
	rotated := stripScheme(rotatedKey)
	e := &JudgeError{RotatedKey: rotatedKey, Captured: Captured(keysAfter, rotatedKey, images), Missing: !slices.Contains(keysAfter, rotatedKey)}
	for _, k := range keysAfter {
		if k != rotatedKey && stripScheme(k) == rotated && !slices.Contains(e.SameKey, k) {
			e.SameKey = append(e.SameKey, k)
		}
	}
	for _, image := range images {
		r := Resolve(keysAfter, image)
		switch {
		case len(r.Ambiguous) > 0:
			if e.Ambiguous == nil {
				e.Ambiguous = map[string][]string{}
			}
			e.Ambiguous[image] = r.Ambiguous
		case !r.Found() && !slices.Contains(e.Unmatched, image):
			e.Unmatched = append(e.Unmatched, image)
		}
	}
	if !e.Missing && len(e.SameKey) == 0 && len(e.Captured) == 0 && len(e.Unmatched) == 0 && len(e.Ambiguous) == 0 {
		return nil
	}
	return e
}

// BeyondPrefix reports whether the agent may use key, a host/path key,
// also for images of its host outside the path: keys (the member names
// after the rewrite) hold no key for the host itself, and for an image no
// key of the host is a prefix of, the agent takes any key of the host (the
// one there is, or the first its map yields). Affects leaves those images
// out, so a rotation of key does not roll or verify them.
func BeyondPrefix(keys []string, key string) bool {
	k := stripScheme(key)
	host, _, hasPath := strings.Cut(k, "/")
	if !hasPath || k == dockerHubLookupKey {
		return false
	}
	return !slices.ContainsFunc(keys, func(other string) bool { return stripScheme(other) == host })
}
