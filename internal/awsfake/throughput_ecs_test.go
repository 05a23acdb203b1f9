package awsfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// updates sends n UpdateService calls (a desired count the services
// already have), spread over two clusters, pausing between calls, and
// counts those that got through and those that ECS throttled.
func (f *fixture) updates(t *testing.T, n int, pause time.Duration) (ok, throttled int) {
	t.Helper()
	for i := range n {
		cluster := []string{"east", "west"}[i%2]
		_, err := f.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
			Cluster: aws.String(cluster), Service: aws.String(fmt.Sprintf("svc-%02d", i%5)), DesiredCount: aws.Int32(0),
		})
		var ae smithy.APIError
		var re *smithyhttp.ResponseError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ae) && ae.ErrorCode() == "ThrottlingException" && ae.ErrorMessage() == "Rate exceeded" &&
			errors.As(err, &re) && re.HTTPStatusCode() == http.StatusBadRequest:
			throttled++
		default:
			t.Fatalf("UpdateService: %v", err)
		}
		time.Sleep(pause)
	}
	return ok, throttled
}

func (f *fixture) servicesInTwoClusters(t *testing.T) {
	t.Helper()
	f.publicServices(t, "east", 5, 0)
	f.publicServices(t, "west", 5, 0)
}

// ECS's bucket for UpdateService: 50 calls at once across the account,
// then 5 a second; a throttled call changes nothing.
func TestUpdateServiceThrottledLikeECS(t *testing.T) {
	f := newFixtureWith(t, Options{ThrottleUpdateService: true}, withRetries(1))
	f.servicesInTwoClusters(t)
	start := time.Now()
	ok, throttled := f.updates(t, 80, 0)
	elapsed := time.Since(start)
	// A bound with room: the burst, what refilled meanwhile, and one more.
	if most := 50 + int(elapsed.Seconds()*5) + 1; ok < 50 || ok > most || throttled == 0 {
		t.Fatalf("80 rapid calls in %v: %d through, %d throttled; want 50 to %d through and some throttled", elapsed, ok, throttled, most)
	}
	if n := f.Throttled("UpdateService"); n != throttled {
		t.Fatalf("Throttled(UpdateService) = %d, saw %d", n, throttled)
	}
	if n := len(f.MutatingCalls()); n != ok {
		t.Fatalf("%d mutating calls, %d got through", n, ok)
	}

	// A second refills 5 tokens; 4 calls a second then always get through.
	time.Sleep(time.Second)
	if ok, throttled := f.updates(t, 8, time.Second/4); throttled != 0 {
		t.Fatalf("at 4 a second after a pause: %d through, %d throttled", ok, throttled)
	}
	// Over the whole test, no more than the burst and the refill got through.
	f.updates(t, 20, 0)
	total := len(f.MutatingCalls())
	if most := 50 + int(time.Since(start).Seconds()*5) + 1; total > most {
		t.Fatalf("%d calls through in %v, at most %d", total, time.Since(start), most)
	}

	f.LimitUpdateService(0, 0)
	if ok, throttled := f.updates(t, 60, 0); throttled != 0 {
		t.Fatalf("limit removed: %d through, %d throttled", ok, throttled)
	}
}

func TestUpdateServiceUnthrottledByDefault(t *testing.T) {
	f := newFixture(t, withRetries(1))
	f.servicesInTwoClusters(t)
	if ok, throttled := f.updates(t, 120, 0); throttled != 0 || f.Throttled("UpdateService") != 0 {
		t.Fatalf("default options: %d through, %d throttled", ok, throttled)
	}
	f.LimitUpdateService(1, 3)
	start := time.Now()
	ok, throttled := f.updates(t, 10, 0)
	if most := 3 + int(time.Since(start).Seconds()) + 1; ok < 3 || ok > most || throttled == 0 {
		t.Fatalf("LimitUpdateService(1, 3): %d through (3 to %d), %d throttled", ok, most, throttled)
	}
}
