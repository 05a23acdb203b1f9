package awsfake

import (
	"encoding/json"
	"slices"
	"time"
)

// Call is one request the fake received.
type Call struct {
	Service   string          // "ecs", "secretsmanager", "ssm", "sts"
	Operation string          // e.g. "DescribeServices"
	Input     json.RawMessage // the JSON body; for STS the form as a JSON object
	ErrorCode string          // "" when it succeeded; LostAnswerCode when it took effect but its answer was lost
	At        time.Time       // when it arrived
	// AccessKeyID signed the request ("" when unsigned): it shows whose
	// credentials the caller used, e.g. an assumed role's.
	AccessKeyID string
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.notePersistent(c)
}

// Calls returns every call so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.calls)
	slices.SortStableFunc(out, func(a, b Call) int { return a.At.Compare(b.At) })
	return out
}

// CallCount counts every attempt of op, failed ones included.
func (s *Server) CallCount(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// MutatingCalls are the calls that changed something: a write that
// succeeded, whether its answer arrived or was lost (LoseAnswer). A
// throttled or denied attempt changed nothing, so it is left out.
func (s *Server) MutatingCalls() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (c.ErrorCode == "" || c.ErrorCode == LostAnswerCode) && isMutating(c.Operation) {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the call log (not the world).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// CallCounts counts every attempt so far by operation, failed ones
// included, e.g. CallCounts()["DescribeServices"]. ResetCalls resets it.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, c := range s.calls {
		out[c.Operation]++
	}
	return out
}
