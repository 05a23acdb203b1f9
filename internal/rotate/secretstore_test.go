package rotate

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
)

// Under the lock, the secret is read again: a version written after the
// plan read it (another run, or a person, in between) stops the run before
// it writes, naming the secret and both versions; the planned version
// still current passes.
func TestSecretChangedSinceThePlanStopsTheRun(t *testing.T) {
	srv, cfg := fakeAWS(t)
	sm := secretsmanager.NewFromConfig(cfg)
	arn := srv.CreateSecret("prod/registry", `{"username":"u","password":"old-Pa55word"}`)
	planned := srv.SecretVersions(arn)[0].VersionID
	s := &secretStore{env: env{deps: Deps{Secrets: sm}}, secret: plan.Secret{ARN: arn, Name: "prod/registry", VersionID: planned}}
	ctx := context.Background()
	if err := s.asPlanned(ctx); err != nil {
		t.Fatalf("the planned version is current, yet: %v", err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(`{"username":"u","password":"by-another-run"}`)}); err != nil {
		t.Fatal(err)
	}
	now := srv.SecretVersions(arn)[1].VersionID
	err := s.asPlanned(ctx)
	if err == nil {
		t.Fatal("a secret written after the plan passed")
	}
	for _, want := range []string{"secret prod/registry changed after this run read it", planned, now, "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
