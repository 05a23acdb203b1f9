package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

// Secret is the registry secret as it stands. Fields holds its value: keep it
// out of every log line, error and output.
type Secret struct {
	ARN       string
	Name      string
	VersionID string
	Created   time.Time // when the current version was made
	Fields    map[string]json.RawMessage
}

// Credentials returns the user name and password the secret holds, matching
// keys regardless of case as the ECS agent does (it decodes into a struct
// without JSON tags).
func (s Secret) Credentials() (username, password string) {
	return stringField(s.Fields, "username"), stringField(s.Fields, "password")
}

func stringField(fields map[string]json.RawMessage, key string) string {
	for k, raw := range fields {
		if strings.EqualFold(k, key) {
			var v string
			if json.Unmarshal(raw, &v) == nil {
				return v
			}
		}
	}
	return ""
}

// Matches reports whether a task definition's credentialsParameter names
// this secret: by full ARN, by name, or by partial ARN (the ARN without the
// six random characters Secrets Manager appends).
func (s Secret) Matches(ref string) bool {
	return ref != "" && (ref == s.ARN || ref == s.Name || ref == partialARN(s.ARN))
}

// partialARN drops the "-" and six characters Secrets Manager appends to a
// secret's name in its ARN.
func partialARN(arn string) string {
	i := len(arn) - 7
	if i <= 0 || arn[i] != '-' {
		return ""
	}
	return arn[:i]
}

func readSecret(ctx context.Context, sm Secrets, id string) (Secret, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return Secret{}, awserr.Wrap(err, "secretsmanager:GetSecretValue", "secret "+id)
	}
	s := Secret{ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId), Created: aws.ToTime(out.CreatedDate)}
	if out.SecretString == nil {
		return Secret{}, fmt.Errorf("secret %s holds binary data, not the JSON object {\"username\",\"password\"} that ECS reads; refusing to overwrite it", s.Name)
	}
	// The value is never put into the error: it is a credential.
	if err := json.Unmarshal([]byte(*out.SecretString), &s.Fields); err != nil || s.Fields == nil {
		return Secret{}, fmt.Errorf("secret %s does not hold a JSON object (ECS expects {\"username\",\"password\"}); refusing to overwrite it: fix or replace the secret by hand", s.Name)
	}
	return s, nil
}
