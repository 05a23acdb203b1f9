package awsfake

import "time"

// createMidRollout gives svc an older ACTIVE deployment on
// spec.ActiveTaskDefinition, its tasks RUNNING, and a PRIMARY one on
// svc.taskDef IN_PROGRESS, its tasks PENDING until spec.ActiveFor has
// passed (for ever when 0).
func (w *world) createMidRollout(svc *service, spec Service, now time.Time) {
	old := w.steadyDeployment(svc, w.findTaskDef(spec.ActiveTaskDefinition), "ACTIVE", now)
	if svc.hasRolloutState() {
		svc.event(now, "(service %s) (deployment %s) deployment completed.", svc.name, old.id)
	}
	svc.event(now, "(service %s) has reached a steady state.", svc.name)

	d := &deployment{id: newDeploymentID(), status: "PRIMARY", taskDef: svc.taskDef, desired: svc.desired, created: now, updated: now}
	if svc.hasRolloutState() {
		d.rollout, d.reason = rolloutInProgress, "ECS deployment "+d.id+" in progress."
	}
	svc.deployments = []*deployment{d, old}
	var pending []*task
	for range d.desired {
		t := w.newTask(svc, d, "PENDING", now)
		w.placeTask(t) // where there is no room yet, startTask tries again
		pending = append(pending, t)
		if spec.ActiveFor > 0 {
			w.schedule(now.Add(spec.ActiveFor), func(at time.Time) { w.startTask(t, at) })
		}
	}
	if len(pending) > 0 {
		svc.event(now, "(service %s) has started %d tasks: %s.", svc.name, len(pending), taskList(pending))
	}
}

// createTaskSets gives svc one task set per task definition, the first
// PRIMARY, each at scale 100% with svc.desired tasks RUNNING. An EXTERNAL
// service created without a task definition takes the PRIMARY's.
func (w *world) createTaskSets(svc *service, refs []string, now time.Time) {
	for i, ref := range refs {
		td := w.findTaskDef(ref) // checkService made sure of it
		status := "ACTIVE"
		if i == 0 {
			status = "PRIMARY"
		}
		d := w.steadyDeployment(svc, td, status, now)
		d.taskSet = true
		if svc.controller == "CODE_DEPLOY" {
			d.externalID = "d-" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9)
		}
		svc.deployments = append(svc.deployments, d)
	}
	if svc.taskDef == nil {
		svc.taskDef = svc.deployments[0].taskDef
	}
	svc.event(now, "(service %s) has reached a steady state.", svc.name)
}
