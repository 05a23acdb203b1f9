package awsfake

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithy "github.com/aws/smithy-go"
)

// DescribeParameters lists parameters' metadata, never their values.
//
// ParameterFilters as the SDK documents ParameterStringFilter: keys Name
// (options Equals, the default, BeginsWith and Contains), Path (OneLevel,
// the default, and Recursive), Type, KeyId, Tier, DataType (Equals,
// BeginsWith) and tag:<key>; Label is not valid here. Filters (deprecated)
// takes Name (a prefix), Type and KeyId; not both in one request. Pages of
// 10 by default, MaxResults 1–50 (API reference), ordered by name.
//
// AWS documents neither the errors' wording nor how a name without a
// leading slash sits in the hierarchy; both follow moto
// (getmoto/moto moto/ssm/models.py at 0af643a5, _validate_parameter_filters
// and _match_filters): "foo" is at path "/", and Name values compare with a
// leading slash added. Where moto answers InvalidFilterOption for a Type or
// Tier value, the fake answers InvalidFilterValue, which DescribeParameters
// lists among its errors for a value that is not valid.

var (
	parameterFilterKeyRE = regexp.MustCompile(`^(tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType)$`)
	parameterPathRE      = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]*$`)
)

type parameterFilter struct {
	key, option string
	values      []string
}

func ssmDescribeParameters(s *Server, body []byte, _ time.Time) (smithy.Serializable, error) {
	in, err := decodeSSM(body)
	if err != nil {
		return nil, err
	}
	if err := ssmMaxResults(in); err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, errorf("ValidationException", "You can use either Filters or ParameterFilters in a single request.")
	}
	var filters []parameterFilter
	for i, f := range in.Filters {
		switch f.Key {
		case "Name":
			filters = append(filters, parameterFilter{key: "Name", option: "BeginsWith", values: f.Values})
		case "Type", "KeyId":
			filters = append(filters, parameterFilter{key: f.Key, option: "Equals", values: f.Values})
		default:
			return nil, validation(f.Key, fmt.Sprintf("filters.%d.member.key", i+1), "Member must satisfy enum value set: [Name, Type, KeyId]")
		}
	}
	pf, err := parameterFilters(in)
	if err != nil {
		return nil, err
	}
	filters = append(filters, pf...)

	names := make([]string, 0, len(s.ssm.params))
	for n := range s.ssm.params {
		names = append(names, n)
	}
	slices.Sort(names)
	all := []ssmtypes.ParameterMetadata{}
	for _, n := range names {
		p := s.ssm.params[n]
		if !slices.ContainsFunc(filters, func(f parameterFilter) bool { return !f.matches(p) }) {
			all = append(all, s.parameterMetadata(p))
		}
	}
	page, next, err := paginate(all, in.MaxResults, in.NextToken, 10, 50, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return &ssm.DescribeParametersOutput{Parameters: page, NextToken: next}, nil
}

func (s *Server) parameterMetadata(p *parameter) ssmtypes.ParameterMetadata {
	m := ssmtypes.ParameterMetadata{
		Name:             aws.String(p.name),
		ARN:              aws.String(s.parameterArn(p.name)),
		Type:             ssmtypes.ParameterType(p.typ),
		Tier:             p.tier,
		Version:          p.version,
		LastModifiedDate: aws.Time(p.modified),
		LastModifiedUser: aws.String(p.modifiedBy),
		DataType:         aws.String("text"),
		Policies:         []ssmtypes.ParameterInlinePolicy{},
	}
	if p.description != "" {
		m.Description = aws.String(p.description)
	}
	if p.keyID != "" {
		m.KeyId = aws.String(p.keyID)
	}
	return m
}

// parameterFilters checks ParameterFilters as moto does: first the model's
// constraints (all of them reported at once), then each filter's sense.
func parameterFilters(in *ssmInput) ([]parameterFilter, error) {
	var problems []string
	problem := func(value any, member, constraint string) {
		problems = append(problems, fmt.Sprintf("Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint))
	}
	for i, f := range in.ParameterFilters {
		at := fmt.Sprintf("parameterFilters.%d.member.", i+1)
		if !parameterFilterKeyRE.MatchString(f.Key) {
			problem(f.Key, at+"key", "Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType")
		}
		if len(f.Key) > 132 {
			problem(f.Key, at+"key", "Member must have length less than or equal to 132")
		}
		if f.Option != nil && (len(*f.Option) < 1 || len(*f.Option) > 10) {
			problem(*f.Option, at+"option", "Member must have length less than or equal to 10")
		}
		if len(f.Values) > 50 {
			problem(f.Values, at+"values", "Member must have length less than or equal to 50")
		}
		if slices.ContainsFunc(f.Values, func(v string) bool { return len(v) < 1 || len(v) > 1024 }) {
			problem(f.Values, at+"values", "[Member must have length less than or equal to 1024, Member must have length greater than or equal to 1]")
		}
	}
	if n := len(problems); n > 0 {
		plural := ""
		if n > 1 {
			plural = "s"
		}
		return nil, errorf("ValidationException", "%d validation error%s detected: %s", n, plural, strings.Join(problems, "; "))
	}

	var out []parameterFilter
	seen := map[string]bool{}
	for _, f := range in.ParameterFilters {
		pf := parameterFilter{key: f.Key, option: aws.ToString(f.Option), values: f.Values}
		if pf.option == "" {
			pf.option = "Equals"
			if f.Key == "Path" {
				pf.option = "OneLevel"
			}
		}
		if f.Key == "Label" {
			return nil, errorf("InvalidFilterKey", "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier].")
		}
		if !strings.HasPrefix(f.Key, "tag:") && len(f.Values) == 0 {
			return nil, errorf("InvalidFilterValue", "The following filter values are missing : null for filter key %s.", f.Key)
		}
		if seen[f.Key] {
			return nil, errorf("InvalidFilterKey", "The following filter is duplicated in the request: %s. A request can contain only one occurrence of a specific filter.", f.Key)
		}
		seen[f.Key] = true
		switch f.Key {
		case "Path":
			if pf.option != "OneLevel" && pf.option != "Recursive" {
				return nil, errorf("InvalidFilterOption", "The following filter option is not valid: %s. Valid options include: [Recursive, OneLevel].", pf.option)
			}
			for _, v := range f.Values {
				if l := strings.ToLower(v); strings.HasPrefix(l, "/aws") || strings.HasPrefix(l, "/ssm") {
					return nil, errorf("ValidationException", `Filters for common parameters can't be prefixed with "aws" or "ssm" (case-insensitive). `+
						"When using global parameters, please specify within a global namespace.")
				}
				if strings.Contains(v, "//") || !strings.HasPrefix(v, "/") || !parameterPathRE.MatchString(v) {
					return nil, errorf("ValidationException", `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". `+
						`It can't be prefixed with "aws" or "ssm" (case-insensitive). `+
						"It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). "+
						`Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". `+
						"Valid example: /get/parameters2-/by1./path0_.")
				}
			}
			out = append(out, pf)
			continue
		case "Tier", "Type":
			valid := []string{"Standard", "Advanced", "Intelligent-Tiering"}
			if f.Key == "Type" {
				valid = []string{"String", "StringList", "SecureString"}
			}
			for _, v := range f.Values {
				if !slices.Contains(valid, v) {
					return nil, errorf("InvalidFilterValue", "The following filter value is not valid: %s. Valid values include: [%s].", v, strings.Join(valid, ", "))
				}
			}
		}
		if !(pf.option == "Equals" || pf.option == "BeginsWith" || (f.Key == "Name" && pf.option == "Contains")) {
			return nil, errorf("InvalidFilterOption", "The following filter option is not valid: %s. Valid options include: [BeginsWith, Equals].", pf.option)
		}
		out = append(out, pf)
	}
	return out, nil
}

// matches tells whether p passes the filter.
func (f parameterFilter) matches(p *parameter) bool {
	slash := func(n string) string { return "/" + strings.TrimLeft(n, "/") }
	var what string
	values := f.values
	switch {
	case f.key == "Name":
		what = slash(p.name)
		if f.option != "Contains" {
			values = make([]string, len(f.values))
			for i, v := range f.values {
				values[i] = slash(v)
			}
		}
	case f.key == "Path":
		what = slash(p.name)
		depth := strings.Count(what, "/")
		for _, v := range f.values {
			v = "/" + strings.Trim(v, "/")
			if v == "/" {
				if f.option == "Recursive" || depth == 1 {
					return true
				}
				continue
			}
			if strings.HasPrefix(what, v+"/") && (f.option == "Recursive" || depth == strings.Count(v, "/")+1) {
				return true
			}
		}
		return false
	case f.key == "Type":
		what = p.typ
	case f.key == "KeyId":
		what = p.keyID
	case f.key == "Tier":
		what = string(p.tier)
	case f.key == "DataType":
		what = "text"
	default: // tag:<key>: the fake keeps no tags
		return false
	}
	if what == "" {
		return false
	}
	return slices.ContainsFunc(values, func(v string) bool {
		switch f.option {
		case "BeginsWith":
			return strings.HasPrefix(what, v)
		case "Contains":
			return strings.Contains(what, v)
		}
		return what == v
	})
}
