package awsfake

import "time"

// SlowReply makes every call to op take effect at once but answer only after
// d: a client that is cancelled meanwhile has changed AWS without learning it.
func (s *Server) SlowReply(op string, d time.Duration) {
	s.lock()
	defer s.unlock()
	if s.replyLatency == nil {
		s.replyLatency = map[string]time.Duration{}
	}
	s.replyLatency[op] = d
}

func (s *Server) replyLatencyFor(op string) time.Duration {
	s.lock()
	defer s.unlock()
	return s.replyLatency[op]
}
