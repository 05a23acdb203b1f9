package awsfake

import (
	"encoding/json"
	"strings"
	"time"
)

// maxConsecutiveThrottles bounds a throttling streak so that a client with
// a sane retry budget always gets through eventually, as with real AWS.
const maxConsecutiveThrottles = 4

type faultSet struct {
	throttle map[string]float64       // op or "*" → fraction of calls throttled
	streak   map[string]int           // op → consecutive throttles so far
	latency  map[string]time.Duration // op or "*"
	deny     map[string]bool          // op or "*"
}

func newFaultSet() faultSet {
	return faultSet{
		throttle: map[string]float64{},
		streak:   map[string]int{},
		latency:  map[string]time.Duration{},
		deny:     map[string]bool{},
	}
}

// Throttle makes that fraction of calls to op ("*" for all) answer
// ThrottlingException "Rate exceeded". Never more than four in a row.
func (s *Server) Throttle(op string, fraction float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle[op] = fraction
}

// Latency delays every call to op ("*" for all) by d.
func (s *Server) Latency(op string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency[op] = d
}

// DenyAccess makes op ("*" for all) fail with AccessDenied, worded as IAM
// words it, naming the action and the resource.
func (s *Server) DenyAccess(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.deny[op] = true
}

func (s *Server) latencyFor(op string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.faults.latency[op]; ok {
		return d
	}
	return s.faults.latency["*"]
}

// injectFault decides, under the lock, whether this call is throttled or
// denied. Throttling comes first: AWS rate-limits before it authorises.
func (s *Server) injectFault(req *request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.faults
	frac, ok := f.throttle[req.op]
	if !ok {
		frac = f.throttle["*"]
	}
	if frac > 0 && f.streak[req.op] < maxConsecutiveThrottles && s.rng.Float64() < frac {
		f.streak[req.op]++
		code := "ThrottlingException"
		if req.query {
			code = "Throttling"
		}
		return errorf(code, "Rate exceeded")
	}
	f.streak[req.op] = 0

	if f.deny[req.op] || f.deny["*"] {
		return s.denial(req)
	}
	return nil
}

// denial is IAM's refusal of req, naming the action and the resource.
// Called under s.mu.
func (s *Server) denial(req *request) *apiError {
	code := "AccessDeniedException"
	if req.query {
		code = "AccessDenied"
	}
	action := req.service + ":" + req.op
	return errorf(code, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		s.callerArn(), action, s.resourceFor(req), action)
}

// resourceFor names the ARN an IAM denial would name: the service, the
// cluster or the secret in the request, "*" when there is none.
func (s *Server) resourceFor(req *request) string {
	var in map[string]any
	_ = json.Unmarshal(req.input, &in)
	str := func(k string) string { v, _ := in[k].(string); return v }
	switch req.service {
	case "ecs":
		cluster, svc := str("cluster"), str("service")
		if cluster == "" && svc == "" {
			return "*"
		}
		if cluster == "" {
			cluster = "default"
		}
		if svc != "" {
			if strings.HasPrefix(svc, "arn:") {
				return svc
			}
			return s.world.serviceArn(clusterName(cluster), svc)
		}
		if strings.HasPrefix(cluster, "arn:") {
			return cluster
		}
		return s.world.clusterArn(cluster)
	case "secretsmanager":
		id := str("SecretId")
		if id == "" {
			return "*"
		}
		if sec := s.secrets.find(id); sec != nil {
			return sec.arn
		}
		if strings.HasPrefix(id, "arn:") {
			return id
		}
		return s.secrets.arnPrefix() + id
	case "ssm":
		return s.ssmResource(req.op, str)
	}
	return "*"
}
