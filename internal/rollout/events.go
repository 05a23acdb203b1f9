package rollout

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxRecentEvents bounds ServiceResult.RecentEvents: the report needs the
// last few troubles, not the service's history.
const maxRecentEvents = 5

// eventMark is the newest service event already read, so that each poll looks
// only at what ECS said since.
type eventMark struct {
	id string
	at time.Time
}

// troubleWords mark the events that report a failure, such as "(service web)
// (deployment ecs-svc/1) deployment failed: tasks failed to start.", "(service
// web) was unable to place a task ..." or "(service web) rolling back to
// deployment ...", as opposed to "has started 1 tasks" or "has reached a
// steady state".
var troubleWords = []string{"fail", "unable", "error", "unhealthy", "rolling back", "rolled back"}

func isTrouble(msg string) bool { return containsAny(strings.ToLower(msg), troubleWords) }

// news is what the events newer than a mark say.
type news struct {
	troubles []string // the messages that report trouble, newest first, at most maxRecentEvents
	latest   string   // the newest message, trouble or not
	started  bool     // ECS reports starting tasks ("(service web) has started 1 tasks: ...")
	mark     eventMark
}

// readEvents reads the events newer than mark (ECS lists events newest
// first). Events older than since (the deployment's creation, in the
// service's clock) belong to earlier deployments.
func readEvents(events []ecstypes.ServiceEvent, mark eventMark, since time.Time) news {
	n := news{mark: mark}
	for i, e := range events {
		at := aws.ToTime(e.CreatedAt)
		if seen(e, at, mark) || (!since.IsZero() && at.Before(since)) {
			break
		}
		msg := aws.ToString(e.Message)
		if i == 0 {
			n.mark, n.latest = eventMark{id: aws.ToString(e.Id), at: at}, msg
		}
		n.started = n.started || strings.Contains(msg, " has started ")
		if isTrouble(msg) && len(n.troubles) < maxRecentEvents {
			n.troubles = append(n.troubles, msg)
		}
	}
	return n
}

// seen reports whether the event is the mark or older than it; ids decide
// when ECS gives them, times otherwise.
func seen(e ecstypes.ServiceEvent, at time.Time, mark eventMark) bool {
	if mark.id != "" && aws.ToString(e.Id) != "" {
		return aws.ToString(e.Id) == mark.id || at.Before(mark.at)
	}
	return !mark.at.IsZero() && !at.After(mark.at)
}

// prependEvents puts the newer messages first and keeps at most
// maxRecentEvents.
func prependEvents(newer, older []string) []string {
	out := make([]string, 0, maxRecentEvents)
	out = append(out, newer...)
	out = append(out, older...)
	if len(out) > maxRecentEvents {
		out = out[:maxRecentEvents]
	}
	return out
}
