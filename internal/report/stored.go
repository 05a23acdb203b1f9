package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/secret"
)

// Stored is what a run did to the store of credentials, in the store's own
// words: each store of the pipeline fills one (SecretStored, FleetStored)
// as it goes, and the rest of the report is the same for both.
type Stored interface {
	// planLog prints the store's lines of the plan.
	planLog(r *Reporter)
	// headline writes the store's items of the summary's headline.
	headline(b *summaryWriter)
	// changes are the clauses of Run.Changes about the store.
	changes() []string
	// restored is the clause of a rollback that finished, or false when
	// the rollback's state says it better.
	restored() (string, bool)
	// rollbackState is where a rollback left the store, for its annotation.
	rollbackState() []string
	// rollbackSummary writes the store's items of the summary's rollback.
	rollbackSummary(b *summaryWriter)
	// versionID is the secret-version-id output.
	versionID() string
	// instances are the instances output and the summary's instance table.
	instances() []Instance
}

// stored is the run's store, or one that says nothing for a run that
// stopped before it had one (bad input).
func (run Run) stored() Stored {
	if run.Store == nil {
		return nothingStored{}
	}
	return run.Store
}

type nothingStored struct{}

func (nothingStored) planLog(*Reporter)              {}
func (nothingStored) headline(*summaryWriter)        {}
func (nothingStored) changes() []string              { return nil }
func (nothingStored) restored() (string, bool)       { return "", false }
func (nothingStored) rollbackState() []string        { return nil }
func (nothingStored) rollbackSummary(*summaryWriter) {}
func (nothingStored) versionID() string              { return "" }
func (nothingStored) instances() []Instance          { return nil }

// SecretStored is the secrets-manager store's part: the secret as planned,
// as written, and as the rollback left it.
type SecretStored struct {
	Registry string      // as the registry input gave it
	Planned  plan.Secret // set once the plan read it
	Written  *secret.Outcome
	Restored *secret.Outcome // the secret after the rollback's restore: VersionID is current
}

func (s *SecretStored) planLog(r *Reporter) {
	r.Infof("secret   %s (current version %s)", s.Planned.ARN, s.Planned.VersionID)
	r.Infof("registry %s", s.Registry)
}

func (s *SecretStored) headline(b *summaryWriter) {
	if s.Planned.ARN != "" {
		fmt.Fprintf(b, "- Secret: %s\n", b.md(s.Planned.ARN))
	}
	w := s.Written
	switch {
	case w == nil:
	case w.Unknown:
		fmt.Fprintf(b, "- Secret: **may have been written** (the write's outcome could not be learned; was version %s)\n", b.md(w.PreviousVersionID))
	case w.Changed:
		fmt.Fprintf(b, "- Secret version: %s (was %s)\n", b.md(w.VersionID), b.md(w.PreviousVersionID))
	default:
		fmt.Fprintf(b, "- Secret version: %s (already held these credentials; not written)\n", b.md(w.VersionID))
	}
}

func (s *SecretStored) changes() []string {
	w := s.Written
	switch {
	case w == nil:
		return nil
	case w.Unknown:
		return []string{fmt.Sprintf("secret %s may have been written: the write was sent, but its outcome could not be learned (list the secret's versions to see)", w.Name)}
	case w.Changed:
		return []string{fmt.Sprintf("secret %s now holds version %s (AWSCURRENT; version %s is AWSPREVIOUS)", w.Name, w.VersionID, w.PreviousVersionID)}
	}
	return nil
}

func (s *SecretStored) restored() (string, bool) {
	if s.Restored == nil {
		return "", false
	}
	return fmt.Sprintf("then the rollback made version %s AWSCURRENT again and redeployed the services", s.Restored.VersionID), true
}

func (s *SecretStored) rollbackState() []string {
	switch r := s.Restored; {
	case r == nil:
		return nil
	case r.Unknown:
		return []string{fmt.Sprintf("secret %s: which version is AWSCURRENT could not be read back", r.Name)}
	default:
		return []string{fmt.Sprintf("secret %s: AWSCURRENT is version %s", r.Name, r.VersionID)}
	}
}

func (s *SecretStored) rollbackSummary(b *summaryWriter) {
	if r := s.Restored; r != nil && !r.Unknown {
		fmt.Fprintf(b, "- Secret %s: AWSCURRENT is version %s\n", b.md(r.Name), b.md(r.VersionID))
	}
}

func (s *SecretStored) versionID() string {
	if s.Written == nil {
		return ""
	}
	return s.Written.VersionID
}

func (s *SecretStored) instances() []Instance { return nil }

// FleetStored is the ecs-config store's part: the fleet as planned and each
// container instance's own outcome (a restored one says so).
type FleetStored struct {
	Planned   plan.Fleet
	Instances []Instance
}

func (f *FleetStored) planLog(r *Reporter) {
	r.Infof("registry %s (the key written to ECS_ENGINE_AUTH_DATA)", f.Planned.RegistryKey)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tOS\tRESTART WITH\tAGENT\tCONNECTED\tSSM")
	for _, in := range f.Planned.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.cell(in.EC2InstanceID), r.cell(in.OS), r.cell(in.Init), r.cell(in.AgentVersion), yesNo(in.AgentConnected), r.cell(in.PingStatus))
	}
	tw.Flush()
	r.lines(b.String())
}

func (f *FleetStored) headline(*summaryWriter) {}

func (f *FleetStored) changes() []string {
	var changed, uncertain []string
	for _, in := range f.Instances {
		if in.FileChanged || in.Status == "restored" {
			changed = append(changed, in.EC2InstanceID)
		}
		if in.MaybeChanged && !in.FileChanged {
			uncertain = append(uncertain, in.EC2InstanceID)
		}
	}
	var parts []string
	if len(changed) > 0 {
		parts = append(parts, fmt.Sprintf("instances %s had their ecs.config rewritten or their agent restarted", strings.Join(changed, ", ")))
	}
	if len(uncertain) > 0 {
		parts = append(parts, fmt.Sprintf("instances %s may have had their ecs.config rewritten: the run stopped while their command ran", strings.Join(uncertain, ", ")))
	}
	return parts
}

// restored: the instances' own statuses say it.
func (f *FleetStored) restored() (string, bool)       { return "", false }
func (f *FleetStored) rollbackState() []string        { return nil }
func (f *FleetStored) rollbackSummary(*summaryWriter) {}
func (f *FleetStored) versionID() string              { return "" }
func (f *FleetStored) instances() []Instance          { return f.Instances }
