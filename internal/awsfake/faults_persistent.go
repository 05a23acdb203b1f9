package awsfake

import (
	"net"
	"net/http"
)

// FaultKind is a way an operation fails on every attempt until the fault is
// lifted: no retry budget gets through it.
type FaultKind string

const (
	// InternalFailure answers HTTP 500 InternalFailure, as AWS words a
	// server-side fault common to every service.
	InternalFailure FaultKind = "InternalFailure"
	// ServiceUnavailable answers HTTP 503 ServiceUnavailable.
	ServiceUnavailable FaultKind = "ServiceUnavailable"
	// ExpiredToken answers HTTP 400 ExpiredTokenException (STS: ExpiredToken),
	// "The security token included in the request is expired".
	ExpiredToken FaultKind = "ExpiredToken"
	// ConnectionReset takes the connection over and resets it before any
	// answer: the call never takes effect, and the client sees a transport
	// error, not an API error.
	ConnectionReset FaultKind = "ConnectionReset"
	// ThrottledAlways answers ThrottlingException "Rate exceeded" (STS:
	// Throttling) on every attempt, without Throttle's cap on a streak.
	ThrottledAlways FaultKind = "Throttling"
	// AccessDenied answers as DenyAccess does, naming the action and the
	// resource as IAM words it.
	AccessDenied FaultKind = "AccessDenied"
)

// Fault is a persistent failure of one operation. With the zero Skip and
// After it starts with the next call.
type Fault struct {
	Kind FaultKind
	// Skip lets the first Skip calls of the operation through, counted as
	// they arrive, so that a test can reach a later use of the same call
	// (DescribeServices in the plan, then in the watch).
	Skip int
	// After arms the fault only once operation After has succeeded
	// AfterCount times (AfterCount 0 counts as 1); Skip counts from then.
	After      string
	AfterCount int
}

// armedFault is a Fault with its counters.
type armedFault struct {
	Fault
	seenAfter int // successful calls of After so far
	arrived   int // calls of the operation since it was armed
}

func (f *armedFault) armed() bool {
	if f.After == "" {
		return true
	}
	return f.seenAfter >= max(f.AfterCount, 1)
}

// Fail makes every call to op ("*" for all) fail as kind from now on, until
// Lift.
func (s *Server) Fail(op string, kind FaultKind) { s.Inject(op, Fault{Kind: kind}) }

// Inject installs f on op ("*" for all), replacing an earlier one on op.
func (s *Server) Inject(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.persistent == nil {
		s.persistent = map[string]*armedFault{}
	}
	s.persistent[op] = &armedFault{Fault: f}
}

// Lift removes every fault of op (Fail, Inject, DenyAccess, Throttle,
// Latency, SlowReply and LoseAnswer), so that a test can run again on a
// healthy AWS. Lift("*") removes those installed for "*"; LiftAll removes
// every one. LimitGetParameter's quota is not a fault and stays.
func (s *Server) Lift(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.persistent, op)
	delete(s.faults.deny, op)
	delete(s.faults.throttle, op)
	delete(s.faults.streak, op)
	delete(s.faults.latency, op)
	delete(s.replyLatency, op)
	delete(s.lose, op)
}

// LiftAll removes every fault of every operation.
func (s *Server) LiftAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.persistent = nil
	s.faults = newFaultSet()
	s.replyLatency = nil
	s.lose = nil
}

// notePersistent counts a finished call towards the faults armed After it.
// Called under s.mu.
func (s *Server) notePersistent(c Call) {
	if c.ErrorCode != "" && c.ErrorCode != LostAnswerCode {
		return
	}
	for _, f := range s.persistent {
		if f.After == c.Operation {
			f.seenAfter++
		}
	}
}

// persistentFault decides whether this call meets a Fault: the API error to
// answer, or reset true when the connection is to be dropped instead.
func (s *Server) persistentFault(req *request) (e *apiError, reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.persistent[req.op]
	if f == nil {
		f = s.persistent["*"]
	}
	if f == nil || !f.armed() {
		return nil, false
	}
	f.arrived++
	if f.arrived <= f.Skip {
		return nil, false
	}
	switch f.Kind {
	case ConnectionReset:
		return nil, true
	case InternalFailure:
		return &apiError{Status: http.StatusInternalServerError, Code: "InternalFailure",
			Message: "The request processing has failed because of an unknown error, exception or failure."}, false
	case ServiceUnavailable:
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
			Message: "The request has failed due to a temporary failure of the server."}, false
	case ExpiredToken:
		return expiredTokenError(req), false
	case ThrottledAlways:
		code := "ThrottlingException"
		if req.query {
			code = "Throttling"
		}
		return errorf(code, "Rate exceeded"), false
	case AccessDenied:
		return s.denial(req), false
	}
	return nil, false
}

// expiredTokenError is AWS's answer to a request signed with credentials
// whose session has ended.
func expiredTokenError(req *request) *apiError {
	code := "ExpiredTokenException"
	if req.query {
		code = "ExpiredToken"
	}
	return errorf(code, "The security token included in the request is expired")
}

// resetConnection drops the client's connection without an answer, with a
// TCP reset where the connection allows it.
func resetConnection(w http.ResponseWriter) {
	conn := hijack(w)
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
