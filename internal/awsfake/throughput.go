package awsfake

import (
	"math"
	"net/http"
	"time"
)

// X-Amz-Target of the operations a quota can hold, whoever signs them: for
// GetParameter the CI caller (the fake's own SSM) or an instance role (the
// instance side).
const (
	getParameterTarget  = "AmazonSSM.GetParameter"
	updateServiceTarget = "AmazonEC2ContainerServiceV20141113.UpdateService"
)

// UpdateService's request throttling in ECS: a token bucket per account
// and Region holding 50 tokens, refilled at 5 a second (ECS API
// reference, "Request throttling for the Amazon ECS API").
const (
	updateServiceBurst     = 50
	updateServicePerSecond = 5
)

// tokenBucket admits rate calls a second on average, burst at once.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(perSecond float64, burst int) *tokenBucket {
	b := float64(burst)
	if burst < 1 {
		b = math.Ceil(perSecond)
	}
	return &tokenBucket{rate: perSecond, burst: b, tokens: b, last: time.Now()}
}

func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limit sets (perSecond > 0) or removes the quota on target.
func (s *Server) limit(target string, perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		delete(s.quotas, target)
		return
	}
	s.quotas[target] = newTokenBucket(perSecond, burst)
}

// LimitGetParameter holds GetParameter to perSecond transactions a second
// across the whole fake, as Parameter Store's throughput quota holds an
// account and region (40 a second by default; AWS-FACTS, Systems Manager),
// with bursts of up to burst calls (burst < 1: perSecond, rounded up). A
// call beyond it answers HTTP 400 ThrottlingException "Rate exceeded",
// before it is authorised or served, and is recorded like any other call.
// It counts the instances' GetParameter (the instance side) and the CI
// caller's alike. perSecond <= 0 removes the limit. It is a quota, not a
// fault: Lift and LiftAll leave it; Options.GetParameterTPS sets it at
// Start.
func (s *Server) LimitGetParameter(perSecond float64, burst int) {
	s.limit(getParameterTarget, perSecond, burst)
}

// LimitUpdateService holds UpdateService to perSecond calls a second
// across the whole fake with bursts of up to burst calls (burst < 1:
// perSecond, rounded up), as ECS throttles an account and Region. A call
// beyond it answers HTTP 400 ThrottlingException "Rate exceeded", changes
// nothing, and is recorded like any other call (see Throttled).
// perSecond <= 0 removes the limit. Options.ThrottleUpdateService sets
// ECS's own bucket (burst 50, 5 a second) at Start; this is for a test
// that wants other numbers. Lift and LiftAll leave it.
func (s *Server) LimitUpdateService(perSecond float64, burst int) {
	s.limit(updateServiceTarget, perSecond, burst)
}

// quotaThrottled takes a token for a request that a quota holds, and
// tells whether there was none.
func (s *Server) quotaThrottled(r *http.Request) bool {
	target := r.Header.Get("X-Amz-Target")
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.quotas[target]
	return b != nil && !b.take(time.Now())
}

// Throttled counts the calls of op answered ThrottlingException (STS:
// Throttling) so far, whether a quota (LimitUpdateService,
// LimitGetParameter) or a fault (Throttle, Fail) throttled them. It reads
// the call log, so ResetCalls resets it.
func (s *Server) Throttled(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Operation == op && (c.ErrorCode == "ThrottlingException" || c.ErrorCode == "Throttling") {
			n++
		}
	}
	return n
}
