package awsfake

import (
	"net/http"
	"strings"
)

// The instances' own side is instance.go's InstanceEndpoints (IMDSv2 and
// SigV4-checked GetParameter), fed from the fake's instances and
// parameters.

func (s *Server) defaultInstanceSide() InstanceSide {
	return instanceSide{NewInstanceEndpoints(InstanceEndpointsConfig{
		Region:     s.opts.Region,
		AccountID:  s.opts.AccountID,
		Parameters: serverParameters{s},
		Role:       s.instanceRoleOf,
	})}
}

type instanceSide struct{ *InstanceEndpoints }

// Handles leaves to the fake's own SSM the keys sts.go hands the CI caller
// (AssumeRoleWithWebIdentity): they start with ASIA too.
func (i instanceSide) Handles(r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, IMDSPathPrefix) &&
		strings.HasPrefix(signingKeyID(r.Header.Get("Authorization")), "ASIAFAKE") {
		return false
	}
	return i.InstanceEndpoints.Handles(r)
}

// instanceRoleOf is the instance's profile role; false for an instance the
// fake does not know.
func (s *Server) instanceRoleOf(instanceID string) (InstanceRole, bool) {
	s.lock()
	defer s.unlock()
	ci := s.world.instanceByEC2(instanceID)
	if ci == nil {
		return InstanceRole{}, false
	}
	if ci.noProfile {
		return InstanceRole{}, true
	}
	return InstanceRole{Name: ci.role, AllowGetParameter: !ci.denyParamRead}, true
}

type serverParameters struct{ s *Server }

func (p serverParameters) LookupParameter(name string) (InstanceParameter, bool) {
	p.s.lock()
	defer p.s.unlock()
	par, ok := p.s.findParameter(name)
	if !ok {
		return InstanceParameter{}, false
	}
	return InstanceParameter{Type: par.typ, Value: par.value, Version: par.version, LastModified: par.modified}, true
}
