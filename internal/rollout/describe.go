package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// taskNote is a described task boiled down to what the report needs, made in
// the calling goroutine so that the poll never keeps an ecstypes.Task.
type taskNote struct {
	arn       string
	startedBy string
	status    string // lastStatus
	kind      Kind
	failed    *FailedTask // for the failure kinds
	sentence  string      // for the failure kinds: what happened, for Reason
}

// describeTasks describes the wanted tasks in batches of 100 per cluster and
// records each in its tracker; it returns the trackers a failed batch left
// unsure of. Only an access denial or expired credentials (awserr.Permanent) are an error,
// or ctx's error when it was done before every batch started.
func (w *watcher) describeTasks(ctx context.Context, wanted []wantedTask) (map[*tracker]bool, error) {
	groups := batches(wanted, describeTasksBatch, func(x wantedTask) string { return x.t.dep.Cluster })
	notes := make([][]taskNote, len(groups))
	errs := make([]error, len(groups))
	stopped := forEach(ctx, len(groups), func(i int) { notes[i], errs[i] = describeBatch(ctx, w.api, groups[i]) })
	unsure := map[*tracker]bool{}
	for i, g := range groups {
		if errs[i] != nil {
			if awserr.Permanent(errs[i]) {
				return nil, errs[i]
			}
			for _, x := range g {
				x.t.lastErr, unsure[x.t] = errs[i].Error(), true
			}
			continue
		}
		owner := make(map[string]*tracker, len(g))
		for _, x := range g {
			owner[x.arn] = x.t
		}
		for _, n := range notes[i] {
			t := owner[n.arn]
			switch {
			case t == nil:
			case n.startedBy != "" && n.startedBy != t.dep.DeploymentID:
				// ListTasks filters by startedBy; checking again costs
				// nothing and keeps another deployment's task out of this one.
				t.tasks[n.arn] = taskMemo{status: n.status, kind: kindForeign}
			default:
				w.record(t, n)
			}
		}
	}
	if stopped != nil {
		// A batch that did not run has neither notes nor an error: its
		// trackers must not take the look as done.
		return nil, stopped
	}
	return unsure, nil
}

// describeBatch is one DescribeTasks call, boiled down. Tasks ECS no longer
// knows come back in failures and are left out.
func describeBatch(ctx context.Context, api ECS, g []wantedTask) ([]taskNote, error) {
	arns := make([]string, len(g))
	for i, x := range g {
		arns[i] = x.arn
	}
	cluster := g[0].t.dep.Cluster
	out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
	if err != nil {
		return nil, awserr.Wrap(err, "ecs:DescribeTasks", fmt.Sprintf("%d task(s) in cluster %s", len(arns), awsname.Short(cluster)))
	}
	notes := make([]taskNote, 0, len(out.Tasks))
	for _, task := range out.Tasks {
		notes = append(notes, noteOf(task))
	}
	return notes, nil
}

func noteOf(task ecstypes.Task) taskNote {
	n := taskNote{arn: aws.ToString(task.TaskArn), startedBy: aws.ToString(task.StartedBy), status: aws.ToString(task.LastStatus), kind: Classify(task)}
	if n.kind.isFailure() {
		n.failed = failedTaskOf(task, n.kind)
		n.sentence = sentence(task, n.kind)
	}
	return n
}

func failedTaskOf(task ecstypes.Task, k Kind) *FailedTask {
	f := &FailedTask{
		TaskArn:       aws.ToString(task.TaskArn),
		LastStatus:    aws.ToString(task.LastStatus),
		StopCode:      string(task.StopCode),
		StoppedReason: aws.ToString(task.StoppedReason),
		Containers:    make([]FailedContainer, 0, len(task.Containers)),
		Kind:          k,
	}
	for _, c := range task.Containers {
		f.Containers = append(f.Containers, FailedContainer{
			Name:     aws.ToString(c.Name),
			Image:    aws.ToString(c.Image),
			Reason:   aws.ToString(c.Reason),
			ExitCode: c.ExitCode,
		})
	}
	return f
}

// sentence says what happened to a failed task, quoting ECS: "task 1a2b...
// stopped: CannotPullContainerError: ...", with the container when the words
// are a container's.
func sentence(task ecstypes.Task, k Kind) string {
	id := awsname.Short(aws.ToString(task.TaskArn))
	match := map[Kind]func(string) bool{KindSecretFailed: isSecretError, KindPullFailed: isPullError, KindStaleImage: isPullError}[k]
	stopped := aws.ToString(task.StoppedReason)
	if k == KindStaleImage {
		return fmt.Sprintf("task %s is RUNNING on a cached image, its pull failed: %s", id, containerWords(task, match))
	}
	switch {
	case match != nil && match(stopped):
		return fmt.Sprintf("task %s stopped: %s", id, stopped)
	case match != nil && containerWords(task, match) != "":
		return fmt.Sprintf("task %s stopped: %s", id, containerWords(task, match))
	}
	return fmt.Sprintf("task %s stopped: %s", id, otherWords(task))
}

// containerWords is the first container reason that match accepts, as
// "<reason> (container <name>)".
func containerWords(task ecstypes.Task, match func(string) bool) string {
	for _, c := range task.Containers {
		if r := aws.ToString(c.Reason); r != "" && (match == nil || match(r)) {
			return fmt.Sprintf("%s (container %s)", r, aws.ToString(c.Name))
		}
	}
	return ""
}

// otherWords describes a stop with no pull or secret error: the reason, the
// stop code and non-zero exit codes.
func otherWords(task ecstypes.Task) string {
	parts := []string{orUnknown(aws.ToString(task.StoppedReason))}
	if task.StopCode != "" {
		parts = append(parts, "stopCode "+string(task.StopCode))
	}
	if w := containerWords(task, nil); w != "" {
		parts = append(parts, w)
	}
	for _, c := range task.Containers {
		if c.ExitCode != nil && *c.ExitCode != 0 {
			parts = append(parts, fmt.Sprintf("container %s exited with code %d", aws.ToString(c.Name), *c.ExitCode))
		}
	}
	return strings.Join(parts, "; ")
}
