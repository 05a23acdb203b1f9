package awsfake

import (
	"slices"
	"strings"
	"time"
)

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// SecretVersion is one version of a secret, for inspection.
type SecretVersion struct {
	VersionID string
	Stages    []string
	Value     string
}

type secretStore struct {
	region, account string
	secrets         []*secret
	denied          []string // ids (names or ARNs) task execution roles cannot read
}

type secret struct {
	name, arn        string
	created, changed time.Time
	versions         []*secretVersion // in creation order
}

type secretVersion struct {
	id, value string
	stages    []string
	created   time.Time
}

func newSecretStore(region, account string) *secretStore {
	return &secretStore{region: region, account: account}
}

func (st *secretStore) arnPrefix() string {
	return "arn:aws:secretsmanager:" + st.region + ":" + st.account + ":secret:"
}

// find resolves a SecretId as Secrets Manager does: the name, the full
// ARN, or the ARN without its random six-character suffix.
func (st *secretStore) find(id string) *secret {
	for _, sec := range st.secrets {
		if sec.matches(id) {
			return sec
		}
	}
	return nil
}

func (sec *secret) matches(id string) bool {
	return id == sec.name || id == sec.arn || id == sec.arn[:len(sec.arn)-7]
}

func (st *secretStore) create(name string, now time.Time) *secret {
	sec := &secret{
		name:    name,
		arn:     st.arnPrefix() + name + "-" + newSecretSuffix(),
		created: now,
		changed: now,
	}
	st.secrets = append(st.secrets, sec)
	return sec
}

func (st *secretStore) readDenied(sec *secret) bool {
	return slices.ContainsFunc(st.denied, sec.matches)
}

func (sec *secret) byID(id string) *secretVersion {
	for _, v := range sec.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (sec *secret) byStage(stage string) *secretVersion {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stage) {
			return v
		}
	}
	return nil
}

// put adds a version the way PutSecretValue does. A token that names an
// existing version is a retry: the same value returns that version
// untouched, another value is refused, because versions are immutable.
func (sec *secret) put(token, value string, stages []string, now time.Time) (*secretVersion, error) {
	if token != "" {
		if n := len(token); n < 32 || n > 64 {
			return nil, errorf("ValidationException",
				"1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
		}
		if v := sec.byID(token); v != nil {
			if v.value == value {
				return v, nil
			}
			return nil, errorf("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
		}
	} else {
		token = newUUID()
	}
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	nv := &secretVersion{id: token, value: value, created: now}
	sec.versions = append(sec.versions, nv)
	for _, stage := range stages {
		sec.moveStage(stage, nv)
	}
	sec.changed = now
	return nv, nil
}

// moveStage attaches a staging label to v, taking it from whichever version
// held it. Moving AWSCURRENT makes the old current version AWSPREVIOUS.
func (sec *secret) moveStage(stage string, v *secretVersion) {
	old := sec.byStage(stage)
	if old == v {
		return
	}
	if old != nil {
		old.stages = slices.DeleteFunc(old.stages, func(s string) bool { return s == stage })
	}
	v.stages = append(v.stages, stage)
	if stage == stageCurrent && old != nil {
		if prev := sec.byStage(stagePrevious); prev != nil {
			prev.stages = slices.DeleteFunc(prev.stages, func(s string) bool { return s == stagePrevious })
		}
		old.stages = append(old.stages, stagePrevious)
	}
}

// CreateSecret creates a secret holding value as its AWSCURRENT version and
// returns its ARN. Creating an existing name adds a new current version.
func (s *Server) CreateSecret(name, value string) string {
	now := s.lock()
	defer s.unlock()
	sec := s.secrets.find(name)
	if sec == nil {
		sec = s.secrets.create(name, now)
	}
	if _, err := sec.put("", value, nil, now); err != nil {
		panic(err) // unreachable: no token given
	}
	return sec.arn
}

// SecretString is the secret's AWSCURRENT value ("" when there is none).
func (s *Server) SecretString(nameOrArn string) string {
	s.lock()
	defer s.unlock()
	if sec := s.secrets.find(nameOrArn); sec != nil {
		if v := sec.byStage(stageCurrent); v != nil {
			return v.value
		}
	}
	return ""
}

// SecretVersions lists the secret's versions, oldest first.
func (s *Server) SecretVersions(nameOrArn string) []SecretVersion {
	s.lock()
	defer s.unlock()
	sec := s.secrets.find(nameOrArn)
	if sec == nil {
		return nil
	}
	out := make([]SecretVersion, 0, len(sec.versions))
	for _, v := range sec.versions {
		out = append(out, SecretVersion{VersionID: v.id, Stages: slices.Clone(v.stages), Value: v.value})
	}
	return out
}

// DenySecretRead makes the secret unreadable to task execution roles: new
// tasks that need it to pull fail to start. The CI caller can still read
// and write it through the API.
func (s *Server) DenySecretRead(secretNameOrArn string) {
	s.lock()
	defer s.unlock()
	s.secrets.denied = append(s.secrets.denied, strings.TrimSpace(secretNameOrArn))
}
