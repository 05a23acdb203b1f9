package awsfake

import (
	"crypto/sha256"
	"net"
	"net/http"
)

// LostAnswerCode is the ErrorCode the call log gives a call whose answer
// LoseAnswer dropped. The call took effect: MutatingCalls counts it.
const LostAnswerCode = "LostAnswer"

// lostAnswers is LoseAnswer on one operation (or "*"): the bodies whose
// answer was already dropped once, by operation and SHA-256 of the body.
type lostAnswers struct {
	seen map[string]bool
}

// LoseAnswer makes op ("*" for every operation) lose its answer: the call
// is carried out (it changes what it changes), then the connection is
// closed without any HTTP response, the first time each distinct request
// body takes effect. The same body again — the SDK's retry, which resends
// the same bytes — is answered normally. So a lost SendCommand answer
// yields two commands (SendCommand has no client token), a lost
// PutParameter answer yields ParameterAlreadyExists on the retry, and a lost
// PutSecretValue answer is absorbed by its ClientRequestToken.
//
// Only answers of calls that took effect are lost: an error answer changes
// nothing, and its body stays unseen, so that the same body is lost when
// it later succeeds (PutParameter used as a lock, first refused while held,
// then taken). Calls served by the instance side (see InstanceSide) are not
// affected. Lift(op) or LiftAll removes it and forgets the bodies seen.
func (s *Server) LoseAnswer(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose == nil {
		s.lose = map[string]*lostAnswers{}
	}
	s.lose[op] = &lostAnswers{seen: map[string]bool{}}
}

// LostAnswers counts the answers LoseAnswer dropped for op, or for every
// operation with "*". ResetCalls does not reset it.
func (s *Server) LostAnswers(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "*" {
		n := 0
		for _, c := range s.lostCount {
			n += c
		}
		return n
	}
	return s.lostCount[op]
}

// loseAnswer decides, once the call has taken effect, whether its answer
// is lost, and counts it when it is.
func (s *Server) loseAnswer(req *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lose[req.op]
	if l == nil {
		l = s.lose["*"]
	}
	if l == nil {
		return false
	}
	sum := sha256.Sum256(req.body)
	key := req.service + "." + req.op + "\x00" + string(sum[:])
	if l.seen[key] {
		return false
	}
	l.seen[key] = true
	if s.lostCount == nil {
		s.lostCount = map[string]int{}
	}
	s.lostCount[req.op]++
	return true
}

// dropConnection closes the client's connection without writing anything:
// the request was read whole, so the client sees the connection end (EOF)
// where the answer should have been.
func dropConnection(w http.ResponseWriter) { _ = hijack(w).Close() }

// hijack takes the client's connection over from the HTTP server, which
// then writes nothing on it.
func hijack(w http.ResponseWriter) net.Conn {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return conn
}
