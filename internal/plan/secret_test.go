package plan

import "testing"

func TestSecretMatches(t *testing.T) {
	s := Secret{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/registry-AbCdEf", Name: "prod/registry"}
	for ref, want := range map[string]bool{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/registry-AbCdEf": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/registry":        true,
		"prod/registry":        true,
		"":                     false,
		"prod/registry-AbCdEf": false,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/other-AbCdEf": false,
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/registry":     false,
	} {
		if got := s.Matches(ref); got != want {
			t.Errorf("Matches(%q) = %v, want %v", ref, got, want)
		}
	}
}
