package script_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsfake"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// The tools rotate.sh may use. The script runs with PATH = the stubs, then
// a directory of links to exactly these: a missing one fails the tests.
// (sed, od, cut, wc, tr, base64, dirname and basename are no longer among
// them: bash does their work without a process.)
var scriptTools = []string{"bash", "curl", "sha256sum",
	"date", "stat", "mktemp", "chmod", "chown", "mv", "cat", "rm", "readlink", "sleep", "flock", "ln"}

const (
	hubKey     = "https://index.docker.io/v1/"
	instanceID = "i-0123456789abcdef0"
	region     = "eu-west-1"
	paramName  = "/ecs-registry-rotate/run-1"
	runID      = "run-1"
)

// ---------------------------------------------------------------- fake AWS

// fakeAWS is IMDS and SSM GetParameter for the instances, from awsfake.
type fakeAWS struct {
	srv    *httptest.Server
	mu     sync.Mutex
	roles  map[string]awsfake.InstanceRole
	params map[string]awsfake.InstanceParameter
	// throttle: how many of the next GetParameter calls are answered
	// ThrottlingException (-1: all); reads counts the calls.
	throttle, reads int
}

// throttled counts a GetParameter call and says whether to throttle it.
func (f *fakeAWS) throttled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.throttle == 0 {
		return false
	}
	if f.throttle > 0 {
		f.throttle--
	}
	return true
}

func (f *fakeAWS) setThrottle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.reads = n, 0
}

func (f *fakeAWS) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeAWS) LookupParameter(name string) (awsfake.InstanceParameter, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.params[name]
	return p, ok
}

func (f *fakeAWS) setParam(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.params[name] = awsfake.InstanceParameter{Type: "SecureString", Value: value, Version: 1, LastModified: time.Now()}
}

func (f *fakeAWS) setRole(id string, r awsfake.InstanceRole) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[id] = r
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{roles: map[string]awsfake.InstanceRole{instanceID: {Name: "ecsInstanceRole", AllowGetParameter: true}},
		params: map[string]awsfake.InstanceParameter{}}
	ep := awsfake.NewInstanceEndpoints(awsfake.InstanceEndpointsConfig{Region: region, Parameters: f,
		Role: func(id string) (awsfake.InstanceRole, bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			r, ok := f.roles[id]
			return r, ok
		}})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, awsfake.IMDSPathPrefix) && f.throttled() {
			// As SSM answers a GetParameter over the account's throughput.
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		ep.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// imdsSecrets reads the instance's credentials as the script does, to check
// that they appear in no output.
func (f *fakeAWS) imdsSecrets(t *testing.T) []string {
	t.Helper()
	get := func(method, path string, h map[string]string) string {
		req, _ := http.NewRequest(method, f.srv.URL+"/imds/"+instanceID+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return ""
		}
		return string(b)
	}
	tok := get(http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	h := map[string]string{"X-aws-ec2-metadata-token": tok}
	role := get(http.MethodGet, "/latest/meta-data/iam/security-credentials/", h)
	var c struct{ SecretAccessKey, Token string }
	if role != "" {
		_ = json.Unmarshal([]byte(get(http.MethodGet, "/latest/meta-data/iam/security-credentials/"+role, h)), &c)
	}
	return []string{c.SecretAccessKey, c.Token, tok}
}

// ---------------------------------------------------------------- instance

// instance is one container instance: a directory holding ecs.config, the
// stubs, and the environment the SSM agent would give the script.
type instance struct {
	t      *testing.T
	aws    *fakeAWS
	dir    string // the config's directory
	cfg    string
	stubs  string
	tmpdir string
	log    string
	ts     string // file holding the stub's ActiveEnterTimestamp
	path   string
	bash   string
	extra  []string
	// maxOutput bounds stdout+stderr; 0: 1,500 bytes, well under the
	// 2,400 that SSM keeps.
	maxOutput int
}

var awkVariants = func() map[string]string {
	out := map[string]string{}
	for _, name := range []string{"gawk", "mawk"} {
		if p, err := exec.LookPath(name); err == nil {
			out[name] = p
		}
	}
	if len(out) == 0 {
		if p, err := exec.LookPath("awk"); err == nil {
			out["awk"] = p
		}
	}
	return out
}()

func anyAwk() string {
	for _, name := range []string{"gawk", "mawk", "awk"} {
		if p, ok := awkVariants[name]; ok {
			return p
		}
	}
	return ""
}

// newInstance sets one up with init's stubs ("" = none) and the awk at awkPath.
func newInstance(t *testing.T, f *fakeAWS, init, awkPath string) *instance {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.SkipMissing(t, "bash is not installed (Debian package bash): the instance script cannot be tested")
	}
	root := t.TempDir()
	in := &instance{t: t, aws: f, bash: bash, dir: filepath.Join(root, "etc-ecs"), stubs: filepath.Join(root, "stubs"),
		tmpdir: filepath.Join(root, "tmp"), log: filepath.Join(root, "restart.log"), ts: filepath.Join(root, "active-enter")}
	in.cfg = filepath.Join(in.dir, "ecs.config")
	sysbin := filepath.Join(root, "sysbin")
	for _, d := range []string{in.dir, in.stubs, in.tmpdir, sysbin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range scriptTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is not installed; the instance script needs it", tool)
		}
		if err := os.Symlink(p, filepath.Join(sysbin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if awkPath == "" {
		t.Fatal("no awk installed")
	}
	if err := os.Symlink(awkPath, filepath.Join(sysbin, "awk")); err != nil {
		t.Fatal(err)
	}
	stub := func(name, body string) {
		script := "#!" + bash + "\nprintf '%s %s\\n' " + name + " \"$*\" >>\"$STUB_LOG\"\n" + body
		if err := os.WriteFile(filepath.Join(in.stubs, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	switch init {
	case script.InitSystemd:
		stub("systemctl", `case $1 in
show) printf 'Id=ecs.service\nActiveState=%s\nActiveEnterTimestamp=%s\n' "${STUB_STATE:-active}" "$(cat "$STUB_TS" 2>/dev/null)" ;;
restart) if [ -n "${STUB_FAIL:-}" ]; then echo "Job for ecs.service failed because the control process exited with error code." >&2; exit 1; fi ;;
esac
`)
	case script.InitUpstart:
		stub("stop", "")
		stub("start", `if [ -n "${STUB_FAIL:-}" ]; then echo "start: Job failed to start" >&2; exit 1; fi`+"\n")
	}
	in.path = in.stubs + ":" + sysbin
	return in
}

func (in *instance) write(content string, perm os.FileMode) {
	in.t.Helper()
	if err := os.WriteFile(in.cfg, []byte(content), perm); err != nil {
		in.t.Fatal(err)
	}
	if err := os.Chmod(in.cfg, perm); err != nil {
		in.t.Fatal(err)
	}
}

func (in *instance) read() []byte {
	in.t.Helper()
	b, err := os.ReadFile(in.cfg)
	if err != nil {
		in.t.Fatal(err)
	}
	return b
}

func (in *instance) env() []string {
	return append([]string{
		"PATH=" + in.path,
		"HOME=" + in.tmpdir,
		"TMPDIR=" + in.tmpdir,
		"STUB_LOG=" + in.log,
		"STUB_TS=" + in.ts,
		"ECS_REGISTRY_ROTATE_CONFIG_FILE=" + in.cfg,
		"AWS_SSM_INSTANCE_ID=" + instanceID,
		"AWS_SSM_REGION_NAME=" + region,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + in.aws.srv.URL + "/imds/" + instanceID,
		"AWS_ENDPOINT_URL_SSM=" + in.aws.srv.URL,
	}, in.extra...)
}

type run struct {
	stdout, stderr string
	exit           int
	res            script.Result
}

// runLines runs the commands as the fake SSM does: bash -c, lines joined.
func (in *instance) runLines(lines []string) run {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.bash, "-c", strings.Join(lines, "\n"))
	cmd.Env = in.env()
	cmd.Dir = in.tmpdir
	return in.finish(cmd)
}

func (in *instance) finish(cmd *exec.Cmd) run {
	in.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		in.t.Fatal(err)
	}
	r.res = script.ParseResult(r.stdout, r.stderr)
	if (r.exit == 0) != r.res.OK {
		in.t.Errorf("exit status %d but result %+v\nstdout:\n%s\nstderr:\n%s", r.exit, r.res, r.stdout, r.stderr)
	}
	maxOutput := in.maxOutput
	if maxOutput == 0 {
		maxOutput = 1500
	}
	if n := strings.Count(r.stdout+r.stderr, "\n"); n > 6 || len(r.stdout+r.stderr) > maxOutput {
		in.t.Errorf("%d lines, %d bytes of output: keep it short for SSM's 2,400 bytes\n%s%s", n, len(r.stdout+r.stderr), r.stdout, r.stderr)
	}
	if !r.res.OK && r.res.Code != script.CodeNoResult {
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ecs-registry-rotate: error: "+r.res.Code+": ") {
			in.t.Errorf("the error line is not the last line of stderr:\n%s", r.stderr)
		}
	}
	if entries, _ := os.ReadDir(in.tmpdir); len(entries) > 0 {
		in.t.Errorf("the script left %d files in TMPDIR", len(entries))
	}
	return r
}

func (in *instance) run(p script.Params) run {
	in.t.Helper()
	if err := p.Validate(); err != nil {
		in.t.Fatalf("params: %v", err)
	}
	return in.runLines(script.Commands(p))
}

// runWith runs p with env added to the instance's environment; safe to
// call from several goroutines.
func (in *instance) runWith(p script.Params, env ...string) run {
	if err := p.Validate(); err != nil {
		in.t.Errorf("params: %v", err)
		return run{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.bash, "-c", strings.Join(script.Commands(p), "\n"))
	cmd.Env = append(in.env(), env...)
	cmd.Dir = in.tmpdir
	return in.finish(cmd)
}

func (in *instance) restarts() []string {
	b, _ := os.ReadFile(in.log)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" && !strings.HasPrefix(l, "systemctl show") {
			out = append(out, l)
		}
	}
	return out
}

func (in *instance) clearLog() { _ = os.Remove(in.log) }

func (in *instance) setActiveEnter(t time.Time) {
	in.t.Helper()
	if err := os.WriteFile(in.ts, []byte(t.UTC().Format("Mon 2006-01-02 15:04:05 MST")), 0o644); err != nil {
		in.t.Fatal(err)
	}
}

// lockName is the script's lock file, next to the config.
const lockName = ".ecs-registry-rotate.lock"

// dirState is every file of the instance's config directory: name, mode,
// size, mtime and content hash; the script's empty lock file and the
// directories' mtimes (the script probes that it can rename files there)
// left out.
func (in *instance) dirState() string {
	in.t.Helper()
	var sb strings.Builder
	_ = filepath.WalkDir(in.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if d.Name() == lockName && fi.Size() == 0 {
			return nil
		}
		mtime := fi.ModTime().UnixNano()
		if fi.IsDir() {
			mtime = 0
		}
		sum := ""
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		fmt.Fprintf(&sb, "%s %v %d %d %s\n", p, fi.Mode(), fi.Size(), mtime, sum)
		return nil
	})
	return sb.String()
}

// ---------------------------------------------------------------- credentials

type cred struct{ user, pass string }

// payload is the one-member JSON object as R and A build it.
func payload(t *testing.T, authType, key string, c cred, escapeHTML bool) string {
	t.Helper()
	var entry any
	if authType == script.AuthTypeDocker {
		entry = struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Email    string `json:"email"`
		}{c.user, c.pass, ""}
	} else {
		entry = struct {
			Auth  string `json:"auth"`
			Email string `json:"email"`
		}{base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.pass)), ""}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(map[string]any{key: entry}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secretForms are the encodings of c and of the payload that must never be
// printed.
func secretForms(c cred, payloads ...string) []string {
	esc, _ := json.Marshal(c.pass)
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(c.pass)
	out := []string{c.pass, b64(c.user + ":" + c.pass), strings.Trim(string(esc), `"`),
		strings.Trim(strings.TrimSpace(noHTML.String()), `"`), b64(c.pass)}
	for _, p := range payloads {
		out = append(out, p, b64(p))
	}
	return out
}

func noSecrets(t *testing.T, r run, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("the output holds a credential (%d bytes)", len(s))
		}
	}
}

// ---------------------------------------------------------------- ecs.config as ecs-init and the agent read it

// ecsInit reads a config as ecs-init's getEnvVars does.
func ecsInit(b []byte) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(strings.TrimSpace(line), "=", 2)
		if len(parts) == 2 {
			env[parts[0]] = parts[1]
		}
	}
	return env
}

// agentCred is the credential the agent's dockerauth gives an image of
// registryKey's registry, from the config's environment.
func agentCred(t *testing.T, env map[string]string, registryKey string) (cred, bool) {
	t.Helper()
	want := strings.TrimPrefix(strings.TrimPrefix(registryKey, "https://"), "http://")
	switch env["ECS_ENGINE_AUTH_TYPE"] {
	case "dockercfg":
		var m map[string]struct{ Auth string }
		if err := json.Unmarshal([]byte(env["ECS_ENGINE_AUTH_DATA"]), &m); err != nil {
			t.Errorf("ECS_ENGINE_AUTH_DATA does not parse: %v", err)
			return cred{}, false
		}
		for k, v := range m {
			if strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://") == want {
				d, err := base64.StdEncoding.DecodeString(v.Auth)
				u, p, ok := strings.Cut(string(d), ":")
				return cred{u, p}, err == nil && ok
			}
		}
	case "docker":
		var m map[string]struct{ Username, Password string }
		if err := json.Unmarshal([]byte(env["ECS_ENGINE_AUTH_DATA"]), &m); err != nil {
			t.Errorf("ECS_ENGINE_AUTH_DATA does not parse: %v", err)
			return cred{}, false
		}
		for k, v := range m {
			if strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://") == want {
				return cred{v.Username, v.Password}, true
			}
		}
	}
	return cred{}, false
}

// pieces splits a file into lines, each with its terminator.
func pieces(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

func withTerminator(b []byte) []string {
	ps := pieces(b)
	if len(ps) > 0 && bytes.HasSuffix(b, []byte("\n")) {
		ps[len(ps)-1] += "\n"
	}
	return ps
}

func isAuthLine(line string) (string, bool) {
	k, _, ok := strings.Cut(strings.TrimSpace(line), "=")
	return k, ok && (k == "ECS_ENGINE_AUTH_TYPE" || k == "ECS_ENGINE_AUTH_DATA")
}

// checkOtherLines: every line but the two variables' is kept, in order,
// byte for byte; the old last line may have gained its terminator.
func checkOtherLines(t *testing.T, before, after []byte) {
	t.Helper()
	var b, a []string
	for _, p := range withTerminator(before) {
		if _, ok := isAuthLine(p); !ok {
			b = append(b, p)
		}
	}
	for _, p := range withTerminator(after) {
		if _, ok := isAuthLine(p); !ok {
			a = append(a, p)
		}
	}
	if len(a) != len(b) {
		t.Fatalf("other lines: %d before, %d after\nbefore %q\nafter  %q", len(b), len(a), before, after)
	}
	for i := range b {
		if a[i] == b[i] {
			continue
		}
		last := i == len(b)-1 && !strings.HasSuffix(b[i], "\n")
		if last && (a[i] == b[i]+"\n" || a[i] == b[i]+"\r\n") {
			continue
		}
		t.Errorf("line %d changed: %q -> %q", i, b[i], a[i])
	}
}

// checkAuthLines: exactly one line of each variable, the type as given,
// the data unquoted on one line.
func checkAuthLines(t *testing.T, after []byte, authType string) {
	t.Helper()
	count := map[string]int{}
	for _, p := range withTerminator(after) {
		if k, ok := isAuthLine(p); ok {
			count[k]++
			line := strings.TrimRight(p, "\r\n")
			if k == "ECS_ENGINE_AUTH_TYPE" && line != "ECS_ENGINE_AUTH_TYPE="+authType {
				t.Errorf("type line %q", line)
			}
			if k == "ECS_ENGINE_AUTH_DATA" && !strings.HasPrefix(line, "ECS_ENGINE_AUTH_DATA={") {
				t.Errorf("data line not an unquoted JSON object: %.40q", line)
			}
		}
	}
	if count["ECS_ENGINE_AUTH_TYPE"] != 1 || count["ECS_ENGINE_AUTH_DATA"] != 1 {
		t.Errorf("variable lines: %v, want exactly one of each", count)
	}
}

// checkLineEnds: a file whose lines all end in CRLF keeps doing so.
func checkLineEnds(t *testing.T, before, after []byte) {
	t.Helper()
	if len(before) == 0 || bytes.Count(before, []byte("\r\n")) != bytes.Count(before, []byte("\n")) || !bytes.HasSuffix(before, []byte("\n")) {
		return
	}
	if bytes.Count(after, []byte("\r\n")) != bytes.Count(after, []byte("\n")) {
		t.Errorf("a CRLF file got LF lines: %q", after)
	}
}

func fileMode(t *testing.T, p string) (os.FileMode, uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), st.Uid, st.Gid
}

func dataMembers(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ecsInit(b)["ECS_ENGINE_AUTH_DATA"]), &m); err != nil {
		t.Fatalf("ECS_ENGINE_AUTH_DATA does not parse: %v", err)
	}
	return m
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return buf.String()
}

// ---------------------------------------------------------------- realistic files

const (
	quayEntry = `{"auth":"cXVheTpxdWF5LXBhc3M=","email":"ops@example.com"}`
	// An AL2023 user-data file: other settings, a comment, the variables
	// with another registry's entry, a last line without newline.
	fileWithVars = "ECS_CLUSTER=prod-cluster\n" +
		"ECS_ENABLE_TASK_IAM_ROLE=true\n" +
		"# registry credentials (rotated by ecs-registry-rotate)\n" +
		"ECS_ENGINE_AUTH_TYPE=dockercfg\n" +
		`ECS_ENGINE_AUTH_DATA={"quay.io":` + quayEntry + `,"https://index.docker.io/v1/":{"auth":"b2xkOm9sZC1wYXNz","email":""}}` + "\n" +
		"ECS_CONTAINER_STOP_TIMEOUT=2m\n" +
		"ECS_RESERVED_MEMORY=256"
	fileWithoutVars = "ECS_CLUSTER=prod-cluster\nECS_LOGLEVEL=info\n\n# no registry auth yet\nECS_AVAILABLE_LOGGING_DRIVERS=[\"json-file\",\"awslogs\"]\n"
	// Windows line ends, an old value in single quotes (which the agent
	// never parsed), another registry to keep.
	fileCRLFQuoted = "ECS_CLUSTER=legacy\r\n" +
		"ECS_ENGINE_AUTH_TYPE=dockercfg\r\n" +
		`ECS_ENGINE_AUTH_DATA='{"quay.io":` + quayEntry + `, "docker.io": {"auth":"b2xkOm9sZA==","email":""}}'` + "\r\n" +
		"ECS_ENABLE_SPOT_INSTANCE_DRAINING=true\r\n"
	// Duplicates (the last wins for ecs-init), leading blanks, and the last
	// line (a duplicate) without newline.
	fileDuplicates = "ECS_ENGINE_AUTH_TYPE=docker\n" +
		`ECS_ENGINE_AUTH_DATA={"stale.example.com":{"username":"a","password":"b","email":""}}` + "\n" +
		"ECS_CLUSTER=dup\n" +
		"  ECS_ENGINE_AUTH_TYPE=dockercfg\n" +
		"ECS_ENGINE_AUTH_DATA ={\"not\":\"the variable: a blank before =\"}\n" +
		`ECS_ENGINE_AUTH_DATA={"quay.io":` + quayEntry + `}`
	fileDockerType = "ECS_CLUSTER=docker-type\n" +
		"ECS_ENGINE_AUTH_TYPE=docker\n" +
		`ECS_ENGINE_AUTH_DATA={"ghcr.io":{"username":"bot","password":"gh-pass","email":"bot@example.com"},"http://registry.example.com:5000/":{"username":"old","password":"old","email":""}}` + "\n"
	fileBadJSON = "ECS_CLUSTER=broken\nECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={\"quay.io\":{\"auth\":\n"
)

type applyCase struct {
	name        string
	file        string
	perm        os.FileMode
	init        string
	authType    string
	registryKey string
	transport   string
	keep        map[string]string // other members that must survive, raw JSON
	note        bool
	dormant     []string // keys the agent could not read before the rewrite
}

var applyCases = []applyCase{
	{name: "with-variables", file: fileWithVars, perm: 0o644, init: script.InitSystemd, authType: "dockercfg", registryKey: hubKey,
		transport: script.TransportParameter, keep: map[string]string{"quay.io": quayEntry}},
	{name: "without-variables", file: fileWithoutVars, perm: 0o600, init: script.InitUpstart, authType: "dockercfg", registryKey: hubKey,
		transport: script.TransportParameter},
	{name: "crlf-quoted", file: fileCRLFQuoted, perm: 0o640, init: script.InitSystemd, authType: "dockercfg", registryKey: hubKey,
		transport: script.TransportInline, keep: map[string]string{"quay.io": quayEntry}, note: true, dormant: []string{"quay.io"}},
	{name: "duplicates", file: fileDuplicates, perm: 0o644, init: script.InitSystemd, authType: "dockercfg", registryKey: "registry.example.com:5000",
		transport: script.TransportParameter, keep: map[string]string{"quay.io": quayEntry}},
	{name: "docker-type", file: fileDockerType, perm: 0o644, init: script.InitUpstart, authType: "docker", registryKey: "registry.example.com:5000",
		transport: script.TransportParameter, keep: map[string]string{"ghcr.io": `{"username":"bot","password":"gh-pass","email":"bot@example.com"}`}},
	{name: "docker-type-switch-alone", file: "ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={\"reg.example.com\":{\"auth\":\"eDp5\"}}\n", perm: 0o644,
		init: script.InitSystemd, authType: "docker", registryKey: "reg.example.com", transport: script.TransportInline},
	{name: "bad-old-json", file: fileBadJSON, perm: 0o644, init: script.InitSystemd, authType: "dockercfg", registryKey: hubKey,
		transport: script.TransportParameter, note: true},
	{name: "crlf-append", file: "ECS_CLUSTER=win-edited\r\n# edited on Windows\r\nECS_LOGLEVEL=debug\r\n", perm: 0o644, init: script.InitSystemd,
		authType: "docker", registryKey: "ghcr.io", transport: script.TransportInline},
	{name: "crlf-no-final-newline", file: "ECS_CLUSTER=x\r\nECS_LOGLEVEL=debug", perm: 0o644, init: script.InitSystemd,
		authType: "dockercfg", registryKey: hubKey, transport: script.TransportParameter},
	{name: "empty-file", file: "", perm: 0o644, init: script.InitSystemd, authType: "docker", registryKey: "ghcr.io",
		transport: script.TransportParameter},
}

func (c applyCase) params(mode string, payloadB64 string) script.Params {
	p := script.Params{Mode: mode, RunID: runID, Transport: c.transport, AuthType: c.authType, RegistryKey: c.registryKey,
		Init: c.init, Restart: true}
	if c.transport == script.TransportParameter {
		p.Parameter = paramName
	} else {
		p.InlineB64 = payloadB64
	}
	return p
}

// TestApply runs every realistic file through preflight, apply, a second
// apply and rollback, with each awk installed (gawk as on Amazon Linux,
// mawk as on Debian).
func TestApply(t *testing.T) {
	for awkName, awkPath := range awkVariants {
		for _, c := range applyCases {
			t.Run(awkName+"/"+c.name, func(t *testing.T) {
				f := newFakeAWS(t)
				in := newInstance(t, f, c.init, awkPath)
				in.write(c.file, c.perm)
				cr := cred{"ci-bot", `n3w-p@ss$word&/\"'` + "`x`"}
				pl := payload(t, c.authType, c.registryKey, cr, false)
				f.setParam(paramName, b64(pl))
				secrets := append(secretForms(cr, pl), f.imdsSecrets(t)...)
				before := []byte(c.file)
				mode0, uid0, gid0 := fileMode(t, in.cfg)

				state := in.dirState()
				r := in.run(c.params(script.ModePreflight, b64(pl)))
				noSecrets(t, r, secrets)
				if !r.res.OK || r.res.File != script.FileChecked || r.res.Agent != script.AgentNotRestarted {
					t.Fatalf("preflight: %+v\n%s%s", r.res, r.stdout, r.stderr)
				}
				if got := in.dirState(); got != state {
					t.Errorf("preflight changed the directory:\n%s\n%s", state, got)
				}
				if len(in.restarts()) > 0 {
					t.Errorf("preflight restarted: %v", in.restarts())
				}

				r = in.run(c.params(script.ModeApply, b64(pl)))
				noSecrets(t, r, secrets)
				if !r.res.OK || r.res.File != script.FileUpdated || r.res.Agent != script.AgentRestarted {
					t.Fatalf("apply: %+v\n%s%s", r.res, r.stdout, r.stderr)
				}
				if hasNote := len(r.res.Notes) > 0; hasNote != c.note {
					t.Errorf("notes %q", r.res.Notes)
				}
				if strings.Join(r.res.DormantKeys, " ") != strings.Join(c.dormant, " ") {
					t.Errorf("dormant keys %q, want %q", r.res.DormantKeys, c.dormant)
				}
				if len(r.res.Keys) != 1+len(c.keep) {
					t.Errorf("keys %q, want ours and %d kept", r.res.Keys, len(c.keep))
				}
				after := in.read()
				checkOtherLines(t, before, after)
				checkAuthLines(t, after, c.authType)
				checkLineEnds(t, before, after)
				env := ecsInit(after)
				if got, ok := agentCred(t, env, c.registryKey); !ok || got != cr {
					t.Errorf("the agent would read %+v (%v), want %+v", got, ok, cr)
				}
				members := dataMembers(t, after)
				if len(members) != 1+len(c.keep) {
					keys := make([]string, 0, len(members))
					for k := range members {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					t.Errorf("members %q, want ours and %d kept", keys, len(c.keep))
				}
				for k, v := range c.keep {
					if got := string(members[k]); compact(t, got) != compact(t, v) {
						t.Errorf("kept member %s = %s, want %s", k, got, v)
					}
				}
				var ours map[string]json.RawMessage
				_ = json.Unmarshal([]byte(pl), &ours)
				if got := string(members[c.registryKey]); got != string(ours[c.registryKey]) {
					t.Errorf("our entry %s, want the payload's bytes %s", got, ours[c.registryKey])
				}
				if mode, uid, gid := fileMode(t, in.cfg); mode != mode0 || uid != uid0 || gid != gid0 {
					t.Errorf("mode/owner %v %d:%d, want %v %d:%d", mode, uid, gid, mode0, uid0, gid0)
				}
				backup := in.cfg + ".ecs-registry-rotate-" + runID + ".bak"
				if b, err := os.ReadFile(backup); err != nil || !bytes.Equal(b, before) {
					t.Errorf("backup: %v, equal %v", err, bytes.Equal(b, before))
				}
				if mode, uid, gid := fileMode(t, backup); mode != 0o600 || uid != uid0 || gid != gid0 {
					t.Errorf("backup mode/owner %v %d:%d, want 0600 %d:%d", mode, uid, gid, uid0, gid0)
				}
				if mode, _, _ := fileMode(t, stateFile(in, runID)); mode != 0o600 {
					t.Errorf("state file mode %v, want 0600", mode)
				}
				if entries, _ := os.ReadDir(in.dir); len(entries) != 4 {
					t.Errorf("%d files in the config directory, want the config, its backup, the run's state and the lock", len(entries))
				}
				want := []string{"systemctl restart ecs"}
				if c.init == script.InitUpstart {
					want = []string{"stop ecs", "start ecs"}
				}
				if got := in.restarts(); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("restart commands %q, want %q", got, want)
				}

				// A second apply of the run (SSM may deliver it twice): done
				// by this run already, nothing to write, nor to restart.
				in.clearLog()
				state = in.dirState()
				r = in.run(c.params(script.ModeApply, b64(pl)))
				if !r.res.OK || r.res.File != script.FileUpdated || r.res.Agent != script.AgentRestartNotNeeded {
					t.Errorf("second apply: %+v\n%s%s", r.res, r.stdout, r.stderr)
				}
				if got := in.dirState(); got != state {
					t.Errorf("second apply rewrote:\n%s\n%s", state, got)
				}
				if len(in.restarts()) > 0 {
					t.Errorf("second apply restarted: %v", in.restarts())
				}

				// Rollback puts the original bytes back, and restarts.
				in.clearLog()
				r = in.run(c.params(script.ModeRollback, ""))
				if !r.res.OK || r.res.File != script.FileRestored || r.res.Agent != script.AgentRestarted {
					t.Errorf("rollback: %+v\n%s%s", r.res, r.stdout, r.stderr)
				}
				if got := in.read(); !bytes.Equal(got, before) {
					t.Errorf("rollback: %q, want %q", got, before)
				}
				if mode, uid, gid := fileMode(t, in.cfg); mode != mode0 || uid != uid0 || gid != gid0 {
					t.Errorf("rollback mode/owner %v %d:%d, want %v %d:%d", mode, uid, gid, mode0, uid0, gid0)
				}
				if got := in.restarts(); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("rollback restart commands %q, want %q", got, want)
				}
				// A second rollback: restored by this run already.
				in.clearLog()
				state = in.dirState()
				if r = in.run(c.params(script.ModeRollback, "")); r.res.File != script.FileRestored || r.res.Agent != script.AgentRestartNotNeeded {
					t.Errorf("second rollback: %+v", r.res)
				}
				if got := in.dirState(); got != state || len(in.restarts()) > 0 {
					t.Errorf("second rollback rewrote or restarted: %v\n%s\n%s", in.restarts(), state, got)
				}
			})
		}
	}
}

// TestPasswords: shell, sed, JSON and awk metacharacters and unicode reach
// the agent byte for byte, under both auth types and both JSON escapings.
func TestPasswords(t *testing.T) {
	passwords := []string{
		`$HOME$(touch CANARY)${IFS}$$`,
		"back`touch CANARY`tick",
		`amp&and/slash\back\\double\1\u0041`,
		`quote"double'single`,
		"unicode-ü€𝄞-密码-\u00a0nbsp",
		"printf%s%d%%n",
		"colon:in:password",
		"tab\tnew\nline\r\x01ctl",
		`sed/s/a/b/g&|#`,
		`}{"]:,`,
	}
	f := newFakeAWS(t)
	for i, pass := range passwords {
		for _, authType := range []string{script.AuthTypeDockercfg, script.AuthTypeDocker} {
			t.Run(fmt.Sprintf("%d/%s", i, authType), func(t *testing.T) {
				in := newInstance(t, f, script.InitSystemd, anyAwk())
				in.write(fileWithoutVars, 0o644)
				cr := cred{`user$&"`, pass}
				pl := payload(t, authType, "reg.example.com", cr, i%2 == 0)
				f.setParam(paramName, b64(pl))
				r := in.run(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
					AuthType: authType, RegistryKey: "reg.example.com", Init: script.InitSystemd})
				if !r.res.OK || r.res.Agent != script.AgentNotRestarted {
					t.Fatalf("%+v\n%s%s", r.res, r.stdout, r.stderr)
				}
				noSecrets(t, r, append(secretForms(cr, pl), f.imdsSecrets(t)...))
				if got, ok := agentCred(t, ecsInit(in.read()), "reg.example.com"); !ok || got != cr {
					t.Errorf("the agent would read %q, want %q", got, cr)
				}
				if _, err := os.Stat(filepath.Join(in.tmpdir, "CANARY")); err == nil {
					t.Error("the password was executed")
				}
			})
		}
	}
}

// TestRegistryKeys: entries the agent would use in our key's place are
// replaced, the others kept.
func TestRegistryKeys(t *testing.T) {
	f := newFakeAWS(t)
	old := `{"auth":"b2xkOm9sZA==","email":""}`
	for _, c := range []struct {
		key      string
		existing []string
		kept     []string
	}{
		{hubKey, []string{"docker.io", "https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io/v2/", "http://index.docker.io/v1/"}, nil},
		{hubKey, []string{"quay.io", "index.docker.io/v1/"}, []string{"quay.io"}},
		{"registry.example.com:5000", []string{"https://registry.example.com:5000/", "registry.example.com:5000", "registry.example.com",
			"registry.example.com:5000/team"}, []string{"registry.example.com", "registry.example.com:5000/team"}},
		{"reg.example.com", []string{`reg.example\u002ecom`, `reg\/x`}, []string{`reg/x`}},
	} {
		t.Run(c.key, func(t *testing.T) {
			in := newInstance(t, f, script.InitSystemd, anyAwk())
			var members []string
			for _, k := range c.existing {
				members = append(members, `"`+k+`":`+old)
			}
			in.write("ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={"+strings.Join(members, ",")+"}\n", 0o644)
			cr := cred{"u", "p"}
			pl := payload(t, "dockercfg", c.key, cr, true)
			r := in.run(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
				AuthType: "dockercfg", RegistryKey: c.key, Init: script.InitSystemd})
			if !r.res.OK {
				t.Fatalf("%+v", r.res)
			}
			got := dataMembers(t, in.read())
			want := append([]string{c.key}, c.kept...)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			sort.Strings(want)
			if strings.Join(keys, " ") != strings.Join(want, " ") {
				t.Errorf("members %q, want %q", keys, want)
			}
		})
	}
}

// TestRestartDecision: a file this script did not just write restarts the
// agent unless this run restarted it since the file was last written (its
// state file says so, on upstart too), or systemd says it started after.
func TestRestartDecision(t *testing.T) {
	f := newFakeAWS(t)
	for _, init := range []string{script.InitSystemd, script.InitUpstart} {
		t.Run(init, func(t *testing.T) {
			in := newInstance(t, f, init, anyAwk())
			in.write(fileWithVars, 0o644)
			pl := payload(t, "dockercfg", hubKey, cred{"u", "p"}, true)
			p := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
				AuthType: "dockercfg", RegistryKey: hubKey, Init: init}
			// Written without a restart (restart-agent false).
			if r := in.run(p); r.res.File != script.FileUpdated || r.res.Agent != script.AgentNotRestarted {
				t.Fatalf("%+v", r.res)
			}
			fi, _ := os.Stat(in.cfg)
			restarts := func(n int, want string, r run) {
				t.Helper()
				if r.res.Agent != want || len(in.restarts()) != n {
					t.Errorf("%+v %v, want agent=%s and %d restart commands", r.res, in.restarts(), want, n)
				}
				in.clearLog()
			}
			upstart := init == script.InitUpstart
			n := map[bool]int{false: 1, true: 2}[upstart]

			// systemd: the agent started after the file; upstart cannot tell.
			p.Restart = true
			in.setActiveEnter(fi.ModTime().Add(time.Hour))
			r := in.run(p)
			if upstart {
				restarts(n, script.AgentRestarted, r)
			} else {
				restarts(0, script.AgentRestartNotNeeded, r)
			}

			// The agent older than the file: restarted, and recorded.
			in.setActiveEnter(fi.ModTime().Add(-time.Hour))
			if !upstart {
				restarts(n, script.AgentRestarted, in.run(p))
			}
			// Again: this run restarted it after the write, whatever
			// systemd's (stale) start time says.
			restarts(0, script.AgentRestartNotNeeded, in.run(p))

			// The unit is down since: restarted.
			if !upstart {
				in.extra = append(in.extra, "STUB_STATE=failed")
				restarts(n, script.AgentRestarted, in.run(p))
				in.extra = in.extra[:len(in.extra)-1]
			}

			// Another run finds the file as it wants it (file=unchanged):
			// restarted once, then recorded.
			q := p
			q.RunID = "run-2"
			r = in.run(q)
			if r.res.File != script.FileUnchanged {
				t.Errorf("%+v", r.res)
			}
			restarts(n, script.AgentRestarted, r)
			restarts(0, script.AgentRestartNotNeeded, in.run(q))

			// The file rewritten since (same bytes, a new file): restarted.
			b := in.read()
			_ = os.Remove(in.cfg)
			in.write(string(b), 0o644)
			restarts(n, script.AgentRestarted, in.run(q))

			q.Restart = false
			restarts(0, script.AgentNotRestarted, in.run(q))
		})
	}
}

// TestFailures: each failure has its code, names no credential, and
// changes nothing.
func TestFailures(t *testing.T) {
	cr := cred{"u", "s3cret-pass"}
	pl := payload(t, "dockercfg", hubKey, cr, true)
	base := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true}
	for _, c := range []struct {
		name    string
		setup   func(*instance)
		params  func(*script.Params)
		code    string
		message string
	}{
		{name: "parameter-denied", setup: func(in *instance) {
			in.aws.setRole(instanceID, awsfake.InstanceRole{Name: "dhmc-role"})
		}, code: script.CodeParameterDenied, message: "ssm:GetParameter"},
		{name: "parameter-not-found", params: func(p *script.Params) { p.Parameter = "/ecs-registry-rotate/gone" }, code: script.CodeParameterNotFound},
		{name: "no-instance-profile", setup: func(in *instance) { in.aws.setRole(instanceID, awsfake.InstanceRole{}) }, code: script.CodeIMDSUnavailable},
		{name: "imds-unreachable", setup: func(in *instance) {
			in.extra = append(in.extra, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1")
		}, code: script.CodeIMDSUnavailable},
		{name: "ssm-wrong-region", setup: func(in *instance) { in.extra = append(in.extra, "AWS_SSM_REGION_NAME=us-west-2") },
			code: script.CodeParameterError, message: "InvalidSignatureException"},
		{name: "config-missing", setup: func(in *instance) { _ = os.Remove(in.cfg) }, code: script.CodeConfigMissing},
		{name: "config-a-directory", setup: func(in *instance) { _ = os.Remove(in.cfg); _ = os.Mkdir(in.cfg, 0o755) }, code: script.CodeConfigUnreadable},
		{name: "restart-tool-missing", setup: func(in *instance) { _ = os.Remove(filepath.Join(in.stubs, "systemctl")) }, code: script.CodeRestartToolMissing},
		{name: "upstart-tool-missing", params: func(p *script.Params) { p.Init = script.InitUpstart }, code: script.CodeRestartToolMissing},
		{name: "auth-type-mismatch", params: func(p *script.Params) {
			p.AuthType = "docker"
		}, setup: func(in *instance) {
			in.aws.setParam(paramName, b64(payload(in.t, "docker", hubKey, cr, true)))
		}, code: script.CodeAuthTypeMismatch},
		{name: "payload-not-base64", setup: func(in *instance) { in.aws.setParam(paramName, "not base64!") }, code: script.CodePayloadInvalid},
		{name: "payload-two-members", setup: func(in *instance) {
			in.aws.setParam(paramName, b64(`{"https://index.docker.io/v1/":{"auth":"dTpw"},"quay.io":{"auth":"dTpw"}}`))
		}, code: script.CodePayloadInvalid},
		{name: "payload-other-key", setup: func(in *instance) {
			in.aws.setParam(paramName, b64(`{"quay.io":{"auth":"dTpw"}}`))
		}, code: script.CodePayloadInvalid},
		{name: "payload-wrong-shape", setup: func(in *instance) {
			in.aws.setParam(paramName, b64(`{"https://index.docker.io/v1/":{"username":"u","password":"p"}}`))
		}, code: script.CodePayloadInvalid},
		{name: "payload-not-json", setup: func(in *instance) {
			in.aws.setParam(paramName, b64(`{"https://index.docker.io/v1/":{"auth":"dTpw"}`))
		}, code: script.CodePayloadInvalid},
	} {
		for _, mode := range []string{script.ModePreflight, script.ModeApply} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				f := newFakeAWS(t)
				f.setParam(paramName, b64(pl))
				in := newInstance(t, f, script.InitSystemd, anyAwk())
				in.write(fileWithVars, 0o644)
				if c.setup != nil {
					c.setup(in)
				}
				p := base
				p.Mode = mode
				if c.params != nil {
					c.params(&p)
				}
				state := in.dirState()
				r := in.run(p)
				if r.res.OK || r.exit == 0 || r.res.Code != c.code || !strings.Contains(r.res.Message, c.message) {
					t.Errorf("exit %d, %+v, want code %s with %q\n%s%s", r.exit, r.res, c.code, c.message, r.stdout, r.stderr)
				}
				noSecrets(t, r, append(secretForms(cr, pl), f.imdsSecrets(t)...))
				if got := in.dirState(); got != state {
					t.Errorf("the directory changed:\n%s\n%s", state, got)
				}
				if len(in.restarts()) > 0 {
					t.Errorf("restarted: %v", in.restarts())
				}
			})
		}
	}
}

func TestRestartFailedAfterWrite(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	in.extra = append(in.extra, "STUB_FAIL=1")
	pl := payload(t, "dockercfg", hubKey, cred{"u", "p"}, true)
	r := in.run(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true})
	if r.res.Code != script.CodeRestartFailed || !strings.Contains(r.res.Message, "backup") || !strings.Contains(r.res.Message, "control process") {
		t.Errorf("%+v", r.res)
	}
	if _, err := os.Stat(in.cfg + ".ecs-registry-rotate-" + runID + ".bak"); err != nil {
		t.Errorf("no backup after a written file: %v", err)
	}
}

func TestRollbackWithoutBackup(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	state := in.dirState()
	r := in.run(script.Params{Mode: script.ModeRollback, RunID: "other-run", Init: script.InitSystemd, Restart: true})
	if r.res.Code != script.CodeNoBackup || in.dirState() != state || len(in.restarts()) > 0 {
		t.Errorf("%+v", r.res)
	}
}

// TestSymlinkedConfig: the link stays, its target is rotated.
func TestSymlinkedConfig(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	target := filepath.Join(in.dir, "real.config")
	if err := os.WriteFile(target, []byte(fileWithVars), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.config", in.cfg); err != nil {
		t.Fatal(err)
	}
	pl := payload(t, "dockercfg", hubKey, cred{"u", "p"}, true)
	r := in.run(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd})
	if !r.res.OK {
		t.Fatalf("%+v", r.res)
	}
	if fi, err := os.Lstat(in.cfg); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	if got, ok := agentCred(t, ecsInit(in.read()), hubKey); !ok || got != (cred{"u", "p"}) {
		t.Errorf("agent reads %v", got)
	}
}

// TestRunAsSSMAgent runs the lines as the SSM agent does: written to
// _script.sh and started with "sh -c <file>", where sh may not be bash.
func TestRunAsSSMAgent(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	pl := payload(t, "dockercfg", "reg.example.com", cred{"u", "p"}, true)
	f.setParam(paramName, b64(pl))
	file := filepath.Join(t.TempDir(), "_script.sh")
	lines := script.Commands(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: "reg.example.com", Init: script.InitSystemd, Restart: true})
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o700); err != nil {
		t.Fatal(err)
	}
	// The shebang names /bin/bash; where that is missing the test cannot run.
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("no /bin/bash")
	}
	cmd := exec.Command(sh, "-c", file)
	cmd.Env = in.env()
	cmd.Dir = in.tmpdir
	r := in.finish(cmd)
	if !r.res.OK || r.res.File != script.FileUpdated || r.res.Agent != script.AgentRestarted {
		t.Errorf("%+v\n%s%s", r.res, r.stdout, r.stderr)
	}
}

// TestScriptValidatesItsVariables: run without Commands' checks, the script
// still refuses bad inputs with bad-params.
func TestScriptValidatesItsVariables(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write(fileWithVars, 0o644)
	good := map[string]string{"MODE": "apply", "RUN_ID": runID, "TRANSPORT": "parameter", "PARAMETER": paramName,
		"AUTH_TYPE": "dockercfg", "REGISTRY_KEY": hubKey, "INIT": "systemd", "RESTART": "false"}
	for k, bad := range map[string]string{"MODE": "bogus", "RUN_ID": "Run_1", "TRANSPORT": "carrier-pigeon", "PARAMETER": "a b",
		"AUTH_TYPE": "basic", "REGISTRY_KEY": `a"b`, "INIT": "sysvinit", "RESTART": "yes", "READ_BUDGET": "0", "LOCK_WAIT": "-1"} {
		vars := map[string]string{}
		for kk, v := range good {
			vars[kk] = v
		}
		vars[k] = bad
		var lines []string
		for kk, v := range vars {
			lines = append(lines, "ECSRR_"+kk+"='"+strings.ReplaceAll(v, "'", `'\''`)+"'")
		}
		r := in.runLines(append(lines, script.Body))
		if r.res.Code != script.CodeBadParams {
			t.Errorf("%s=%q: %+v", k, bad, r.res)
		}
	}
}

func TestCommands(t *testing.T) {
	p := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportParameter, Parameter: paramName,
		AuthType: "dockercfg", RegistryKey: hubKey, Init: script.InitSystemd, Restart: true}
	lines := script.Commands(p)
	if lines[0] != "#!/bin/bash" {
		t.Errorf("first line %q", lines[0])
	}
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"ECSRR_MODE='apply'", "ECSRR_PARAMETER='" + paramName + "'", "ECSRR_RESTART='true'"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Contains(joined, "ECSRR_INLINE_B64=") {
		t.Error("the parameter transport's commands carry an inline payload")
	}
	if len(joined) > 60<<10 {
		t.Errorf("%d bytes of commands: SSM takes 100 KB of parameters", len(joined))
	}

	rb := script.Commands(script.Params{Mode: script.ModeRollback, RunID: runID, Init: script.InitUpstart, Transport: "inline",
		InlineB64: "c2VjcmV0", AuthType: "dockercfg", RegistryKey: hubKey})
	if strings.Contains(strings.Join(rb, "\n"), "c2VjcmV0") {
		t.Error("rollback commands carry the payload")
	}

	// Invalid params give commands that only fail.
	bad := script.Commands(script.Params{Mode: "apply'; touch CANARY; '", RunID: runID})
	if len(bad) != 3 || !strings.Contains(bad[1], "bad-params") {
		t.Errorf("bad params: %q", bad)
	}
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	r := in.runLines(bad)
	if r.res.Code != script.CodeBadParams {
		t.Errorf("%+v", r.res)
	}
	if _, err := os.Stat(filepath.Join(in.tmpdir, "CANARY")); err == nil {
		t.Error("a parameter was executed")
	}

	// A registry key with shell metacharacters is data, not code.
	in.write(fileWithoutVars, 0o644)
	key := "reg.example.com/$(touch${IFS}CANARY)`touch${IFS}CANARY`;&|"
	pl := payload(t, "dockercfg", key, cred{"u", "p"}, false)
	r = in.run(script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline, InlineB64: b64(pl),
		AuthType: "dockercfg", RegistryKey: key, Init: script.InitSystemd})
	if !r.res.OK {
		t.Errorf("%+v", r.res)
	}
	if _, err := os.Stat(filepath.Join(in.tmpdir, "CANARY")); err == nil {
		t.Error("the registry key was executed")
	}
}

func TestValidate(t *testing.T) {
	ok := script.Params{Mode: script.ModeApply, RunID: runID, Transport: script.TransportInline,
		InlineB64: b64(`{"reg.example.com":{"auth":"dTpw","email":""}}`), AuthType: "dockercfg", RegistryKey: "reg.example.com", Init: script.InitSystemd}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*script.Params){
		"run id":            func(p *script.Params) { p.RunID = "UPPER" },
		"long run id":       func(p *script.Params) { p.RunID = strings.Repeat("a", 65) },
		"mode":              func(p *script.Params) { p.Mode = "" },
		"init":              func(p *script.Params) { p.Init = "openrc" },
		"auth type":         func(p *script.Params) { p.AuthType = "basic" },
		"key with space":    func(p *script.Params) { p.RegistryKey = "a b" },
		"key with quote":    func(p *script.Params) { p.RegistryKey = `a"b` },
		"payload key":       func(p *script.Params) { p.RegistryKey = "other.example.com" },
		"payload not b64":   func(p *script.Params) { p.InlineB64 = "%%%" },
		"payload 2 members": func(p *script.Params) { p.InlineB64 = b64(`{"reg.example.com":{"auth":"x"},"b":{}}`) },
		"payload newline":   func(p *script.Params) { p.InlineB64 = b64("{\"reg.example.com\":\n{\"auth\":\"x\"}}") },
		"payload docker":    func(p *script.Params) { p.AuthType = "docker" },
		"inline+parameter":  func(p *script.Params) { p.Parameter = paramName },
		"parameter+inline":  func(p *script.Params) { p.Transport = script.TransportParameter; p.Parameter = paramName },
		"parameter name":    func(p *script.Params) { p.Transport = script.TransportParameter; p.InlineB64 = ""; p.Parameter = "a b" },
	} {
		p := ok
		mutate(&p)
		err := p.Validate()
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), p.InlineB64) && p.InlineB64 != "" {
			t.Errorf("%s: the error quotes the payload", name)
		}
	}
}

func TestParseResult(t *testing.T) {
	r := script.ParseResult("ecs-registry-rotate: note: something\r\necs-registry-rotate: ok mode=apply file=updated agent=restarted written=1764720000.250000000\n", "")
	if !r.OK || r.Mode != "apply" || r.File != script.FileUpdated || r.Agent != script.AgentRestarted || len(r.Notes) != 1 || r.Err() != nil ||
		!r.Written.Equal(time.Unix(1764720000, 250000000)) {
		t.Errorf("%+v", r)
	}
	r = script.ParseResult("ecs-registry-rotate: note: x\n", "curl: noise\necs-registry-rotate: error: parameter-denied: ssm:GetParameter on /p: denied\n")
	if r.OK || r.Code != script.CodeParameterDenied || r.Message != "ssm:GetParameter on /p: denied" || r.Err() == nil {
		t.Errorf("%+v", r)
	}
	if r = script.ParseResult("", "Killed\n"); r.OK || r.Code != script.CodeNoResult {
		t.Errorf("%+v", r)
	}
	out := "ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted\n"
	if r = script.ParseOutput(out); !r.OK || r.File != script.FileChecked {
		t.Errorf("%+v", r)
	}
	if r = script.ParseOutput("\n----------ERROR-------\necs-registry-rotate: error: no-backup: none\n"); r.Code != script.CodeNoBackup {
		t.Errorf("%+v", r)
	}
	so, se := script.SplitPluginOutput("a\n---Output truncated---\n----------ERROR-------\nb\n---Error truncated----")
	if so != "a" || se != "b" {
		t.Errorf("%q %q", so, se)
	}
}
