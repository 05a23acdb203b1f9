package rollout

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
)

// lists says which of a deployment's task lists a look reads.
type lists uint8

const (
	runningList lists = 1 << iota // ListTasks desiredStatus RUNNING: tasks starting or running
	stoppedList                   // ListTasks desiredStatus STOPPED: tasks stopping or stopped
)

// listing is one ListTasks question: the tasks a deployment started that ECS
// wants RUNNING, or those it wants STOPPED (startedBy may be combined with
// desiredStatus only).
type listing struct {
	t    *tracker
	list lists
	arns []string
	err  error
}

// wantedTask is a task to describe in this poll, and whose it is.
type wantedTask struct {
	arn string
	t   *tracker
}

// lookAtTasks reads the task lists the changes of this poll call for and
// describes, in batches shared by all services, the tasks not yet seen in
// their state.
func (w *watcher) lookAtTasks(ctx context.Context, active []*tracker) error {
	var ls []*listing
	for _, t := range active {
		for _, l := range []lists{runningList, stoppedList} {
			if t.want&l != 0 {
				ls = append(ls, &listing{t: t, list: l})
			}
		}
	}
	if len(ls) == 0 {
		return nil
	}
	if err := forEach(ctx, len(ls), func(i int) { ls[i].arns, ls[i].err = listTasks(ctx, w.api, ls[i].t.dep, ls[i].list) }); err != nil {
		return err // a listing that did not run would read as empty
	}
	read, err := readListings(ls)
	if err != nil {
		return err
	}
	var wanted []wantedTask
	for _, r := range read {
		for _, arn := range r.t.toDescribe(r.running, r.stopped) {
			wanted = append(wanted, wantedTask{arn: arn, t: r.t})
		}
	}
	unsure, err := w.describeTasks(ctx, wanted)
	if err != nil {
		return err
	}
	for _, r := range read {
		if !unsure[r.t] {
			r.t.afterLook(r.lists, r.running)
		}
	}
	return nil
}

// readLists is what the listings of one tracker found.
type readLists struct {
	t                *tracker
	lists            lists
	running, stopped []string
}

// readListings sorts the listings out by tracker, leaving out a tracker whose
// listing failed: it keeps wanting a look next poll. Only an access denial or
// expired credentials are an error.
func readListings(ls []*listing) ([]*readLists, error) {
	var out []*readLists
	byTracker := map[*tracker]*readLists{}
	broken := map[*tracker]bool{}
	for _, l := range ls {
		if l.err != nil {
			if awserr.Permanent(l.err) {
				return nil, l.err
			}
			l.t.lastErr, broken[l.t] = l.err.Error(), true
			continue
		}
		r := byTracker[l.t]
		if r == nil {
			r = &readLists{t: l.t}
			byTracker[l.t] = r
			out = append(out, r)
		}
		r.lists |= l.list
		if l.list == runningList {
			r.running = l.arns
		} else {
			r.stopped = l.arns
		}
	}
	return slices.DeleteFunc(out, func(r *readLists) bool { return broken[r.t] }), nil
}

// listTasks pages through the tasks a deployment started with one desired
// status.
func listTasks(ctx context.Context, api ECS, d Deployment, l lists) ([]string, error) {
	desired := ecstypes.DesiredStatusRunning
	if l == stoppedList {
		desired = ecstypes.DesiredStatusStopped
	}
	in := &ecs.ListTasksInput{
		Cluster:       aws.String(d.Cluster),
		StartedBy:     aws.String(d.DeploymentID),
		DesiredStatus: desired,
		MaxResults:    aws.Int32(listTasksPage),
	}
	var arns []string
	pages := ecs.NewListTasksPaginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap(err, "ecs:ListTasks", fmt.Sprintf("%s tasks started by deployment %s of %s", desired, d.DeploymentID, describeTarget(d.Target)))
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// toDescribe picks the listed tasks not yet seen in their state: every task
// once, again when it stops, and a task last seen starting again only when
// ECS counts more tasks running (or calls the deployment done), because
// ListTasks cannot tell which task moved.
func (t *tracker) toDescribe(running, stopped []string) []string {
	var out []string
	for _, arn := range stopped {
		if m, ok := t.tasks[arn]; !ok || (m.status != "STOPPED" && m.kind != kindForeign) {
			out = append(out, arn)
		}
	}
	recheck := t.seen.running > t.runningAtLook || t.doneCandidate()
	for _, arn := range running {
		m, ok := t.tasks[arn]
		if !ok || (recheck && m.status != "RUNNING" && !m.kind.isFailure() && m.kind != kindForeign) {
			out = append(out, arn)
		}
	}
	return out
}

// afterLook closes a look whose calls all succeeded.
func (t *tracker) afterLook(got lists, running []string) {
	t.want &^= got
	if got&runningList != 0 {
		t.runningAtLook, t.verified = t.seen.running, true
		for _, arn := range running {
			if m, ok := t.tasks[arn]; !ok || (m.status != "RUNNING" && !m.kind.isFailure() && m.kind != kindForeign) {
				t.verified = false
			}
		}
	}
	if got&stoppedList != 0 && t.doneCandidate() {
		t.finalChecked = true
	}
}
