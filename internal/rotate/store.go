package rotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/inputs"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/rollout"
)

// store is where the run puts the new credentials, and where ECS's agents
// read them: a Secrets Manager secret (secretStore), or the
// ECS_ENGINE_AUTH_DATA of ecs.config on a cluster's container instances
// (fleetStore). It is chosen once, by newStore, where the run starts; the
// pipeline around it (plan → verify → lock → apply → deploy → watch →
// rollback → report) exists once, for both.
type store interface {
	// plan reads the store's target and the services that pull with it.
	plan(ctx context.Context) (plan.Plan, error)
	// report is the store's part of the report, filled as the run goes.
	report() report.Stored
	// inPlace reports whether the plan already found the new credentials
	// in the store (a re-run), and then the services still running tasks
	// from before they were written. A store that can only tell by trying
	// answers false, and apply tells.
	inPlace(p plan.Plan) (bool, []plan.Service)
	// locks are what the store changes, to be held for the run besides the
	// clusters; asPlanned checks, under those locks, that the store was not
	// changed since the plan read it.
	locks() []lock.Resource
	asPlanned(ctx context.Context) error
	// apply puts the credentials in place. written is false, without an
	// error, when every part of the store already held them: stale are
	// then the services deployed before they were written.
	apply(ctx context.Context, p plan.Plan) (written bool, stale []plan.Service, err error)
	// step names the apply step in a failure.
	step() string
	// changed reports whether this run replaced credentials in the store.
	changed() bool
	// restore puts back what apply replaced (rollback-on-failure).
	restore(ctx context.Context) error
	// undoByHand says how to undo by hand what the run changed, when a
	// cancelled job has no time left to roll back: deployed are the services
	// the run rolled, rb what a cancelled rollback already did. "" when the
	// store was not changed.
	undoByHand(deployed []rollout.Deployment, rb *report.Rollback) string
}

// newStore is the one place where the mode decides anything.
func newStore(cfg inputs.Config, e env) (store, error) {
	switch cfg.AuthMode {
	case inputs.ModeSecretsManager:
		return newSecretStore(cfg, e), nil
	case inputs.ModeECSConfig:
		return newFleetStore(cfg, e), nil
	}
	return nil, fmt.Errorf("auth-mode %q is not one of %s, %s", cfg.AuthMode, inputs.ModeSecretsManager, inputs.ModeECSConfig)
}

// env is what the stores share with the run: the clients, the reporter,
// the run's id and the lock's deadline (known once the run holds it).
type env struct {
	deps     Deps
	rep      *report.Reporter
	runID    string
	holder   *lock.Holder
	renewing bool // the credentials renew themselves (role-to-assume)
}

// scopeOf is what a store's plan reads of the inputs besides its own part.
func scopeOf(cfg inputs.Config) plan.Scope {
	return plan.Scope{Common: cfg.Common, ForceNewDeployment: cfg.ForceNewDeployment}
}

// failedAt is a store's error that names the resource where it failed.
type failedAt struct {
	resource string
	err      error
}

func (e *failedAt) Error() string { return e.err.Error() }
func (e *failedAt) Unwrap() error { return e.err }

func at(resource string, err error) error { return &failedAt{resource: resource, err: err} }

// failStore records a store's failure at step, with the resource it names.
func (r *runner) failStore(step string, err error) {
	var fa *failedAt
	if errors.As(err, &fa) {
		r.fail(step, fa.resource, fa.err)
		return
	}
	r.fail(step, "", err)
}
