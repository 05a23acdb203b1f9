// Package verifytest starts real and fake registries for tests: the CNCF
// distribution registry (Debian's docker-registry package) with htpasswd
// basic auth, and an in-process registry that speaks the Docker Hub token flow.
package verifytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

// InstallHint is what CI runs so that the distribution tests do not skip.
const InstallHint = "apt-get install -y docker-registry apache2-utils"

// StartDistribution runs the distribution registry on a free 127.0.0.1 port
// with htpasswd basic auth for a fresh user and password, and stops it when
// the test ends. stop ends it earlier, to test a registry that went away.
// The test is skipped only when docker-registry or htpasswd is not installed.
func StartDistribution(t testing.TB) (host, user, pass string, stop func()) {
	t.Helper()
	bin, htpasswd := lookTools(t)
	dir := t.TempDir()
	user, pass = "rotator", "pw-"+randomHex(t)
	writeHtpasswd(t, htpasswd, filepath.Join(dir, "htpasswd"), user, pass)
	host = freeAddr(t)
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(distributionConfig(dir, host)), 0o600); err != nil {
		t.Fatalf("write registry config: %v", err)
	}
	p := startProcess(t, bin, config)
	p.waitForRegistry(t, host)
	return host, user, pass, p.stop
}

func lookTools(t testing.TB) (registry, htpasswd string) {
	t.Helper()
	registry, err := exec.LookPath("docker-registry")
	if err != nil {
		testenv.SkipMissing(t, "docker-registry is not installed, so the real-registry tests are skipped; CI runs: %s", InstallHint)
	}
	htpasswd, err = exec.LookPath("htpasswd")
	if err != nil {
		testenv.SkipMissing(t, "htpasswd is not installed, so the real-registry tests are skipped; CI runs: %s", InstallHint)
	}
	return registry, htpasswd
}

// writeHtpasswd uses bcrypt (-B): the only hash distribution accepts.
func writeHtpasswd(t testing.TB, htpasswd, path, user, pass string) {
	t.Helper()
	out, err := exec.Command(htpasswd, "-Bbn", user, pass).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatalf("write htpasswd: %v", err)
	}
}

func distributionConfig(dir, host string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  secret: verifytest-not-a-secret
auth:
  htpasswd:
    realm: verifytest
    path: %s
`, filepath.Join(dir, "data"), host, filepath.Join(dir, "htpasswd"))
}

// freeAddr picks a port the kernel considers free; the registry binds it a
// moment later, which is racy in theory and fine for a test machine.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// processLog collects the registry's output for failure messages; the
// process writes it from another goroutine.
type processLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *processLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *processLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// process is the registry child process; done closes when it exits.
type process struct {
	cancel context.CancelFunc
	done   chan struct{}
	logs   *processLog
}

func startProcess(t testing.TB, bin, config string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", config)
	p := &process{cancel: cancel, done: make(chan struct{}), logs: &processLog{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", p.logs.String())
		}
	})
	return p
}

// stop kills this process, and only it, and waits until it is gone, so that
// a test that stops the registry sees a closed port right away.
func (p *process) stop() {
	p.cancel()
	<-p.done
}

// waitForRegistry waits until /v2/ answers 401, which proves the registry is
// up with auth on.
func (p *process) waitForRegistry(t testing.TB, host string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("docker-registry exited before serving:\n%s", p.logs.String())
		default:
		}
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
			t.Fatalf("registry at %s answered /v2/ with %d, want 401", host, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("registry at %s did not answer within 15s:\n%s", host, p.logs.String())
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
