package awsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
)

// Parameter Store: PutParameter, GetParameter, DeleteParameter, for the
// caller (the CI role) and, through InstanceGetParameter, for instances
// reading with their own role.

type parameter struct {
	name, typ, value string
	keyID            string
	tier             ssmtypes.ParameterTier // Standard or Advanced, as assigned
	description      string
	version          int64
	modified         time.Time
	modifiedBy       string // the ARN of who wrote the current version
}

// ssmInput holds the request members the SSM operations read, named as
// the ssm model names them.
type ssmInput struct {
	Name           string
	Value          *string
	Type           string
	Overwrite      *bool
	WithDecryption *bool
	KeyId          string
	Tier           string
	Description    *string

	// Filters: DescribeInstanceInformation's and DescribeParameters'
	// (Key, Values), ListCommands' CommandFilter (key, value).
	Filters []struct {
		Key    string
		Values []string
		Value  *string
	}
	InstanceInformationFilterList []struct {
		Key      string `json:"key"`
		ValueSet []string
	}
	ParameterFilters []struct {
		Key    string
		Option *string
		Values []string
	}
	MaxResults *int32
	NextToken  string

	DocumentName   string
	InstanceIds    []string
	Targets        []json.RawMessage
	Parameters     map[string][]string
	MaxConcurrency string
	MaxErrors      string
	TimeoutSeconds *int32
	Comment        string
	CommandId      string
	InstanceId     string
	Details        bool
	PluginName     string
}

func decodeSSM(body []byte) (*ssmInput, error) {
	var in ssmInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	return &in, nil
}

// validation words a constraint failure as AWS's model validation does.
func validation(value any, member, constraint string) error {
	return errorf("ValidationException", "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func (s *Server) parameterArn(name string) string {
	return "arn:aws:ssm:" + s.opts.Region + ":" + s.opts.AccountID + ":parameter/" + strings.TrimPrefix(name, "/")
}

var parameterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func ssmPutParameter(s *Server, body []byte, now time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return nil, validation(in.Name, "name", "Member must have length greater than or equal to 1")
	case !parameterNameRE.MatchString(name):
		return nil, errorf("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). "+
			"If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return nil, errorf("ValidationException", "Parameter name must be a fully qualified name.")
	}
	if in.Value == nil {
		return nil, validation("null", "value", "Member must not be null")
	}
	if *in.Value == "" {
		return nil, validation("", "value", "Member must have length greater than or equal to 1")
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 1024 {
		return nil, validation(*in.Description, "description", "Member must have length less than or equal to 1024")
	}
	if in.Type != "" && in.Type != "String" && in.Type != "StringList" && in.Type != "SecureString" {
		return nil, validation(in.Type, "type", "Member must satisfy enum value set: [SecureString, StringList, String]")
	}
	switch ssmtypes.ParameterTier(in.Tier) {
	case "", ssmtypes.ParameterTierStandard, ssmtypes.ParameterTierAdvanced, ssmtypes.ParameterTierIntelligentTiering:
	default:
		return nil, validation(in.Tier, "tier", "Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]")
	}
	p := s.ssm.params[name]
	switch {
	case p != nil && !aws.ToBool(in.Overwrite):
		return nil, errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	case p == nil && in.Type == "":
		return nil, errorf("ValidationException", "A parameter type is required when you create a parameter.")
	}
	tier, err := parameterTier(ssmtypes.ParameterTier(in.Tier), p, len(*in.Value))
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = &parameter{name: name}
		s.ssm.params[name] = p
	}
	if in.Type != "" {
		p.typ = in.Type
	}
	if p.typ == "SecureString" {
		p.keyID = orDefault(in.KeyId, "alias/aws/ssm")
	}
	if in.Description != nil {
		p.description = *in.Description
	}
	p.value, p.modified, p.tier, p.modifiedBy = *in.Value, now, tier, s.callerArn()
	p.version++
	return &ssm.PutParameterOutput{Version: p.version, Tier: tier}, nil
}

// parameterTier is the tier PutParameter gives the parameter, or its
// refusal (PutParameterInput.Tier, SDK docs; the tiers in the Systems
// Manager User Guide, "Managing parameter tiers"): Standard holds at most
// 4096 bytes, Advanced 8192; an Advanced parameter cannot go back to
// Standard; Intelligent-Tiering picks Advanced only when the value needs
// it (parameter policies, its other reason, are not modelled); no tier
// keeps the parameter's tier, else the default tier, Standard. The
// Standard message is AWS's own (quoted in error reports); AWS documents
// neither, and the Advanced one is as users report it.
func parameterTier(asked ssmtypes.ParameterTier, p *parameter, size int) (ssmtypes.ParameterTier, error) {
	current := ssmtypes.ParameterTierStandard
	if p != nil {
		current = p.tier
	}
	tier := asked
	switch asked {
	case "":
		tier = current
	case ssmtypes.ParameterTierIntelligentTiering:
		tier = ssmtypes.ParameterTierStandard
		if size > 4096 || current == ssmtypes.ParameterTierAdvanced {
			tier = ssmtypes.ParameterTierAdvanced
		}
	case ssmtypes.ParameterTierStandard:
		if current == ssmtypes.ParameterTierAdvanced {
			return "", errorf("ValidationException", "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier "+
				"to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
		}
	}
	switch {
	case tier == ssmtypes.ParameterTierStandard && size > 4096:
		return "", errorf("ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters. "+
			"To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. "+
			"For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html")
	case size > 8192:
		return "", errorf("ValidationException", "The specified parameter value is too large. Advanced-tier parameters support a maximum parameter value of 8192 characters.")
	}
	return tier, nil
}

// findParameter resolves a name, an ARN or "name:version".
func (s *Server) findParameter(ref string) (*parameter, bool) {
	if i := strings.Index(ref, ":parameter"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":parameter"):]
		if !strings.HasPrefix(strings.TrimPrefix(ref, "/"), "/") && s.ssm.params[ref] == nil {
			ref = strings.TrimPrefix(ref, "/")
		}
	}
	name, version, hasVersion := strings.Cut(ref, ":")
	p := s.ssm.params[name]
	if p == nil {
		return nil, false
	}
	if hasVersion {
		if n, err := strconv.ParseInt(version, 10, 64); err != nil || n != p.version {
			return nil, false // the fake keeps only the latest version
		}
	}
	return p, true
}

func (s *Server) parameterView(p *parameter, decrypt bool) *ssmtypes.Parameter {
	value := p.value
	if p.typ == "SecureString" && !decrypt {
		// What KMS ciphertext looks like; nothing of the value shows.
		sum := sha256.Sum256([]byte("awsfake-kms\x00" + p.name + "\x00" + p.value))
		value = "AQICAHh" + base64.StdEncoding.EncodeToString(sum[:])
	}
	return &ssmtypes.Parameter{
		Name:             aws.String(p.name),
		Type:             ssmtypes.ParameterType(p.typ),
		Value:            aws.String(value),
		Version:          p.version,
		LastModifiedDate: aws.Time(p.modified),
		ARN:              aws.String(s.parameterArn(p.name)),
		DataType:         aws.String("text"),
	}
}

// getParameter is GetParameter for an identity that may read parameters.
// ParameterNotFound comes with an empty message, as SSM sends it.
func (s *Server) getParameter(ref string, decrypt bool) (*ssm.GetParameterOutput, error) {
	p, ok := s.findParameter(ref)
	if !ok {
		return nil, errorf("ParameterNotFound", "")
	}
	return &ssm.GetParameterOutput{Parameter: s.parameterView(p, decrypt)}, nil
}

func ssmGetParameter(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	return s.getParameter(in.Name, aws.ToBool(in.WithDecryption))
}

func ssmDeleteParameter(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	if s.ssm.params[in.Name] == nil {
		return nil, errorf("ParameterNotFound", "")
	}
	delete(s.ssm.params, in.Name)
	return &ssm.DeleteParameterOutput{}, nil
}

// ParameterValue is a parameter's current (decrypted) value; ok is false
// when it does not exist, e.g. once deleted.
func (s *Server) ParameterValue(name string) (value string, ok bool) {
	s.lock()
	defer s.unlock()
	p := s.ssm.params[name]
	if p == nil {
		return "", false
	}
	return p.value, true
}

// ParameterNames lists the parameters that exist now.
func (s *Server) ParameterNames() []string {
	s.lock()
	defer s.unlock()
	var out []string
	for n := range s.ssm.params {
		out = append(out, n)
	}
	return out
}

// ---- The seam for the instances' own side (instance.go) ----

// InstanceSide serves what an instance calls itself: IMDSv2 under
// /imds/<instance-id>/ (the AWS_EC2_METADATA_SERVICE_ENDPOINT each
// invocation gets), and SSM requests signed with credentials that IMDS
// handed out. Start mounts instance.go's InstanceEndpoints
// (instances_wiring.go); MountInstanceSide replaces it.
type InstanceSide interface {
	http.Handler
	// Handles tells, from the path and headers only, whether r is for
	// this side rather than for the fake's own APIs.
	Handles(r *http.Request) bool
}

// MountInstanceSide routes the requests h.Handles to h. They reach h
// unchanged (path, headers, body); SSM ones are recorded in Calls like any
// other, IMDS ones are not.
func (s *Server) MountInstanceSide(h InstanceSide) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instanceSide = h
}

// IMDSEndpoint is the instance's IMDS base URL, without a trailing slash.
// Tools that append IMDS paths to it (curl in a script) work; the Go SDK's
// IMDS client replaces the URL path, so it needs a transport that adds
// the prefix back.
func (s *Server) IMDSEndpoint(instanceID string) string {
	return s.url + "/imds/" + instanceID
}

// ssmResource names the ARN an IAM denial of an SSM call names.
func (s *Server) ssmResource(op string, str func(string) string) string {
	switch {
	case strings.HasSuffix(op, "Parameter"):
		if n := str("Name"); n != "" {
			if strings.HasPrefix(n, "arn:") {
				return n
			}
			return s.parameterArn(n)
		}
	case op == "SendCommand":
		return "arn:aws:ssm:" + s.opts.Region + "::document/" + orDefault(str("DocumentName"), "AWS-RunShellScript")
	}
	return "*"
}
