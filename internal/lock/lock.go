// Package lock keeps two runs from changing the same cluster or secret at
// once. A lock is an SSM String parameter under /ecs-registry-rotate/lock/,
// created without Overwrite: Parameter Store's create is atomic, so of two
// runs that race, exactly one creates it, and nothing needs to be set up
// beforehand. Its value names the holder (run id, start, deadline and, under
// Actions, the run's URL), so the run that finds it held can say who holds
// it. A lock past its holder's deadline belongs to a run that died (a killed
// runner never releases it) and is taken over, by the one run that creates
// the claim beside it (see takeOver).
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awserr"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsname"
)

// Prefix starts every lock's parameter name.
const Prefix = "/ecs-registry-rotate/lock/"

// releaseTimeout bounds the release, which runs even after a cancel.
const releaseTimeout = 10 * time.Second

// API is the part of Systems Manager a lock calls; *ssm.Client satisfies it.
type API interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// Resource is something a run changes: a cluster or a secret.
type Resource struct {
	Kind string // "cluster" or "secret"
	ID   string // the cluster's name or ARN, the secret's ARN
}

// Cluster is the lock of a cluster.
func Cluster(nameOrARN string) Resource {
	return Resource{Kind: "cluster", ID: awsname.Short(nameOrARN)}
}

// Secret is the lock of a secret, by its ARN.
func Secret(arn string) Resource { return Resource{Kind: "secret", ID: arn} }

func (r Resource) String() string {
	if r.Kind == "secret" {
		return "secret " + secretName(r.ID)
	}
	return r.Kind + " " + r.ID
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Parameter is the lock's parameter name. A cluster's name fits a
// parameter name as it is; a secret's name may hold characters a parameter
// name may not (+ = @), so it is made safe and a short hash of its ARN
// keeps two secrets apart that differ only there.
func (r Resource) Parameter() string {
	if r.Kind != "secret" {
		return Prefix + r.Kind + "/" + unsafeChars.ReplaceAllString(r.ID, "_")
	}
	sum := sha256.Sum256([]byte(r.ID))
	name := unsafeChars.ReplaceAllString(secretName(r.ID), "_")
	return Prefix + "secret/" + name + "-" + hex.EncodeToString(sum[:4])
}

// secretName is the secret's name as its ARN holds it.
func secretName(arn string) string {
	if _, name, ok := strings.Cut(arn, ":secret:"); ok {
		return name
	}
	return arn
}

// Holder is the run that holds a lock.
type Holder struct {
	RunID    string    `json:"runId"`
	Started  time.Time `json:"started"`
	Deadline time.Time `json:"deadline"`
	URL      string    `json:"url,omitempty"` // the Actions run, when there is one
}

func (h Holder) String() string {
	s := fmt.Sprintf("run %s, started %s", h.RunID, h.Started.UTC().Format(time.RFC3339))
	if h.URL != "" {
		s += ", " + h.URL
	}
	return s
}

// HeldError says that another run holds a lock.
type HeldError struct {
	Resource  Resource
	Parameter string
	Holder    Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is being changed by another run (%s); it holds the lock %s until %s. Wait for that run to end and try again; if it is dead, delete the lock (aws ssm delete-parameter --name %s) or wait for the deadline, after which the next run takes it over",
		e.Resource, e.Holder, e.Parameter, e.Holder.Deadline.UTC().Format(time.RFC3339), e.Parameter)
}

// Options are the lock's holder and what it reports to.
type Options struct {
	Holder Holder
	Now    func() time.Time // nil is time.Now
	Warn   func(string)     // a taken-over stale lock is named here; nil drops it
}

// Set is the locks one run holds.
type Set struct {
	api  API
	o    Options
	held []Resource
}

// Acquire takes the lock of every resource, in name order so that two runs
// wanting the same ones cannot each hold a part. When one is held by
// another live run, it releases what it took and returns a *HeldError.
func Acquire(ctx context.Context, api API, resources []Resource, o Options) (*Set, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	s := &Set{api: api, o: o}
	resources = slices.Clone(resources)
	slices.SortFunc(resources, func(a, b Resource) int { return strings.Compare(a.Parameter(), b.Parameter()) })
	resources = slices.CompactFunc(resources, func(a, b Resource) bool { return a.Parameter() == b.Parameter() })
	for _, r := range resources {
		if err := s.take(ctx, r); err != nil {
			if rerr := s.Release(ctx); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, err
		}
		s.held = append(s.held, r)
	}
	return s, nil
}

// Held are the resources locked, in the order they were taken.
func (s *Set) Held() []Resource { return slices.Clone(s.held) }

// take creates r's lock. A lock that exists already is ours when it names
// this run (the create's answer was lost and the SDK's retry met it), is
// taken over when its holder's deadline passed, and is another run's
// otherwise. Each round follows a change made by another run, so a few are
// enough.
func (s *Set) take(ctx context.Context, r Resource) error {
	name := r.Parameter()
	var holder Holder
	for range maxRounds {
		err := s.createLock(ctx, r)
		if awserr.Code(err) != "ParameterAlreadyExists" {
			return err
		}
		holder, err = s.read(ctx, name)
		if awserr.Code(err) == "ParameterNotFound" {
			continue // released meanwhile: try again
		}
		if err != nil {
			return err
		}
		switch {
		case holder.RunID == s.o.Holder.RunID:
			return nil
		case s.o.Now().Before(holder.Deadline):
			return &HeldError{Resource: r, Parameter: name, Holder: holder}
		}
		taken, err := s.takeOver(ctx, r, holder)
		if err != nil || taken {
			return err
		}
	}
	return &HeldError{Resource: r, Parameter: name, Holder: holder}
}

// maxRounds bounds take's rounds of create, read and take-over.
const maxRounds = 4

// takeOver replaces a stale lock with ours; false when another run moved
// first (take then looks again). Of the runs that find the same stale lock,
// only the one that creates its claim (the lock's name + ".takeover",
// without Overwrite: atomic like the lock itself) may delete it: two runs
// that each read the stale holder and then deleted would otherwise each
// delete the other's new lock, and both hold it. The others stop, naming
// the claimant. A claim outlives its run only if that run died between the
// claim and the lock: past its deadline it is deleted and the round starts
// again.
func (s *Set) takeOver(ctx context.Context, r Resource, stale Holder) (bool, error) {
	name, claim := r.Parameter(), r.Parameter()+claimSuffix
	err := s.create(ctx, claim, "ecs-registry-rotate: run "+s.o.Holder.RunID+" is taking over the stale lock "+name+"; deleted once it has")
	if awserr.Code(err) == "ParameterAlreadyExists" {
		ours, err := s.claimed(ctx, r, claim)
		if !ours {
			return false, err
		}
	} else if err != nil {
		return false, err
	}
	defer s.dropClaim(ctx, claim)
	again, err := s.read(ctx, name)
	switch {
	case awserr.Code(err) == "ParameterNotFound":
	case err != nil:
		return false, err
	case again.RunID != stale.RunID:
		return false, nil
	default:
		if _, err := s.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil && awserr.Code(err) != "ParameterNotFound" {
			return false, awserr.Wrap(err, "ssm:DeleteParameter", "lock "+name)
		}
	}
	if err := s.createLock(ctx, r); err != nil {
		if awserr.Code(err) == "ParameterAlreadyExists" {
			return false, nil
		}
		return false, err
	}
	s.o.Warn(fmt.Sprintf("took over the lock of %s from %s, whose deadline %s had passed (a run that was killed never released it)",
		r, stale, stale.Deadline.UTC().Format(time.RFC3339)))
	return true, nil
}

// claimSuffix names the claim beside a lock that a run takes over.
const claimSuffix = ".takeover"

// claimed handles a claim that exists: true when it is this run's own (its
// create's answer was lost, and the SDK's retry met it). A live one of
// another run belongs to the run taking the lock over, which the error
// names; a stale one is deleted for the next round.
func (s *Set) claimed(ctx context.Context, r Resource, claim string) (bool, error) {
	h, err := s.read(ctx, claim)
	switch {
	case awserr.Code(err) == "ParameterNotFound":
		return false, nil
	case err != nil:
		return false, err
	case h.RunID == s.o.Holder.RunID:
		return true, nil
	case !s.o.Now().Before(h.Deadline):
		s.dropClaim(ctx, claim)
		return false, nil
	}
	return false, &HeldError{Resource: r, Parameter: claim, Holder: h}
}

// dropClaim deletes a claim, even after a cancel: one left behind holds
// up the takeover of a stale lock until its deadline.
func (s *Set) dropClaim(ctx context.Context, claim string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := s.api.DeleteParameter(cctx, &ssm.DeleteParameterInput{Name: aws.String(claim)}); err != nil && awserr.Code(err) != "ParameterNotFound" {
		s.o.Warn(fmt.Sprintf("could not delete %s (%v): a later takeover of that lock waits until %s unless it is deleted (aws ssm delete-parameter --name %s)",
			claim, awserr.Wrap(err, "ssm:DeleteParameter", "claim "+claim), s.o.Holder.Deadline.UTC().Format(time.RFC3339), claim))
	}
}

// createLock creates r's lock, naming this run.
func (s *Set) createLock(ctx context.Context, r Resource) error {
	return s.create(ctx, r.Parameter(), "ecs-registry-rotate: run "+s.o.Holder.RunID+" is changing "+r.String()+"; deleted when the run ends")
}

// create writes this run's holder to a new parameter name, without
// Overwrite: ParameterAlreadyExists (unwrapped) when it exists.
func (s *Set) create(ctx context.Context, name, description string) error {
	value, err := json.Marshal(s.o.Holder)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	_, err = s.api.PutParameter(ctx, &ssm.PutParameterInput{
		Name:        aws.String(name),
		Value:       aws.String(string(value)),
		Type:        ssmtypes.ParameterTypeString,
		Tier:        ssmtypes.ParameterTierStandard,
		Overwrite:   aws.Bool(false),
		Description: aws.String(description),
	})
	if err != nil && awserr.Code(err) != "ParameterAlreadyExists" {
		return awserr.Wrap(err, "ssm:PutParameter", "lock "+name)
	}
	return err
}

// read is the holder a lock names. A value that does not parse (written by
// hand, or by something else) holds the lock until an hour after it was last
// written, so that it neither blocks forever nor is deleted at once.
func (s *Set) read(ctx context.Context, name string) (Holder, error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		if awserr.Code(err) == "ParameterNotFound" {
			return Holder{}, err
		}
		return Holder{}, awserr.Wrap(err, "ssm:GetParameter", "lock "+name)
	}
	var h Holder
	if out.Parameter == nil || json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &h) != nil || h.RunID == "" {
		h = Holder{RunID: "unknown (the lock's value is not one this program wrote)"}
		if out.Parameter != nil && out.Parameter.LastModifiedDate != nil {
			h.Started = *out.Parameter.LastModifiedDate
			h.Deadline = h.Started.Add(time.Hour)
		}
	}
	return h, nil
}

// Release deletes every lock still held, with a context of its own so that a
// cancelled run releases too. A lock that another run took over meanwhile
// (ours had passed its deadline) is left to that run.
func (s *Set) Release(ctx context.Context) error {
	if s == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	var errs []error
	for _, r := range slices.Backward(s.held) {
		if err := s.release(cctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	s.held = nil
	return errors.Join(errs...)
}

func (s *Set) release(ctx context.Context, r Resource) error {
	name := r.Parameter()
	h, err := s.read(ctx, name)
	switch {
	case awserr.Code(err) == "ParameterNotFound":
		return nil
	case err != nil:
		return s.notReleased(r, err)
	case h.RunID != s.o.Holder.RunID:
		s.o.Warn(fmt.Sprintf("the lock of %s was taken over by %s before this run ended; it is left to that run", r, h))
		return nil
	}
	_, err = s.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	if err != nil && awserr.Code(err) != "ParameterNotFound" {
		return s.notReleased(r, awserr.Wrap(err, "ssm:DeleteParameter", "lock "+name))
	}
	return nil
}

// notReleased says that r's lock stays, until when, and how to delete it.
func (s *Set) notReleased(r Resource, err error) error {
	return fmt.Errorf("release the lock of %s: %w; it blocks other runs until %s unless deleted (aws ssm delete-parameter --name %s)",
		r, err, s.o.Holder.Deadline.UTC().Format(time.RFC3339), r.Parameter())
}
