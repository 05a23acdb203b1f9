package rollout

import "github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"

// tracker is what the watch knows about one deployment between polls: the
// counts last seen, the tasks already described (status and kind only, never
// the task itself) and the verdict once there is one.
type tracker struct {
	dep Deployment
	res ServiceResult // State, Reason, RolloutState and events; counts come from seen

	seen      depView
	primary   string // the service's PRIMARY deployment, last seen
	single    bool   // the watched deployment was the service's only one
	gone      string // the service itself disappeared ("MISSING", "INACTIVE")
	vanished  bool   // the watched deployment is no longer listed
	sighted   bool   // the watched deployment was listed at least once
	unsighted int    // polls in a row that did not list it before it was sighted
	mark      eventMark
	lastEvent string // the newest event since the deployment started

	tasks         map[string]taskMemo // by task ARN
	want          lists               // the lists the next look reads: what changed, or what failed to be read
	runningAtLook int32               // seen.running when the running list was last read
	verified      bool                // every task in the running list was described RUNNING, and no count moved since
	finalChecked  bool                // the stopped list was read once ECS called the deployment done
	bad           int                 // tasks that carry a pull or secret error
	firstBad      string              // a sentence about the first of them
	failures      int32               // tasks of any failure kind
	reported      int                 // failed tasks in the report's list
	lastErr       string              // the last call that failed for this service

	notified visible
	informed bool // notified holds something
}

// maxUnsighted is how many polls a deployment that UpdateService returned may
// be missing from DescribeServices before it counts as gone.
const maxUnsighted = 3

// kindForeign marks a listed task that another deployment started.
const kindForeign Kind = "foreign"

// taskMemo is all the watch keeps of a task it described.
type taskMemo struct {
	status string // lastStatus when described
	kind   Kind
}

// visible is the part of a service's state that OnChange reports.
type visible struct {
	desired, running, pending, failed int32
	rollout                           string
	state                             State
}

func newTracker(d Deployment) *tracker {
	return &tracker{
		dep:      d,
		tasks:    map[string]taskMemo{},
		verified: true, // no task yet, nothing to check
		seen:     depView{desired: d.DesiredCount},
		res: ServiceResult{
			Service:      awsname.Short(serviceRef(d.Target)),
			Cluster:      d.Cluster,
			DeploymentID: d.DeploymentID,
			State:        StateInProgress,
		},
	}
}

func (t *tracker) terminal() bool { return t.res.State != StateInProgress }

// observe takes in what DescribeServices said and decides which task lists
// are worth a look; the verdict waits for decide, after the look.
func (t *tracker) observe(v serviceView) {
	t.lastErr = ""
	t.mark = v.news.mark
	if v.news.latest != "" {
		t.lastEvent = v.news.latest
	}
	if len(v.news.troubles) > 0 {
		t.res.RecentEvents = prependEvents(v.news.troubles, t.res.RecentEvents)
		t.want |= stoppedList // a failure ECS reports: find the tasks it is about
	}
	t.primary, t.single, t.gone = v.primaryID, v.deployments == 1, v.gone
	if v.gone != "" {
		return
	}
	if !v.found {
		// ECS is eventually consistent: the first DescribeServices after
		// UpdateService may not list the new deployment yet.
		t.unsighted++
		t.vanished = t.sighted || t.unsighted >= maxUnsighted
		return
	}
	t.sighted = true
	t.want |= listsFor(t.seen, v.dep, v.news.started)
	if t.want&runningList != 0 {
		t.verified = false
	}
	t.seen = v.dep
	t.res.RolloutState, t.res.RolloutStateReason = v.dep.rollout, v.dep.rolloutReason
	t.want |= t.checksOwed()
}

// checksOwed are the lists to read before ECS's "done" can be trusted: the
// stopped list once (a failed launch may have left no trace in the counts),
// and the running list until every task in it was seen RUNNING (ECS calls a
// deployment done whose tasks run on a stale image).
func (t *tracker) checksOwed() lists {
	var l lists
	if !t.doneCandidate() {
		return 0
	}
	if !t.finalChecked {
		l |= stoppedList
	}
	if !t.verified {
		l |= runningList
	}
	return l
}

// listsFor picks the task lists a change calls for: tasks started or
// moving on are in the running list; a failed launch (failedTasks moved, or
// a task started while ECS counts no more tasks than before) or a task gone
// from the counts is in the stopped list. ECS stops counting failedTasks once
// a task of the deployment runs, hence the other signs.
func listsFor(old, now depView, started bool) lists {
	var l lists
	if now.running != old.running || now.pending != old.pending || now.desired != old.desired {
		l |= runningList
	}
	total, before := now.running+now.pending, old.running+old.pending
	if now.failed != old.failed || total < before {
		l |= stoppedList
	}
	if started && total <= before { // a task replaced one that went away
		l |= runningList | stoppedList
	}
	return l
}

// record takes in a task described in this poll.
func (t *tracker) record(n taskNote) {
	prev, known := t.tasks[n.arn]
	t.tasks[n.arn] = taskMemo{status: n.status, kind: n.kind}
	if n.kind.isBad() && !(known && prev.kind.isBad()) {
		t.bad++
		if t.firstBad == "" {
			t.firstBad = n.sentence
		}
	}
	if n.kind.isFailure() && !(known && prev.kind.isFailure()) {
		t.failures++
	}
}

// doneCandidate is ECS's side of "done": COMPLETED, or, without rollout
// state, the only deployment with all its tasks running.
func (t *tracker) doneCandidate() bool {
	if t.seen.rollout != "" {
		return t.seen.rollout == "COMPLETED"
	}
	return t.single && !t.vanished && t.seen.running == t.seen.desired && t.seen.pending == 0
}
