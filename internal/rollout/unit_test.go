package rollout

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestNextPollKeepsTheGridAndAPause(t *testing.T) {
	start := time.Unix(1000, 0)
	const iv = time.Second
	cases := []struct {
		took time.Duration
		want time.Duration // from start
	}{
		{10 * time.Millisecond, iv},      // fast poll: one interval after the last start
		{700 * time.Millisecond, iv},     // slow but with room: still on the grid
		{800 * time.Millisecond, 2 * iv}, // too close to the next tick: skip it
		{1500 * time.Millisecond, 2 * iv},
		{3900 * time.Millisecond, 5 * iv},
	}
	for _, c := range cases {
		got := nextPoll(start, start.Add(c.took), iv).Sub(start)
		if got != c.want {
			t.Errorf("poll took %s: next at +%s, want +%s", c.took, got, c.want)
		}
		if gap := got - c.took; gap < iv/4 {
			t.Errorf("poll took %s: only %s before the next", c.took, gap)
		}
	}
}

func TestBatchesPerClusterInOrder(t *testing.T) {
	type item struct{ cluster, name string }
	var items []item
	for i := range 23 {
		c := "a"
		if i%4 == 3 {
			c = "b"
		}
		items = append(items, item{c, string(rune('A' + i))})
	}
	got := batches(items, 10, func(x item) string { return x.cluster })
	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
		for _, x := range b {
			if x.cluster != b[0].cluster {
				t.Fatalf("batch mixes clusters: %v", b)
			}
		}
	}
	if want := []int{10, 8, 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func event(id, msg string, at time.Time) ecstypes.ServiceEvent {
	return ecstypes.ServiceEvent{Id: aws.String(id), Message: aws.String(msg), CreatedAt: aws.Time(at)}
}

func TestNewTroublesReadsEachEventOnce(t *testing.T) {
	t0 := time.Unix(5000, 0)
	events := []ecstypes.ServiceEvent{ // newest first, as ECS lists them
		event("e4", "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.", t0.Add(4*time.Second)),
		event("e3", "(service web) has started 1 tasks: (task 1).", t0.Add(3*time.Second)),
		event("e2", "(service web) was unable to place a task because no container instance met all of its requirements.", t0.Add(2*time.Second)),
		event("e1", "(service web) has reached a steady state.", t0.Add(-time.Hour)),
	}
	n := readEvents(events[2:], eventMark{}, t0)
	if len(n.troubles) != 1 || n.mark.id != "e2" || n.latest != aws.ToString(events[2].Message) {
		t.Fatalf("first read: %+v", n)
	}
	n = readEvents(events, n.mark, t0)
	if len(n.troubles) != 1 || n.troubles[0] != aws.ToString(events[0].Message) || n.mark.id != "e4" {
		t.Fatalf("second read: %+v", n)
	}
	if n = readEvents(events, n.mark, t0); len(n.troubles) != 0 || n.latest != "" {
		t.Fatalf("third read saw again: %+v", n)
	}
}

func TestPrependEventsKeepsTheNewest(t *testing.T) {
	got := prependEvents([]string{"n1", "n2"}, []string{"o1", "o2", "o3", "o4"})
	if want := []string{"n1", "n2", "o1", "o2", "o3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWithMinimumHealthyLeavesThePlanAlone(t *testing.T) {
	plan := &ecstypes.DeploymentConfiguration{
		MaximumPercent:           aws.Int32(200),
		MinimumHealthyPercent:    aws.Int32(100),
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
	}
	got := withMinimumHealthy(plan, 50)
	if aws.ToInt32(got.MinimumHealthyPercent) != 50 || aws.ToInt32(got.MaximumPercent) != 200 || !got.DeploymentCircuitBreaker.Rollback {
		t.Errorf("sent %+v", got)
	}
	if aws.ToInt32(plan.MinimumHealthyPercent) != 100 {
		t.Errorf("the plan changed: %+v", plan)
	}
	if aws.ToInt32(withMinimumHealthy(nil, 50).MinimumHealthyPercent) != 50 {
		t.Error("no configuration in the plan")
	}
}
