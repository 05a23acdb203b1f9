package awsfake

import "encoding/json"

// SetRegistryDenyMessage sets the message of the registry's 401 answer, as a
// hostile or broken registry could word it (newlines, workflow commands).
func (s *Server) SetRegistryDenyMessage(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regDenyMessage = msg
}

func (s *Server) denyBody() []byte {
	s.mu.Lock()
	msg := s.regDenyMessage
	s.mu.Unlock()
	if msg == "" {
		msg = "authentication required"
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": "UNAUTHORIZED", "message": msg, "detail": nil}}})
	return body
}
