// Package testenv keeps test processes away from real AWS: static fake
// credentials, no shared config or profile, and no instance metadata, so the
// SDK's default chain never calls 169.254.169.254 on the machine it runs on.
package testenv

import (
	"os"
	"sync"
	"testing"
)

// Fake credentials every test process signs with.
const (
	AccessKeyID     = "AKIDFAKETESTPROCESS0"
	SecretAccessKey = "fake-test-process-secret"
)

// Main isolates the process, then runs the tests: a package's TestMain is
// `func TestMain(m *testing.M) { testenv.Main(m) }`. It ends the run with
// one line per missing tool that made SkipMissing skip tests.
func Main(m *testing.M) {
	Isolate()
	code := m.Run()
	atExit.Lock()
	for _, f := range atExit.funcs {
		f()
	}
	atExit.Unlock()
	writeSkipSummary(code)
	os.Exit(code)
}

// atExit are what AtExit was given, run by Main after the tests.
var atExit struct {
	sync.Mutex
	funcs []func()
}

// AtExit runs f when the test binary's tests have ended, under Main: for
// what outlives a single test, such as a binary built once per process.
func AtExit(f func()) {
	atExit.Lock()
	defer atExit.Unlock()
	atExit.funcs = append(atExit.funcs, f)
}

// Isolate sets the environment of the house rule for this process and the
// processes it starts.
func Isolate() {
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		os.Unsetenv(k)
	}
}
