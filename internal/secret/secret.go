// Package secret writes the new registry credentials into the Secrets Manager
// secret that task definitions name in repositoryCredentials.
package secret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
)

// API is the part of Secrets Manager the apply step calls.
type API interface {
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Outcome is what the apply step did.
type Outcome struct {
	VersionID         string // the version now current: the new one, or the one that already held the credentials
	PreviousVersionID string
	Changed           bool
}

// Current reports whether the secret already holds these credentials.
func Current(s plan.Secret, username, password string) bool {
	u, p := s.Credentials()
	return u == username && p == password
}

// Apply writes username and password into the secret, keeping every other key
// it holds. It writes nothing when the secret already holds them.
func Apply(ctx context.Context, api API, s plan.Secret, username, password string) (Outcome, error) {
	if Current(s, username, password) {
		return Outcome{VersionID: s.VersionID, PreviousVersionID: s.VersionID}, nil
	}
	value, err := newValue(s.Fields, username, password)
	if err != nil {
		return Outcome{}, err
	}
	out, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.ARN),
		SecretString:       aws.String(value),
		ClientRequestToken: aws.String(requestToken(s, value)),
	})
	if err != nil {
		return Outcome{}, awserr.Wrap(err, "secretsmanager:PutSecretValue", "secret "+s.Name)
	}
	return Outcome{VersionID: aws.ToString(out.VersionId), PreviousVersionID: s.VersionID, Changed: true}, nil
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

// requestToken makes a retried run idempotent: the same new value written over
// the same current version always carries the same token, so Secrets Manager
// returns the version already made instead of making a second one. Including
// the current version keeps a later rotation back to an older value possible.
func requestToken(s plan.Secret, value string) string {
	sum := sha256.Sum256([]byte(s.ARN + "\x00" + s.VersionID + "\x00" + value))
	return hex.EncodeToString(sum[:])
}
