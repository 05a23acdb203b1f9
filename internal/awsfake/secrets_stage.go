package awsfake

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smithy "github.com/aws/smithy-go"
)

// smUpdateSecretVersionStage moves a staging label as Secrets Manager does:
// a label attached elsewhere moves only when RemoveFromVersionId names the
// version that holds it, and moving AWSCURRENT makes the version it leaves
// AWSPREVIOUS (API reference, UpdateSecretVersionStage).
func smUpdateSecretVersionStage(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	var in struct {
		SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	sec := s.secrets.find(in.SecretId)
	if sec == nil {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	if in.VersionStage == "" {
		return nil, errorf("InvalidParameterException", "You must provide a VersionStage.")
	}
	holder := sec.byStage(in.VersionStage)
	if in.MoveToVersionId == "" {
		return nil, errorf("InvalidParameterException", "Removing the staging label %s is not supported by this fake.", in.VersionStage)
	}
	target := sec.byID(in.MoveToVersionId)
	if target == nil {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret version: %s", in.MoveToVersionId)
	}
	if holder != nil && holder != target && holder.id != in.RemoveFromVersionId {
		return nil, errorf("InvalidParameterException",
			"The parameter RemoveFromVersionId must be specified and match the version that %s is attached to.", in.VersionStage)
	}
	sec.moveStage(in.VersionStage, target)
	sec.changed = now
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(sec.arn), Name: aws.String(sec.name)}, nil
}
