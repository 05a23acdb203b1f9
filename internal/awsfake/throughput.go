package awsfake

import (
	"math"
	"net/http"
	"time"
)

// getParameterTarget is GetParameter's X-Amz-Target, whoever signs it: the
// CI caller (the fake's own SSM) or an instance role (the instance side).
const getParameterTarget = "AmazonSSM.GetParameter"

// tokenBucket admits rate calls a second on average, burst at once.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		s.getParamBucket = nil
		return
	}
	b := float64(burst)
	if burst < 1 {
		b = math.Ceil(perSecond)
	}
	s.getParamBucket = &tokenBucket{rate: perSecond, burst: b, tokens: b, last: time.Now()}
}

// getParameterThrottled takes a token for a GetParameter request, and
// tells whether there was none.
func (s *Server) getParameterThrottled(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != getParameterTarget {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getParamBucket != nil && !s.getParamBucket.take(time.Now())
}
