package awsfake

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	smithy "github.com/aws/smithy-go"
)

var secretsOps = map[string]jsonHandler{
	"GetSecretValue":       smGetSecretValue,
	"PutSecretValue":       smPutSecretValue,
	"UpdateSecret":         smUpdateSecret,
	"DescribeSecret":       smDescribeSecret,
	"ListSecretVersionIds": smListSecretVersionIds,
	// UpdateSecretVersionStage is in secrets_stage.go.
	"UpdateSecretVersionStage": smUpdateSecretVersionStage,
}

// Request members, named as the secretsmanager model names them.
type smInput struct {
	SecretId           string
	VersionId          string
	VersionStage       string
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
	MaxResults         *int32
	NextToken          string
	IncludeDeprecated  bool
}

func (s *Server) smSecret(body []byte) (*smInput, *secret, error) {
	var in smInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, nil, errorf("SerializationException", "%v", err)
	}
	sec := s.secrets.find(in.SecretId)
	if sec == nil {
		return nil, nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	return &in, sec, nil
}

func smGetSecretValue(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, sec, err := s.smSecret(body)
	if err != nil {
		return nil, err
	}
	var v *secretVersion
	switch {
	case in.VersionId != "":
		v = sec.byID(in.VersionId)
		if v == nil || (in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage)) {
			return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", in.VersionId)
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = stageCurrent
		}
		if v = sec.byStage(stage); v == nil {
			return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	return &secretsmanager.GetSecretValueOutput{
		ARN:           aws.String(sec.arn),
		Name:          aws.String(sec.name),
		VersionId:     aws.String(v.id),
		SecretString:  aws.String(v.value),
		VersionStages: slices.Clone(v.stages),
		CreatedDate:   aws.Time(v.created),
	}, nil
}

func smPutSecretValue(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, sec, err := s.smSecret(body)
	if err != nil {
		return nil, err
	}
	if err := stringOnly(in); err != nil {
		return nil, err
	}
	v, err := sec.put(in.ClientRequestToken, *in.SecretString, in.VersionStages, now)
	if err != nil {
		return nil, err
	}
	return &secretsmanager.PutSecretValueOutput{
		ARN:           aws.String(sec.arn),
		Name:          aws.String(sec.name),
		VersionId:     aws.String(v.id),
		VersionStages: slices.Clone(v.stages),
	}, nil
}

// smUpdateSecret handles the value part of UpdateSecret; metadata such as
// the description is accepted and ignored.
func smUpdateSecret(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, sec, err := s.smSecret(body)
	if err != nil {
		return nil, err
	}
	out := &secretsmanager.UpdateSecretOutput{ARN: aws.String(sec.arn), Name: aws.String(sec.name)}
	if in.SecretString == nil && in.SecretBinary == nil {
		return out, nil
	}
	if err := stringOnly(in); err != nil {
		return nil, err
	}
	v, err := sec.put(in.ClientRequestToken, *in.SecretString, nil, now)
	if err != nil {
		return nil, err
	}
	out.VersionId = aws.String(v.id)
	return out, nil
}

// stringOnly states the fake's limit plainly: registry credentials are
// JSON text, so binary secrets are not modelled.
func stringOnly(in *smInput) error {
	if in.SecretBinary != nil {
		return errorf("InvalidRequestException", "awsfake does not model SecretBinary; use SecretString")
	}
	if in.SecretString == nil {
		return errorf("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
	}
	return nil
}

func smDescribeSecret(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	_, sec, err := s.smSecret(body)
	if err != nil {
		return nil, err
	}
	stages := map[string][]string{}
	for _, v := range sec.versions {
		if len(v.stages) > 0 {
			stages[v.id] = slices.Clone(v.stages)
		}
	}
	return &secretsmanager.DescribeSecretOutput{
		ARN:                aws.String(sec.arn),
		Name:               aws.String(sec.name),
		CreatedDate:        aws.Time(sec.created),
		LastChangedDate:    aws.Time(sec.changed),
		VersionIdsToStages: stages,
	}, nil
}

// smListSecretVersionIds leaves out versions without a staging label
// (AWS calls them deprecated) unless asked for them.
func smListSecretVersionIds(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, sec, err := s.smSecret(body)
	if err != nil {
		return nil, err
	}
	var all []smtypes.SecretVersionsListEntry
	for _, v := range slices.Backward(sec.versions) {
		if len(v.stages) == 0 && !in.IncludeDeprecated {
			continue
		}
		all = append(all, smtypes.SecretVersionsListEntry{
			VersionId:     aws.String(v.id),
			VersionStages: slices.Clone(v.stages),
			CreatedDate:   aws.Time(v.created),
		})
	}
	page, next, err := paginate(all, in.MaxResults, in.NextToken, 100, 100, "InvalidNextTokenException")
	if err != nil {
		return nil, err
	}
	return &secretsmanager.ListSecretVersionIdsOutput{
		ARN:       aws.String(sec.arn),
		Name:      aws.String(sec.name),
		Versions:  page,
		NextToken: next,
	}, nil
}

// paginate slices one page out of items. Tokens are opaque to clients;
// here they are the offset of the next page.
func paginate[T any](items []T, maxResults *int32, token string, def, limit int, badToken string) ([]T, *string, error) {
	size := def
	if maxResults != nil {
		size = int(*maxResults)
		if size < 1 || size > limit {
			return nil, nil, errorf("InvalidParameterException", "maxResults must be between 1 and %d", limit)
		}
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, errorf(badToken, "The next token is invalid.")
		}
		start = n
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next, nil
}
