// Package script is the bash script that ecs-config mode runs on every ECS
// container instance through SSM Run Command (AWS-RunShellScript), and the
// protocol to call it and read its result.
//
// # Calling it
//
// Commands returns the "commands" lines: a #!/bin/bash line (the SSM agent
// runs the lines as a file through sh, so bash reads them, not a POSIX
// sh), single-quoted assignments of the Params, then the script. Under the
// parameter transport the lines carry the parameter's name, never the
// credential.
//
// The payload (the parameter's value, or InlineB64) is base64 of a JSON
// object with exactly one member, RegistryKey → the entry:
// dockercfg {"auth":"<base64 user:pass>","email":""}, docker
// {"username":"…","password":"…","email":""}. The member is written to
// ecs.config byte for byte as the payload has it.
//
// The script reads, besides the Params, the environment the SSM agent gives
// it (AWS_SSM_INSTANCE_ID, AWS_SSM_REGION_NAME) and what the SDKs honour:
// AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254),
// AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL, else
// https://ssm.<region>.amazonaws.com. ECS_REGISTRY_ROTATE_CONFIG_FILE
// (default /etc/ecs/ecs.config) lets tests point it at a temp file.
//
// # Modes
//
// Every mode first takes an exclusive flock on <config dir>/.ecs-registry-
// rotate.lock (an empty 0600 file) for its whole run, so that one of these
// scripts runs at a time on an instance (SSM may run a command twice);
// after LockWait: error locked. It then checks the config and that it can
// really be replaced: neither the file nor its directory is immutable or
// append-only (lsattr -d, where present: i or a), and a file can be made
// and renamed in the directory (else config-immutable).
//
// preflight changes nothing: it reads the config file, the restart tool,
// the parameter (IMDSv2 credentials, GetParameter signed with SigV4, its
// SHA-256 and HMACs computed in bash arithmetic so that no key leaves the
// shell; throttling, 5xx and transport errors retried with full-jitter
// backoff for ReadBudget, then parameter-throttled or parameter-error) and
// the payload; it refuses an ECS_ENGINE_AUTH_TYPE that differs from
// AuthType while ECS_ENGINE_AUTH_DATA holds other registries' entries, and
// new auth data that the agent would drop as a whole (auth-data-invalid,
// naming the member's key): an entry that is not an object or null, or a
// member of an entry that matches one of the fields the agent unmarshals
// it into (dockercfg: auth; docker: username, password, auth, email,
// serveraddress, identitytoken, registrytoken; matched as Go's
// encoding/json does, ignoring case) and is neither a string nor null.
//
// apply does the same reads, then leaves a file that already holds the type
// and this member alone, or writes the backup
// <config>.ecs-registry-rotate-<RunID>.bak (once per RunID, 0600, the
// original's owner; the original's mode, owner and sha256 recorded first
// in <config>.ecs-registry-rotate-<RunID>.state, 0600) and the new file
// through a temp file in the same directory with the config's mode and
// owner, read back, renamed over. Other lines stay byte for byte (CRLF and
// a last line without newline included); the first line of each variable
// is replaced in place, later ones dropped, missing ones appended; the
// other registries' members are kept, and any member whose key the agent
// would treat as RegistryKey (scheme stripped, Docker Hub spellings,
// trailing slashes) is replaced. A file that holds the data already is
// file=updated when this run wrote it (its backup is there and its state
// says so: a second delivery of the same apply), else file=unchanged. apply
// then deletes the backups older than this run's and the newest other
// one, with their state files (pruned=).
//
// rollback checks the backup against the recorded sha256 (backup-mismatch
// when it differs or was never recorded; no backup: no-backup) and puts it
// back the same way, with the recorded mode and owner (file=restored; a
// second rollback of the run finds it back: file=restored again;
// file=unchanged when the apply never changed the file).
//
// Then, when Restart: systemd "systemctl restart ecs", upstart "stop ecs"
// (its failure ignored) and "start ecs", always after a write of this
// script. Otherwise the agent is restarted unless this run already
// restarted it since the config was last written (the state file records
// the file's device, inode and mtime at each restart; on systemd the unit
// must also not be down) or "systemctl show ecs --property=ActiveState
// --property=ActiveEnterTimestamp" says it is active and entered that state
// after the file's mtime (agent=restart-not-needed).
//
// # Result
//
// Success: exit status 0 and the last stdout line, one blank between
// fields, no blank inside a value:
//
//	ecs-registry-rotate: ok mode=<mode> file=<updated|unchanged|restored|checked>
//	  agent=<restarted|not-restarted|restart-not-needed> written=<epoch.ns>
//	  prior=<run id|-> backup=<%XX-encoded path> [pruned=<n>]
//	  [keys=<base64 JSON array> [keys-omitted=<n>]]
//
// (see Result). Failure: a non-zero exit status and the last stderr line
//
//	ecs-registry-rotate: error: <code>: <message>
//
// with one of the Code… constants. Lines before them start with
// "ecs-registry-rotate: note: "; "dormant-keys <base64 JSON array>[
// more=<n>]" is one (Result.DormantKeys). The script prints no credential,
// payload, base64 of either, nor anything derived from them, nor IMDS
// credentials; its messages are at most 300 printable bytes and its key
// lists bounded, so the whole output stays below the 2,400 bytes the SSM
// agent keeps of a plugin's output. ParseResult and ParseOutput read it.
package script

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Body is the script.
//
//go:embed rotate.sh
var Body string

// Params are the script's inputs.
type Params struct {
	Mode        string // "preflight" | "apply" | "rollback"
	RunID       string // [a-z0-9-]{1,64}: names the backup (and, for A, the parameter)
	Transport   string // "parameter" | "inline"
	Parameter   string // SSM parameter name, parameter transport
	InlineB64   string // inline transport: base64(payload)
	AuthType    string // "dockercfg" | "docker"
	RegistryKey string // e.g. "https://index.docker.io/v1/" or "registry.example.com:5000"
	Init        string // "systemd" (AL2, AL2023) | "upstart" (AL1)
	Restart     bool   // restart-agent input
	// ReadBudget bounds the retries of GetParameter (throttling, 5xx,
	// transport errors) under the parameter transport; whole seconds, 1s
	// to 1h. Zero: the script's default, DefaultReadBudget.
	ReadBudget time.Duration
	// LockWait bounds the wait for another of these scripts on the same
	// instance (each holds a lock for its whole run); whole seconds, 1s to
	// 1h. Zero: the script's default, DefaultLockWait. Keep it under the
	// command's executionTimeout.
	LockWait time.Duration
}

// The script's own ReadBudget and LockWait.
const (
	DefaultReadBudget = 60 * time.Second
	DefaultLockWait   = 110 * time.Second
)

// maxBudget bounds the script's waits.
const maxBudget = time.Hour

// Modes, transports, auth types and inits.
const (
	ModePreflight = "preflight"
	ModeApply     = "apply"
	ModeRollback  = "rollback"

	TransportParameter = "parameter"
	TransportInline    = "inline"

	AuthTypeDockercfg = "dockercfg"
	AuthTypeDocker    = "docker"

	InitSystemd = "systemd"
	InitUpstart = "upstart"
)

// Values of the ok line's file= and agent= fields. FileUpdated and
// FileRestored are the instance's outcome for the run: the script wrote the
// file now, or an earlier delivery of the same command did. FileUnchanged:
// the file was as wanted without this run writing it.
const (
	FileUpdated   = "updated"
	FileUnchanged = "unchanged"
	FileRestored  = "restored"
	FileChecked   = "checked"

	AgentRestarted        = "restarted"
	AgentNotRestarted     = "not-restarted"
	AgentRestartNotNeeded = "restart-not-needed"
)

// Error codes of the error line. CodeNoResult is ParseResult's own: the
// output held no result line (killed, timed out, not this script).
const (
	CodeConfigMissing         = "config-missing"
	CodeConfigUnreadable      = "config-unreadable"
	CodeConfigDirNotWritable  = "config-dir-not-writable"
	CodeConfigImmutable       = "config-immutable"
	CodeRestartToolMissing    = "restart-tool-missing"
	CodeIMDSUnavailable       = "imds-unavailable"
	CodeParameterDenied       = "parameter-denied"
	CodeParameterNotFound     = "parameter-not-found"
	CodeParameterError        = "parameter-error"
	CodeParameterThrottled    = "parameter-throttled"
	CodeLocked                = "locked"
	CodePayloadInvalid        = "payload-invalid"
	CodeAuthTypeMismatch      = "auth-type-mismatch"
	CodeAuthDataInvalid       = "auth-data-invalid"
	CodeWriteFailed           = "write-failed"
	CodeRestartFailed         = "restart-failed"
	CodeNoBackup              = "no-backup"
	CodeBackupMismatch        = "backup-mismatch"
	CodeBadParams             = "bad-params"
	CodeNoResult              = "no-result"
	resultPrefix              = "ecs-registry-rotate: "
	okPrefix                  = resultPrefix + "ok"
	errorPrefix               = resultPrefix + "error: "
	notePrefix                = resultPrefix + "note: "
	dormantNote               = "dormant-keys "
	maxPayload                = 32 << 10
	variablePrefix            = "ECSRR_"
	shebang                   = "#!/bin/bash"
	pluginErrorHeader         = "\n----------ERROR-------\n"
	pluginOutputTruncatedMark = "\n---Output truncated---"
	pluginErrorTruncatedMark  = "\n---Error truncated----"
)

var (
	runIDRe       = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	parameterRe   = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	registryKeyRe = regexp.MustCompile(`^[]!#-&(-[^-~]{1,256}$`)
)

// Validate says what is wrong with p, if anything. Its messages never
// quote InlineB64.
func (p Params) Validate() error {
	var errs []error
	switch p.Mode {
	case ModePreflight, ModeApply, ModeRollback:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want preflight, apply or rollback", p.Mode))
	}
	if !runIDRe.MatchString(p.RunID) {
		errs = append(errs, fmt.Errorf("run id %q: want [a-z0-9-]{1,64}", p.RunID))
	}
	switch p.Init {
	case InitSystemd, InitUpstart:
	default:
		errs = append(errs, fmt.Errorf("init %q: want systemd or upstart", p.Init))
	}
	if err := checkSeconds("lock wait", p.LockWait); err != nil {
		errs = append(errs, err)
	}
	if p.Mode == ModeRollback {
		return errors.Join(errs...)
	}
	if err := checkSeconds("read budget", p.ReadBudget); err != nil {
		errs = append(errs, err)
	}
	switch p.AuthType {
	case AuthTypeDockercfg, AuthTypeDocker:
	default:
		errs = append(errs, fmt.Errorf("auth type %q: want dockercfg or docker", p.AuthType))
	}
	if !registryKeyRe.MatchString(p.RegistryKey) {
		errs = append(errs, fmt.Errorf("registry key %q: want 1 to 256 printable ASCII characters without spaces, quotes or backslashes", p.RegistryKey))
	}
	switch p.Transport {
	case TransportParameter:
		if !parameterRe.MatchString(p.Parameter) || len(p.Parameter) > 1011 {
			errs = append(errs, fmt.Errorf("parameter name %q: want [A-Za-z0-9_./-]{1,1011}", p.Parameter))
		}
		if p.InlineB64 != "" {
			errs = append(errs, errors.New("the parameter transport carries no inline payload"))
		}
	case TransportInline:
		if p.Parameter != "" {
			errs = append(errs, errors.New("the inline transport names no parameter"))
		}
		if err := CheckPayload(p.InlineB64, p.RegistryKey, p.AuthType); err != nil {
			errs = append(errs, fmt.Errorf("inline payload: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("transport %q: want parameter or inline", p.Transport))
	}
	return errors.Join(errs...)
}

// checkSeconds: d is zero (the script's default) or whole seconds from 1s
// to maxBudget.
func checkSeconds(what string, d time.Duration) error {
	if d != 0 && (d%time.Second != 0 || d < time.Second || d > maxBudget) {
		return fmt.Errorf("%s %s: want whole seconds from 1s to %s", what, d, maxBudget)
	}
	return nil
}

// CheckPayload checks b64 as the script will: standard base64 of one line
// of JSON, an object with exactly one member whose key is registryKey and
// whose entry has the members authType needs, as strings. Its messages
// never quote the payload.
func CheckPayload(b64, registryKey, authType string) error {
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) == 0 {
		return errors.New("not standard base64 with padding")
	}
	if len(raw) > maxPayload {
		return fmt.Errorf("%d bytes, more than %d", len(raw), maxPayload)
	}
	if bytes.ContainsAny(raw, "\x00\r\n") {
		return errors.New("not one line of JSON")
	}
	keys, values, err := objectMembers(raw)
	if err != nil {
		return errors.New("not a JSON object")
	}
	if len(keys) != 1 {
		return fmt.Errorf("%d members, want exactly one", len(keys))
	}
	if keys[0] != registryKey {
		return errors.New("its member's key is not the registry key")
	}
	var entry map[string]any
	if err := json.Unmarshal(values[0], &entry); err != nil {
		return errors.New("its entry is not a JSON object")
	}
	need := []string{"auth"}
	if authType == AuthTypeDocker {
		need = []string{"username", "password"}
	}
	for _, k := range need {
		if _, ok := entry[k].(string); !ok {
			return fmt.Errorf("a %s entry needs a string member %q", authType, k)
		}
	}
	return nil
}

// objectMembers returns the keys and raw values of a JSON object, in
// order, duplicates included.
func objectMembers(raw []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not an object")
	}
	var keys []string
	var values []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, tok.(string))
		values = append(values, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the object")
	}
	return keys, values, nil
}

// Commands returns the AWS-RunShellScript "commands" lines: #!/bin/bash,
// safely single-quoted variable assignments, then Body. They never contain
// the credential under the parameter transport, nor under rollback. Invalid
// Params (check Validate first) give lines that only fail with bad-params.
func Commands(p Params) []string {
	if err := p.Validate(); err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		return []string{shebang,
			"printf '%s\\n' " + shellQuote(errorPrefix+CodeBadParams+": "+msg) + " >&2",
			"exit 1"}
	}
	restart := "false"
	if p.Restart {
		restart = "true"
	}
	vars := [][2]string{{"MODE", p.Mode}, {"RUN_ID", p.RunID}, {"INIT", p.Init}, {"RESTART", restart}}
	if p.LockWait != 0 {
		vars = append(vars, [2]string{"LOCK_WAIT", strconv.Itoa(int(p.LockWait / time.Second))})
	}
	if p.Mode != ModeRollback {
		vars = append(vars, [2]string{"AUTH_TYPE", p.AuthType}, [2]string{"REGISTRY_KEY", p.RegistryKey},
			[2]string{"TRANSPORT", p.Transport})
		if p.Transport == TransportParameter {
			vars = append(vars, [2]string{"PARAMETER", p.Parameter})
			if p.ReadBudget != 0 {
				vars = append(vars, [2]string{"READ_BUDGET", strconv.Itoa(int(p.ReadBudget / time.Second))})
			}
		} else {
			vars = append(vars, [2]string{"INLINE_B64", p.InlineB64})
		}
	}
	lines := []string{shebang}
	for _, v := range vars {
		lines = append(lines, variablePrefix+v[0]+"="+shellQuote(v[1]))
	}
	body := strings.Split(strings.TrimSuffix(Body, "\n"), "\n")
	if len(body) > 0 && strings.HasPrefix(body[0], "#!") {
		body = body[1:]
	}
	return append(lines, body...)
}

// shellQuote single-quotes s for sh and bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Result is what the script's output says.
type Result struct {
	OK bool
	// The ok line's fields.
	Mode, File, Agent string
	// Written is when the config file was last written, by the instance's
	// clock; zero when unknown.
	Written time.Time
	// Prior is the run id of the newest backup on the instance that is not
	// this run's; "" when there is none.
	Prior string
	// Backup is the path of this run's backup (in preflight, the path it
	// would have), through a symlinked config to the real file.
	Backup string
	// Pruned is how many older backups apply deleted (only the newest two
	// are kept, this run's included).
	Pruned int
	// Keys (preflight and apply) are the registry keys of the
	// ECS_ENGINE_AUTH_DATA that apply writes (or left as it was), decoded:
	// first those on RegistryKey's host (the ones the agent weighs against
	// ours for that registry's images), then the others, in file order.
	// KeysOmitted counts the keys left out for room (only ever from the
	// end); nil Keys: the ok line had none.
	Keys        []string
	KeysOmitted int
	// DormantKeys are the registry keys of entries that the agent could not
	// read before (the old value was quoted, or of the wrong shape for its
	// type) and that the rewrite makes live; DormantOmitted counts those
	// left out for room. A warning, not a failure.
	DormantKeys    []string
	DormantOmitted int
	// The error line's code (or CodeNoResult) and message. The message
	// comes from the instance: quote it, do not trust it.
	Code, Message string
	// The note lines, without their prefix.
	Notes []string
}

// Err is nil for a successful run, else an error "<code>: <message>".
func (r Result) Err() error {
	if r.OK {
		return nil
	}
	return fmt.Errorf("%s: %s", r.Code, r.Message)
}

// ParseResult reads the script's stdout and stderr. An error line (the last
// one in stderr) wins over an ok line (the last one in stdout); neither
// gives Code CodeNoResult.
func ParseResult(stdout, stderr string) Result {
	var res Result
	for _, line := range lines(stdout) {
		if note, ok := strings.CutPrefix(line, notePrefix); ok {
			res.Notes = append(res.Notes, note)
			if rest, ok := strings.CutPrefix(note, dormantNote); ok {
				b64, more, _ := strings.Cut(strings.TrimSpace(rest), " ")
				res.DormantKeys = decodeKeys(b64)
				res.DormantOmitted, _ = strconv.Atoi(strings.TrimPrefix(more, "more="))
			}
		}
	}
	if line, ok := lastWithPrefix(stderr, errorPrefix); ok {
		code, msg, _ := strings.Cut(strings.TrimPrefix(line, errorPrefix), ": ")
		res.Code, res.Message = strings.TrimSpace(code), strings.TrimSpace(msg)
		return res
	}
	if line, ok := lastWithPrefix(stdout, okPrefix+" "); ok {
		res.OK = true
		for _, f := range strings.Fields(strings.TrimPrefix(line, okPrefix)) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "mode":
				res.Mode = v
			case "file":
				res.File = v
			case "agent":
				res.Agent = v
			case "written":
				res.Written = parseEpoch(v)
			case "prior":
				if v != "-" {
					res.Prior = v
				}
			case "backup":
				if p, err := url.PathUnescape(v); err == nil {
					res.Backup = p
				} else {
					res.Backup = v
				}
			case "pruned":
				res.Pruned, _ = strconv.Atoi(v)
			case "keys":
				res.Keys = decodeKeys(v)
			case "keys-omitted":
				res.KeysOmitted, _ = strconv.Atoi(v)
			}
		}
		return res
	}
	res.Code, res.Message = CodeNoResult, "the script printed no result line"
	return res
}

// decodeKeys reads base64 of a JSON array of strings; nil when it is not.
func decodeKeys(b64 string) []string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil
	}
	keys := []string{}
	if json.Unmarshal(raw, &keys) != nil {
		return nil
	}
	return keys
}

// ParseOutput reads a plugin's Output as SSM returns it
// (ListCommandInvocations with Details): see SplitPluginOutput.
func ParseOutput(output string) Result {
	return ParseResult(SplitPluginOutput(output))
}

// SplitPluginOutput splits an SSM plugin Output, which the SSM agent builds
// as stdout, then "\n----------ERROR-------\n" and stderr when stderr is not
// empty, each cut with a "---Output truncated---" or "---Error
// truncated----" mark when the whole passes 2,400 bytes.
func SplitPluginOutput(output string) (stdout, stderr string) {
	stdout, stderr, _ = strings.Cut(output, pluginErrorHeader)
	stdout = strings.TrimSuffix(stdout, pluginOutputTruncatedMark)
	stderr = strings.TrimSuffix(stderr, pluginErrorTruncatedMark)
	return stdout, stderr
}

func lines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func lastWithPrefix(s, prefix string) (string, bool) {
	ls := lines(s)
	for i := len(ls) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(ls[i]); strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

// parseEpoch reads "seconds.nanoseconds" (date +%s.%N); zero when it is not.
func parseEpoch(v string) time.Time {
	secText, nsText, _ := strings.Cut(v, ".")
	sec, err := strconv.ParseInt(secText, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	ns, err := strconv.ParseInt((nsText + "000000000")[:9], 10, 64)
	if err != nil {
		ns = 0
	}
	return time.Unix(sec, ns)
}
