// Package rotate runs the pipeline and owns the decisions between its
// steps. Each step is a package of its own, and a step imports no later one
// (internal/docs TestBoundaries holds this):
//
//	inputs   Load: flags or INPUT_* → one validated Config, grouped by
//	         concern (Common, Credentials, SecretStore, ECSConfigStore,
//	         Rollout); bad input stops here with exit 2.
//	plan     ForSecret / ForFleet: what the rotation touches, read-only.
//	         Plan is what both stores share (cluster, services); each
//	         returns its own target beside it (plan.Secret, plan.Fleet).
//	verify   the new credentials pull every planned image from its registry.
//	lock     one run at a time: SSM parameters per cluster and per secret.
//	apply    the store: secret (Secrets Manager) or ecsconfig (SSM Run
//	         Command and the instance script).
//	rollout  Deploy (UpdateService), Watch (one loop for every service),
//	         Adopt (a re-run's earlier deployments).
//	report   the log, the job summary and the outputs of one report.Run.
//
// The stores plug in here, behind one interface (store, in store.go), chosen
// once by newStore where the run starts:
//
//	secretStore  plan.ForSecret   secret.Apply / secret.Restore      report.SecretStored
//	fleetStore   plan.ForFleet    ecsconfig.Apply / ecsconfig.Rollback report.FleetStored
//
// A store plans its target, says whether the credentials are already in
// place (and which services are older than them), applies, restores, says
// whether it changed anything and how to undo it by hand, and fills its own
// part of the report. Everything else (verify, lock, deploy, watch, the
// re-run's rules, the rollback's, a cancel's) exists once, in this package,
// for both; a third store (another instance OS, another secret store) is a
// third implementation of store and nothing more.
package rotate
