package rollout

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// serviceView is what one DescribeServices says about one watched service,
// boiled down in the calling goroutine so that the poll never holds the
// responses (up to 100 events a service) longer than one call.
type serviceView struct {
	gone        string // why the service is no longer there ("MISSING", "INACTIVE"), or ""
	found       bool   // the deployment being watched is still listed
	dep         depView
	primaryID   string // the service's PRIMARY deployment
	deployments int    // how many deployments the service has
	news        news
}

// depView is the part of a deployment that the watch compares between polls.
type depView struct {
	rollout       string
	rolloutReason string
	desired       int32
	running       int32
	pending       int32
	failed        int32
}

// viewService boils s down for the deployment id; mark is the newest event
// already read.
func viewService(s ecstypes.Service, id string, mark eventMark, startedAt time.Time) serviceView {
	v := serviceView{deployments: len(s.Deployments)}
	if st := aws.ToString(s.Status); st != "" && st != "ACTIVE" {
		v.gone = st
	}
	since := startedAt.Add(-time.Minute) // local clock: allow for skew
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			v.primaryID = aws.ToString(d.Id)
		}
		if aws.ToString(d.Id) != id {
			continue
		}
		v.found = true
		v.dep = depView{
			rollout:       string(d.RolloutState),
			rolloutReason: aws.ToString(d.RolloutStateReason),
			desired:       d.DesiredCount,
			running:       d.RunningCount,
			pending:       d.PendingCount,
			failed:        d.FailedTasks,
		}
		if d.CreatedAt != nil {
			// ECS's own clock, to the second, so no event of this
			// deployment is missed.
			since = d.CreatedAt.Truncate(time.Second).Add(-time.Second)
		}
	}
	v.news = readEvents(s.Events, mark, since)
	return v
}
