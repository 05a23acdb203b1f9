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

func TestStale(t *testing.T) {
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	p := Plan{Secret: Secret{Created: created}, Services: []Service{
		{Name: "before", DeployedAt: created.Add(-time.Minute)},
		{Name: "after", DeployedAt: created.Add(time.Minute)},
		{Name: "unknown"},
	}}
	if got := p.Stale(); len(got) != 1 || got[0].Name != "before" {
		t.Errorf("Stale() = %+v, want only the service deployed before the secret's version", got)
	}
	p.Secret.Created = time.Time{}
	if got := p.Stale(); len(got) != 0 {
		t.Errorf("without the secret's time nothing is known stale; got %+v", got)
	}
}
