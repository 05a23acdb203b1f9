package awsfake

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// instanceSSM is an SSM client signing with the instance's role, from its
// IMDS, as the SSM agent's commands would.
func (f *fixture) instanceSSM(instanceID string) *ssm.Client {
	client := imds.New(imds.Options{Endpoint: f.URL(), ClientEnableState: imds.ClientEnabled,
		HTTPClient: &http.Client{Transport: pathPrefix{"/imds/" + instanceID}}})
	cfg := f.cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }))
	return ssm.NewFromConfig(cfg)
}

// A fleet that reads its parameter all at once is throttled beyond the
// quota, instance roles and the CI caller alike; later reads get through.
func TestGetParameterThroughputThrottlesAFleet(t *testing.T) {
	f := newFixture(t, withRetries(1))
	ctx := context.Background()
	if _, err := f.ssm().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/rr/run"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	in := &ssm.GetParameterInput{Name: aws.String("/rr/run"), WithDecryption: aws.Bool(true)}
	clients := []*ssm.Client{f.ssm()}
	for range 4 {
		c := f.instanceSSM(f.AddContainerInstance(Instance{Cluster: "prod"}).InstanceID)
		if _, err := c.GetParameter(ctx, in); err != nil { // credentials from IMDS, before the clock starts
			t.Fatal(err)
		}
		clients = append(clients, c)
	}

	const perSecond, burst, readers = 5, 5, 25
	f.LimitGetParameter(perSecond, burst)
	f.ResetCalls()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, readers)
	for i := range readers {
		wg.Go(func() {
			_, errs[i] = clients[i%len(clients)].GetParameter(ctx, in)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok, throttled := 0, 0
	for _, err := range errs {
		var re *smithyhttp.ResponseError
		switch {
		case err == nil:
			ok++
		case apiCode(err) == "ThrottlingException" && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusBadRequest:
			throttled++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	// A bound with room: the burst, what refilled meanwhile, and one more.
	if most := burst + int(elapsed.Seconds()*perSecond) + 1; ok > most || ok < 1 || throttled == 0 {
		t.Fatalf("%d reads got through and %d were throttled in %v; want at most %d through and some throttled", ok, throttled, elapsed, most)
	}
	n := 0
	for _, c := range f.Calls() {
		if c.Operation == "GetParameter" && c.ErrorCode == "ThrottlingException" {
			n++
		}
	}
	if n != throttled {
		t.Fatalf("%d throttled calls recorded, %d seen", n, throttled)
	}

	time.Sleep(time.Second / perSecond * 3) // room for the two reads below
	for _, c := range clients[:2] {
		if _, err := c.GetParameter(ctx, in); err != nil {
			t.Fatalf("after a pause: %v", err)
		}
	}
	f.LimitGetParameter(0, 0)
	for range 3 * burst {
		if _, err := f.ssm().GetParameter(ctx, in); err != nil {
			t.Fatalf("unlimited: %v", err)
		}
	}
}
