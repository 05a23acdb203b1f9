package verify

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
)

// The sentences below end up in the job log and summary; each says what
// happened and what the reader can do about it. The checks do not know
// whether they run under Actions, so a setting is named both ways: as the
// step's input and as the command line's flag.

const missingCredentials = "no username or password was given, so the new credentials cannot be checked; set both, or set verify-credentials: false (--verify-credentials=false on a command line)."

const unreachableAdvice = "check the registry address; if this runner cannot reach the registry (a private network), set verify-credentials: false (--verify-credentials=false on a command line)"

func (r *run) explainLogin(parent context.Context, registry string, err error) (Status, string) {
	if parent.Err() != nil {
		return StatusError, fmt.Sprintf("verification was cancelled while logging in to %s (%v).", registry, parent.Err())
	}
	why := r.cause(err)
	switch status := classify(err); status {
	case StatusUnauthorized:
		return status, fmt.Sprintf("%s rejected the login of user %q with the new password (%s); check the username and password, and that the account may pull.", registry, r.creds.Username, why)
	case StatusUnreachable:
		return status, fmt.Sprintf("could not reach %s to log in (%s); %s.", registry, why, unreachableAdvice)
	default:
		return StatusError, fmt.Sprintf("logging in to %s failed (%s); check that it is a Docker registry and try again.", registry, why)
	}
}

func (r *run) explainManifest(parent context.Context, ref name.Reference, err error) (Status, string) {
	if parent.Err() != nil {
		return StatusError, cancelled(ref, parent.Err())
	}
	registry := ref.Context().RegistryStr()
	why := r.cause(err)
	switch status := classify(err); status {
	case StatusUnauthorized:
		return status, fmt.Sprintf("%s accepted the login of user %q but refused the manifest of %s (%s); give the user pull access to the repository, or check that it exists (Docker Hub answers 401, not 404, for a repository it will not show).", registry, r.creds.Username, ref.Name(), why)
	case StatusNotFound:
		return status, fmt.Sprintf("%s has no manifest for %s (%s); the credentials work, so fix the image or tag in the task definition.", registry, ref.Name(), why)
	case StatusUnreachable:
		return status, fmt.Sprintf("no answer from %s for %s (%s); %s.", registry, ref.Name(), why, unreachableAdvice)
	default:
		return StatusError, fmt.Sprintf("fetching the manifest of %s failed (%s)%s.", ref.Name(), why, retryHint(err))
	}
}

func retryHint(err error) string {
	switch code := httpStatus(err); {
	case code == http.StatusTooManyRequests:
		return "; the registry is rate-limiting, not rejecting the credentials: try again later"
	case code >= 500:
		return "; the registry itself failed: try again later"
	}
	return ""
}

func found(ref name.Reference, digest string) string {
	if _, byDigest := ref.(name.Digest); byDigest {
		return fmt.Sprintf("the new credentials can pull %s.", ref.Name())
	}
	return fmt.Sprintf("the new credentials can pull %s (%s).", ref.Name(), digest)
}

func cancelled(ref name.Reference, err error) string {
	return fmt.Sprintf("verification was cancelled before %s was checked (%v).", ref.Name(), err)
}

func badReference(err error) ImageResult {
	return ImageResult{
		Status: StatusError,
		Detail: fmt.Sprintf("not a valid image reference (%v); fix the image in the task definition.", err),
	}
}
