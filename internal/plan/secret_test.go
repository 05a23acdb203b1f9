package plan

import (
	"testing"
	"time"
)

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

func TestDeployedBefore(t *testing.T) {
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	p := Plan{Services: []Service{
		{Name: "before", DeployedAt: created.Add(-time.Minute)},
		{Name: "after", DeployedAt: created.Add(time.Minute)},
		{Name: "unknown"},
	}}
	if got := p.DeployedBefore(created); len(got) != 1 || got[0].Name != "before" {
		t.Errorf("DeployedBefore() = %+v, want only the service deployed before the secret's version", got)
	}
	if got := p.DeployedBefore(time.Time{}); len(got) != 0 {
		t.Errorf("without the secret's time nothing is known stale; got %+v", got)
	}
}
