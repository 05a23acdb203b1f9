package awsfake

import (
	"strings"
	"time"
)

// A task walks PROVISIONING → PENDING (one tick) → pull → RUNNING or
// STOPPED (another tick). ECS replaces a task that failed to start one tick
// later, forever, unless the deployment circuit breaker trips.

const (
	rolloutInProgress = "IN_PROGRESS"
	rolloutCompleted  = "COMPLETED"
	rolloutFailed     = "FAILED"
)

func (w *world) newTask(svc *service, d *deployment, status string, at time.Time) *task {
	id := randomHex(32)
	t := &task{
		id:            id,
		arn:           w.arnPrefix() + "task/" + svc.cluster.name + "/" + id,
		cluster:       svc.cluster,
		svc:           svc,
		dep:           d,
		taskDef:       d.taskDef,
		launchType:    svc.launchType,
		version:       1,
		lastStatus:    status,
		desiredStatus: "RUNNING",
		createdAt:     at,
	}
	for _, c := range d.taskDef.containers {
		t.containers = append(t.containers, &taskContainer{
			arn:        w.arnPrefix() + "container/" + svc.cluster.name + "/" + id + "/" + newUUID(),
			name:       c.Name,
			image:      c.Image,
			lastStatus: "PENDING",
		})
	}
	svc.cluster.tasks = append(svc.cluster.tasks, t)
	return t
}

func taskList(ts []*task) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(task " + t.id + ")"
	}
	return strings.Join(parts, " ")
}

// launch starts n tasks for deployment d.
func (w *world) launch(svc *service, d *deployment, n int32, at time.Time) {
	if n <= 0 {
		return
	}
	var started []*task
	for range n {
		t := w.newTask(svc, d, "PROVISIONING", at)
		w.placeTask(t) // may find no instance yet: startTask tries again
		started = append(started, t)
		w.schedule(at.Add(w.tick), func(at time.Time) { w.toPending(t) })
		w.schedule(at.Add(2*w.tick), func(at time.Time) { w.startTask(t, at) })
	}
	svc.event(at, "(service %s) has started %d tasks: %s.", svc.name, n, taskList(started))
}

func (w *world) toPending(t *task) {
	if t.desiredStatus == "RUNNING" && t.lastStatus == "PROVISIONING" {
		t.lastStatus = "PENDING"
		t.version++
	}
}

func (w *world) startTask(t *task, at time.Time) {
	if t.desiredStatus != "RUNNING" {
		return // stopped while provisioning
	}
	if !w.placeTask(t) {
		w.awaitPlacement(t, at)
		return
	}
	res := w.start(t)
	t.pullStartedAt, t.pullStoppedAt = at, at
	t.version++
	if res.stopReason != "" {
		w.failTask(t, res, at)
		return
	}
	t.lastStatus, t.startedAt = "RUNNING", at
	for _, c := range t.containers {
		c.lastStatus = "RUNNING"
		c.reason = res.containerReasons[c.name]
	}
	svc, d := t.svc, t.dep
	d.failed = 0
	if d.done {
		if running, pending := svc.counts(d); running == d.desired && pending == 0 && svc.primary() == d {
			svc.event(at, "(service %s) has reached a steady state.", svc.name)
		}
		return
	}
	w.maybeComplete(svc, d, at)
}

func (w *world) failTask(t *task, res launchResult, at time.Time) {
	t.lastStatus, t.desiredStatus = "STOPPED", "STOPPED"
	t.stopCode, t.stoppedReason = "TaskFailedToStart", res.stopReason
	t.stoppingAt, t.stoppedAt = at, at
	for _, c := range t.containers {
		c.lastStatus = "STOPPED"
		c.reason = res.containerReasons[c.name]
	}
	svc, d := t.svc, t.dep
	d.failed++
	d.updated = at
	if w.firstFailure.IsZero() {
		w.firstFailure = at
	}
	if w.tripBreaker(svc, d, at) {
		return
	}
	w.schedule(at.Add(w.tick), func(at time.Time) { w.replace(svc, d, at) })
}

// replace tops deployment d back up to its desired count, as long as it is
// still the one ECS is rolling out.
func (w *world) replace(svc *service, d *deployment, at time.Time) {
	if svc.primary() != d || d.rollout == rolloutFailed {
		return
	}
	w.launch(svc, d, d.desired-int32(len(svc.active(d))), at)
}

// tripBreaker applies the deployment circuit breaker: it fails a
// deployment after half its desired count of failed tasks, at least 3 and
// at most 200 (AWS API reference, DeploymentCircuitBreaker).
func (w *world) tripBreaker(svc *service, d *deployment, at time.Time) bool {
	if svc.cb == nil || !svc.cb.Enable || !svc.hasRolloutState() || svc.primary() != d || d.rollout != rolloutInProgress {
		return false
	}
	threshold := min(max((d.desired+1)/2, 3), 200)
	if d.failed < threshold {
		return false
	}
	d.rollout = rolloutFailed
	d.reason = "ECS deployment circuit breaker: tasks failed to start."
	d.updated = at
	svc.event(at, "(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.name, d.id)
	if svc.cb.Rollback {
		w.rollback(svc, d, at)
	}
	return true
}

// rollbackTicks is how long a failed deployment stays listed after the
// circuit breaker rolled back: ECS keeps it, FAILED, while the rollback
// settles, so a watcher polling every few seconds sees its rolloutStateReason.
const rollbackTicks = 10

// rollback makes the previous deployment PRIMARY again; the failed one
// leaves the service rollbackTicks later, after which the service looks stable.
func (w *world) rollback(svc *service, failed *deployment, at time.Time) {
	var prev *deployment
	for _, d := range svc.deployments {
		if d != failed {
			prev = d
			break
		}
	}
	if prev == nil {
		return
	}
	prev.status, prev.desired, prev.updated = "PRIMARY", svc.desired, at
	prev.rollout, prev.reason = rolloutCompleted, "ECS deployment "+prev.id+" completed."
	failed.status = "ACTIVE"
	rest := []*deployment{prev, failed}
	for _, d := range svc.deployments {
		if d != prev && d != failed {
			rest = append(rest, d)
		}
	}
	svc.deployments = rest
	svc.taskDef = prev.taskDef
	w.schedule(at.Add(rollbackTicks*w.tick), func(at time.Time) {
		w.stopTasks(svc, svc.active(failed), prev, at)
		svc.deployments = removeDeployment(svc.deployments, failed)
		if running, _ := svc.counts(prev); running >= prev.desired {
			prev.done = true
			svc.event(at, "(service %s) has reached a steady state.", svc.name)
			return
		}
		prev.done = false
		w.replace(svc, prev, at)
	})
}

func removeDeployment(ds []*deployment, gone *deployment) []*deployment {
	var out []*deployment
	for _, d := range ds {
		if d != gone {
			out = append(out, d)
		}
	}
	return out
}

// maybeComplete schedules the end of a rollout once all of d's desired
// tasks run: a tick later the old tasks stop and d is alone.
func (w *world) maybeComplete(svc *service, d *deployment, at time.Time) {
	if d.done || d.completing || svc.primary() != d || d.rollout == rolloutFailed {
		return
	}
	if running, pending := svc.counts(d); running < d.desired || pending > 0 {
		return
	}
	d.completing = true
	w.schedule(at.Add(w.tick), func(at time.Time) { w.complete(svc, d, at) })
}

func (w *world) complete(svc *service, d *deployment, at time.Time) {
	d.completing = false
	if svc.primary() != d || d.rollout == rolloutFailed || d.done {
		return
	}
	var old []*task
	for _, o := range svc.deployments[1:] {
		old = append(old, svc.active(o)...)
	}
	w.stopTasks(svc, old, d, at)
	svc.deployments = []*deployment{d}
	d.done, d.updated = true, at
	if svc.hasRolloutState() {
		d.rollout, d.reason = rolloutCompleted, "ECS deployment "+d.id+" completed."
		svc.event(at, "(service %s) (deployment %s) deployment completed.", svc.name, d.id)
	}
	svc.event(at, "(service %s) has reached a steady state.", svc.name)
}

// stopTasks stops running tasks on the scheduler's initiative, worded as
// ECS words it when a deployment scales the old tasks in.
func (w *world) stopTasks(svc *service, ts []*task, by *deployment, at time.Time) {
	if len(ts) == 0 {
		return
	}
	for _, t := range ts {
		t.desiredStatus, t.lastStatus = "STOPPED", "STOPPED"
		t.stopCode = "ServiceSchedulerInitiated"
		t.stoppedReason = "Scaling activity initiated by (deployment " + by.id + ")"
		t.stoppingAt, t.stoppedAt = at, at
		t.version++
		for _, c := range t.containers {
			if c.lastStatus == "RUNNING" {
				c.exitCode = new(int32)
			}
			c.lastStatus = "STOPPED"
		}
	}
	svc.event(at, "(service %s) has stopped %d running tasks: %s.", svc.name, len(ts), taskList(ts))
}

// startDeployment is what UpdateService does with a new task definition or
// forceNewDeployment: a new PRIMARY deployment, the old one ACTIVE.
func (w *world) startDeployment(svc *service, td *taskDef, at time.Time) *deployment {
	for _, d := range svc.deployments {
		d.status = "ACTIVE"
		d.completing = false
	}
	d := &deployment{
		id:      newDeploymentID(),
		status:  "PRIMARY",
		taskDef: td,
		desired: svc.desired,
		created: at,
		updated: at,
	}
	if svc.hasRolloutState() {
		d.rollout, d.reason = rolloutInProgress, "ECS deployment "+d.id+" in progress."
	}
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.taskDef = td
	w.launch(svc, d, d.desired, at)
	if d.desired == 0 {
		w.maybeComplete(svc, d, at)
	}
	return d
}

// scale applies a new desired count to the PRIMARY deployment without a
// new deployment: launch the shortfall or stop the newest extra tasks.
func (w *world) scale(svc *service, at time.Time) {
	d := svc.primary()
	if d == nil {
		return
	}
	d.desired, d.updated = svc.desired, at
	active := svc.active(d)
	switch n := int32(len(active)); {
	case n < d.desired:
		w.launch(svc, d, d.desired-n, at)
	case n > d.desired:
		w.stopTasks(svc, active[d.desired:], d, at)
	}
}
