package awsfake

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smithy "github.com/aws/smithy-go"
)

// smUpdateSecretVersionStage moves a staging label as Secrets Manager does:
// a label attached to another version moves only when RemoveFromVersionId
// names the version that holds it ("If the label is attached and you either
// do not specify this parameter, or the version ID does not match, then the
// operation fails": API reference, UpdateSecretVersionStage), and moving
// AWSCURRENT makes the version it leaves AWSPREVIOUS.
//
// AWS does not document the wording of those refusals. They follow moto's
// update_secret_version_stage (getmoto/moto moto/secretsmanager/models.py,
// at 0af643a5): a RemoveFromVersionId that is no version is "Not a valid
// version: <id>"; one that does not hold the label is "Version stage
// <label> not found in version <id>" — which is how a repeated move (a
// retry after a lost answer) is refused, since its RemoveFromVersionId no
// longer holds AWSCURRENT; no RemoveFromVersionId while AWSCURRENT is on
// another version is "The parameter RemoveFromVersionId can't be empty.
// Staging label AWSCURRENT is currently attached to version <id>, so you
// must explicitly reference that version in RemoveFromVersionId." (the
// same words terraform-provider-aws #19943 quotes from AWS). All are
// InvalidParameterException.
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
	if in.MoveToVersionId == "" {
		return nil, errorf("InvalidParameterException", "Removing the staging label %s is not supported by this fake.", in.VersionStage)
	}
	holder := sec.byStage(in.VersionStage)
	if in.RemoveFromVersionId != "" {
		from := sec.byID(in.RemoveFromVersionId)
		if from == nil {
			return nil, errorf("InvalidParameterException", "Not a valid version: %s", in.RemoveFromVersionId)
		}
		if from != holder {
			return nil, errorf("InvalidParameterException", "Version stage %s not found in version %s", in.VersionStage, in.RemoveFromVersionId)
		}
	}
	target := sec.byID(in.MoveToVersionId)
	if target == nil {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret version: %s", in.MoveToVersionId)
	}
	if holder != nil && holder != target && in.RemoveFromVersionId == "" {
		return nil, errorf("InvalidParameterException",
			"The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, "+
				"so you must explicitly reference that version in RemoveFromVersionId.", in.VersionStage, holder.id)
	}
	sec.moveStage(in.VersionStage, target)
	sec.changed = now
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(sec.arn), Name: aws.String(sec.name)}, nil
}
