// Package secret writes the new registry credentials into the Secrets Manager
// secret that task definitions name in repositoryCredentials.
package secret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
)

// API is the part of Secrets Manager the apply step calls: the write, and
// the read that learns its outcome when the write's answer was lost.
type API interface {
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Outcome is what the apply step did.
type Outcome struct {
	Name              string // the secret's name, for a person
	ARN               string
	VersionID         string // the version now current: the new one, or the one that already held the credentials; "" when Unknown
	PreviousVersionID string
	Changed           bool
	// Unknown is set when a write was sent but neither its answer nor a
	// read-back could tell whether it took effect.
	Unknown bool
}

// confirmTimeout bounds the read-back after a failed or cancelled write: a
// cancelled job has seconds left, and the truth is worth one call of them.
const confirmTimeout = 5 * time.Second

// Current reports whether the secret already holds these credentials.
func Current(s plan.Secret, username, password string) bool {
	u, p := s.Credentials()
	return u == username && p == password
}

// Apply writes username and password into the secret, keeping every other key
// it holds. It writes nothing when the secret already holds them.
func Apply(ctx context.Context, api API, s plan.Secret, username, password string) (Outcome, error) {
	unchanged := Outcome{Name: s.Name, ARN: s.ARN, VersionID: s.VersionID, PreviousVersionID: s.VersionID}
	if Current(s, username, password) {
		return unchanged, nil
	}
	value, err := newValue(s.Fields, username, password)
	if err != nil {
		return unchanged, err
	}
	token, err := requestToken()
	if err != nil {
		return unchanged, err
	}
	out, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.ARN),
		SecretString:       aws.String(value),
		ClientRequestToken: aws.String(token),
	})
	if err != nil {
		return confirm(ctx, api, s, username, password), awserr.Wrap(err, "secretsmanager:PutSecretValue", "secret "+s.Name)
	}
	return Outcome{Name: s.Name, ARN: s.ARN, VersionID: aws.ToString(out.VersionId), PreviousVersionID: s.VersionID, Changed: true}, nil
}

// confirm learns whether a write whose answer was an error (or never came,
// because the run was cancelled) took effect, by reading the secret back
// with a fresh, short context.
func confirm(ctx context.Context, api API, s plan.Secret, username, password string) Outcome {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	out, err := api.GetSecretValue(rctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.ARN)})
	if err != nil {
		return Outcome{Name: s.Name, ARN: s.ARN, PreviousVersionID: s.VersionID, Unknown: true}
	}
	now := plan.Secret{VersionID: aws.ToString(out.VersionId)}
	if json.Unmarshal([]byte(aws.ToString(out.SecretString)), &now.Fields) == nil &&
		now.VersionID != s.VersionID && Current(now, username, password) {
		return Outcome{Name: s.Name, ARN: s.ARN, VersionID: now.VersionID, PreviousVersionID: s.VersionID, Changed: true}
	}
	return Outcome{Name: s.Name, ARN: s.ARN, VersionID: s.VersionID, PreviousVersionID: s.VersionID}
}

// newValue is the secret's JSON with username and password replaced. Keys that
// differ only in case are dropped: the agent matches keys regardless of case,
// so two spellings would leave it to chance which one it reads.
func newValue(fields map[string]json.RawMessage, username, password string) (string, error) {
	next := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		if !strings.EqualFold(k, "username") && !strings.EqualFold(k, "password") {
			next[k] = v
		}
	}
	next["username"] = username
	next["password"] = password
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "&" in a password as "&", not "\u0026"
	if err := enc.Encode(next); err != nil {
		return "", fmt.Errorf("encode the new secret value: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// requestToken is random, with no relation to the password: the token
// becomes the version id, which the log and the outputs show, and a token
// derived from the value would let any reader of the log test password
// guesses offline. The SDK sends the same token on each of its retries, so a
// retried call still makes one version; across runs, the plan's read of the
// current value is what keeps a re-run from writing again.
func requestToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("draw a request token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// StageAPI is what Restore calls.
type StageAPI interface {
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Restore puts the credentials back that the secret held before written:
// AWSCURRENT moves back to the previous version, which still exists, rather
// than a new version repeating the old value; Secrets Manager then labels
// ours AWSPREVIOUS. The secret is read back to prove it. The outcome
// returned says which version is current, also when Restore fails.
func Restore(ctx context.Context, api StageAPI, written Outcome) (Outcome, error) {
	what := "secret " + written.Name
	_, err := api.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(written.ARN),
		VersionStage:        aws.String("AWSCURRENT"),
		MoveToVersionId:     aws.String(written.PreviousVersionID),
		RemoveFromVersionId: aws.String(written.VersionID),
	})
	// A move whose answer was lost has been made already, and the SDK's
	// retry names a RemoveFromVersionId that no longer holds the label, which
	// Secrets Manager refuses: what the secret holds now says whether the
	// move took effect, so it is read back before the refusal is believed.
	moveErr := err
	if moveErr != nil {
		moveErr = awserr.Wrap(err, "secretsmanager:UpdateSecretVersionStage", what)
		if awserr.Permanent(err) {
			return written, moveErr
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	out, err := api.GetSecretValue(rctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(written.ARN), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		readErr := fmt.Errorf("read back after moving AWSCURRENT: %w", awserr.Wrap(err, "secretsmanager:GetSecretValue", what))
		return Outcome{Name: written.Name, ARN: written.ARN, Unknown: true, PreviousVersionID: written.VersionID}, errors.Join(moveErr, readErr)
	}
	now := Outcome{Name: written.Name, ARN: written.ARN, VersionID: aws.ToString(out.VersionId), PreviousVersionID: written.VersionID, Changed: true}
	if now.VersionID == written.PreviousVersionID {
		return now, nil // moved, whatever the move's own answer said
	}
	if moveErr != nil {
		return written, fmt.Errorf("%w; AWSCURRENT is still version %s", moveErr, now.VersionID)
	}
	return now, fmt.Errorf("%s: AWSCURRENT is version %s after the move, not the previous version %s", what, now.VersionID, written.PreviousVersionID)
}

// RestoreCommand is the AWS CLI command that does what Restore does, for a
// person to run when the job had no time left.
func RestoreCommand(written Outcome) string {
	return fmt.Sprintf("aws secretsmanager update-secret-version-stage --secret-id %s --version-stage AWSCURRENT --move-to-version-id %s --remove-from-version-id %s",
		written.ARN, written.PreviousVersionID, written.VersionID)
}
