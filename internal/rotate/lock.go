package rotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/lock"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/report"
)

// lockMargin is added to the longest a run can take before its lock counts
// as left by a run that was killed.
const lockMargin = 10 * time.Minute

// lockDeadline is when a run that started at start has certainly ended: the
// apply, the watch, the rollback's restore and its watch are each bounded by
// timeout.
func lockDeadline(start time.Time, timeout time.Duration) time.Time {
	return start.Add(4*timeout + lockMargin)
}

// lockedResources are what the run changes: every cluster whose services
// it rolls, and what the store changes besides (the secret, or the clusters
// whose instances it rewrites). lock.Acquire takes each once.
func lockedResources(p plan.Plan, st store) []lock.Resource {
	var res []lock.Resource
	for _, s := range p.Services {
		res = append(res, lock.Cluster(s.ClusterARN))
	}
	return append(res, st.locks()...)
}

// lock takes the run's locks before its first command or write; false (the
// run failed, nothing changed) when another run holds one.
func (r *runner) lock(ctx context.Context, p plan.Plan) bool {
	start := r.deps.Now()
	r.lockHolder = lock.Holder{RunID: r.runID, Started: start, Deadline: lockDeadline(start, r.cfg.Timeout), URL: r.deps.RunURL}
	set, err := lock.Acquire(ctx, r.deps.SSM, lockedResources(p, r.store), lock.Options{
		Holder: r.lockHolder,
		Now:    r.deps.Now,
		Warn:   func(s string) { r.rep.Warningf("%s", s) },
	})
	if err != nil {
		var held *lock.HeldError
		if errors.As(err, &held) {
			err = fmt.Errorf("%w; nothing was changed", err)
		}
		r.fail(report.StepLock, "", err)
		return false
	}
	r.locks = set
	if err := r.store.asPlanned(ctx); err != nil {
		r.failStore(report.StepLock, err)
		return false
	}
	return true
}

// unlock releases the run's locks on every path; a lock it could not
// release blocks other runs until its deadline, which the warning says.
func (r *runner) unlock(ctx context.Context) {
	if err := r.locks.Release(ctx); err != nil {
		r.rep.Warningf("%s", awserr.ExplainExpired(err, r.cfg.RoleToAssume != ""))
	}
}
