package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/secret"
)

// secretStore keeps the credentials in a Secrets Manager secret that task
// definitions name in repositoryCredentials.
type secretStore struct {
	env
	scope    plan.Scope
	secretID string
	creds    inputs.Credentials
	secret   plan.Secret // as the plan read it
	out      *report.SecretStored
}

func newSecretStore(cfg inputs.Config, e env) *secretStore {
	return &secretStore{env: e, scope: scopeOf(cfg), secretID: cfg.SecretID, creds: cfg.Credentials,
		out: &report.SecretStored{Registry: cfg.Registry}}
}

func (s *secretStore) plan(ctx context.Context) (plan.Plan, error) {
	p, secret, err := plan.ForSecret(ctx, s.scope, s.secretID, s.deps.ECS, s.deps.Secrets)
	s.secret, s.out.Planned = secret, secret
	return p, err
}

func (s *secretStore) report() report.Stored { return s.out }

func (s *secretStore) step() string { return report.StepSecret }

// inPlace: the secret's value tells, and its version's creation time says
// which services deployed before it.
func (s *secretStore) inPlace(p plan.Plan) (bool, []plan.Service) {
	if !secret.Current(s.secret, s.creds.Username, s.creds.Password) {
		return false, nil
	}
	s.out.Written = &secret.Outcome{Name: s.secret.Name, ARN: s.secret.ARN, VersionID: s.secret.VersionID, PreviousVersionID: s.secret.VersionID}
	s.rep.Infof("the secret already holds these credentials (version %s): nothing to write", s.secret.VersionID)
	return true, p.DeployedBefore(s.secret.Created)
}

func (s *secretStore) locks() []lock.Resource { return []lock.Resource{lock.Secret(s.secret.ARN)} }

// asPlanned reads the secret's current version again under the lock: a run
// that held it a moment ago may have written it after this run's plan read
// it, and what the plan decided (write, or re-run) would be decided on an
// old value.
func (s *secretStore) asPlanned(ctx context.Context) error {
	name := "secret " + s.secret.Name
	out, err := s.deps.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.secret.ARN)})
	if err != nil {
		return at(name, awserr.Wrap(err, "secretsmanager:GetSecretValue", name))
	}
	if v := aws.ToString(out.VersionId); v != s.secret.VersionID {
		return at(name, fmt.Errorf(
			"secret %s changed after this run read it (version %s, then %s): another run wrote it meanwhile; nothing was changed, and a new run plans on the value it holds now",
			s.secret.Name, s.secret.VersionID, v))
	}
	return nil
}

func (s *secretStore) apply(ctx context.Context, _ plan.Plan) (bool, []plan.Service, error) {
	s.rep.Group("Update secret " + s.secret.Name)
	defer s.rep.EndGroup()
	out, err := secret.Apply(ctx, s.deps.Secrets, s.secret, s.creds.Username, s.creds.Password)
	s.out.Written = &out
	if err != nil {
		return false, nil, at("secret "+s.secret.Name, err)
	}
	s.rep.Infof("wrote version %s (AWSCURRENT; version %s is now AWSPREVIOUS)", out.VersionID, out.PreviousVersionID)
	return true, nil, nil
}

func (s *secretStore) changed() bool { return s.out.Written != nil && s.out.Written.Changed }

// restore moves AWSCURRENT back.
func (s *secretStore) restore(ctx context.Context) error {
	written := *s.out.Written
	s.rep.Group("Roll back: move AWSCURRENT back to version " + written.PreviousVersionID)
	defer s.rep.EndGroup()
	restored, err := secret.Restore(ctx, s.deps.Secrets, written)
	s.out.Restored = &restored
	if err != nil {
		return fmt.Errorf("restore the secret: %w", err)
	}
	s.rep.Infof("secret %s: AWSCURRENT is version %s again", restored.Name, restored.VersionID)
	return nil
}

// undoByHand: the version move, then each service's new deployment. A
// rollback cancelled half-way may already have done part of it: what it
// did is not to be done again.
func (s *secretStore) undoByHand(deployed []rollout.Deployment, rb *report.Rollback) string {
	w := s.out.Written
	if w == nil || !w.Changed {
		return ""
	}
	restored := rb != nil && s.out.Restored != nil && !s.out.Restored.Unknown && s.out.Restored.VersionID == w.PreviousVersionID
	var steps []string
	if !restored {
		steps = append(steps, secret.RestoreCommand(*w))
	}
	for _, d := range deployed {
		if restored && slices.ContainsFunc(rb.Deployments, func(b rollout.Deployment) bool { return b.Service == d.Service && b.Cluster == d.Cluster }) {
			continue // already redeployed on the previous credentials
		}
		steps = append(steps, redeployCommand(d.Target))
	}
	return strings.Join(steps, "; then ")
}
