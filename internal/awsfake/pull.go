package awsfake

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
)

// Task start, as the ECS agent (EC2) or Fargate does it: first the
// repositoryCredentials secrets are read with the task execution role, then
// every image is pulled. Each failure is worded as the platform words it,
// because the product classifies tasks by these texts.

// startTask implements the world's starter. Called under the server lock.
func (s *Server) startTask(t *task) launchResult {
	auths := map[string]*registryCred{}
	for _, c := range t.taskDef.containers {
		p := c.CredentialsParameter
		if p == "" || auths[p] != nil {
			continue
		}
		cred, failure := s.readRegistryAuth(t, p)
		if failure != "" {
			return launchResult{stopReason: failure}
		}
		auths[p] = cred
	}
	res := launchResult{containerReasons: map[string]string{}}
	for _, c := range t.taskDef.containers {
		cred := auths[c.CredentialsParameter]
		if c.CredentialsParameter == "" && t.instance != nil {
			// No repositoryCredentials: Docker gets what the instance's
			// agent loaded from ecs.config when it last started.
			cred = agentCredFor(t.instance.agent.auth, c.Image)
		}
		reason := s.pullError(c.Image, cred, t.launchType)
		if reason == "" {
			continue
		}
		res.containerReasons[c.Name] = reason
		// The agent's default pull behaviour falls back to a cached image:
		// the task runs, and only the container's reason tells.
		if !t.svc.cachedImage {
			res.stopReason = reason
			return res
		}
	}
	return res
}

// readRegistryAuth reads a repositoryCredentials secret as the agent does
// (aws/amazon-ecs-agent agent/asm/asm.go): AWSCURRENT, JSON decoded into a
// struct without tags, so key case does not matter, and empty values are
// rejected.
func (s *Server) readRegistryAuth(t *task, param string) (*registryCred, string) {
	sec := s.secrets.find(param)
	switch {
	case sec == nil:
		return nil, s.secretFailure(t, "asm fetching secret from the service for "+param+
			": ResourceNotFoundException: Secrets Manager can't find the specified secret.")
	case s.secrets.readDenied(sec):
		return nil, s.secretFailure(t, "asm fetching secret from the service for "+param+
			": AccessDeniedException: User: "+s.executionSession(t)+
			" is not authorized to perform: secretsmanager:GetSecretValue on resource: "+sec.arn+
			" because no identity-based policy allows the secretsmanager:GetSecretValue action")
	}
	v := sec.byStage(stageCurrent)
	if v == nil || v.value == "" {
		return nil, s.secretFailure(t, "asm fetching authorization data: empty secrets value")
	}
	var auth struct{ Username, Password *string }
	if err := json.Unmarshal([]byte(v.value), &auth); err != nil {
		return nil, s.secretFailure(t, "asm fetching authorization data: unable to unmarshal secret value, invalid schema")
	}
	if auth.Username == nil || *auth.Username == "" {
		return nil, s.secretFailure(t, "asm fetching username: AuthorizationData is malformed, empty field")
	}
	if auth.Password == nil || *auth.Password == "" {
		return nil, s.secretFailure(t, "asm fetching password: AuthorizationData is malformed, empty field")
	}
	return &registryCred{*auth.Username, *auth.Password}, ""
}

// executionSession is the identity the agent reads secrets as: the task
// execution role, with the task id as session name.
func (s *Server) executionSession(t *task) string {
	role := "ecsTaskExecutionRole"
	if arn := t.taskDef.executionRoleArn; arn != "" {
		role = arn[strings.LastIndex(arn, "/")+1:]
	}
	return "arn:aws:sts::" + s.opts.AccountID + ":assumed-role/" + role + "/" + t.id
}

// secretFailure wraps the agent's error as the task's stoppedReason. On EC2
// ECS shows the raw error with its first letter capitalised; Fargate wraps
// it as a ResourceInitializationError ("unable to get registry auth from
// asm" is the registry-credentials variant of that message).
func (s *Server) secretFailure(t *task, agentErr string) string {
	if t.launchType == "FARGATE" {
		return "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
			"unable to get registry auth from asm: service call has been retried 1 time(s): " + agentErr
	}
	return capitalize(agentErr)
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// pullError decides one image pull: "" when it succeeds, else the
// CannotPullContainerError text. A host with credentials set needs exactly
// them; other hosts are public. The fake registry also knows which
// images were never pushed.
func (s *Server) pullError(image string, cred *registryCred, launchType string) string {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return "CannotPullContainerError: invalid reference format: " + image
	}
	host := ref.Context().RegistryStr()
	if want, private := s.regCreds[host]; private && (cred == nil || *cred != want) {
		return s.pullDenied(ref, launchType)
	}
	if host == s.regHost && !s.manifestExists(ref.Context().RepositoryStr(), ref.Identifier()) {
		return pullNotFound(ref, launchType)
	}
	return ""
}

// Docker (EC2) names Docker Hub images by their familiar name; containerd
// (Fargate) by the full reference, and fetches from registry-1.docker.io.
func familiarName(ref name.Reference) string {
	repo := ref.Context()
	if repo.RegistryStr() == dockerHub {
		return strings.TrimPrefix(repo.RepositoryStr(), "library/")
	}
	return repo.Name()
}

func fullRef(ref name.Reference) (full, host string) {
	repo := ref.Context()
	host = repo.RegistryStr()
	base := host + "/" + repo.RepositoryStr()
	if host == dockerHub {
		base, host = "docker.io/"+repo.RepositoryStr(), "registry-1.docker.io"
	}
	return base + identifierSep(ref) + ref.Identifier(), host
}

func identifierSep(ref name.Reference) string {
	if _, ok := ref.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// pullDenied words a refused pull. Docker (EC2) ends its message with the
// registry's own error, "<code>: <message>" (docker/distribution errcode):
// Docker Hub's "denied: requested access to the resource is denied" unless
// the fake registry was given other words (SetRegistryDenyMessage), which it
// sends with code UNAUTHORIZED. containerd (Fargate) names only the status.
// Called under the server lock.
func (s *Server) pullDenied(ref name.Reference, launchType string) string {
	if launchType == "FARGATE" {
		full, host := fullRef(ref)
		return "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref " + full +
			": pulling from host " + host + " failed with status code [manifests " + ref.Identifier() + "]: 401 Unauthorized"
	}
	registrySays := "denied: requested access to the resource is denied"
	if s.regDenyMessage != "" {
		registrySays = "unauthorized: " + s.regDenyMessage
	}
	return "CannotPullContainerError: Error response from daemon: pull access denied for " + familiarName(ref) +
		", repository does not exist or may require 'docker login': " + registrySays
}

func pullNotFound(ref name.Reference, launchType string) string {
	if launchType == "FARGATE" {
		full, _ := fullRef(ref)
		return "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref " + full +
			": " + full + ": not found"
	}
	return "CannotPullContainerError: Error response from daemon: manifest for " + familiarName(ref) +
		identifierSep(ref) + ref.Identifier() + " not found: manifest unknown: manifest unknown"
}
