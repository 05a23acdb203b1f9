package main

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/awsclient"
)

// noCredentials leaves the process as a machine without AWS credentials:
// no credential variable, no profile, no web identity or container role,
// config files that hold nothing, and no instance metadata.
func noCredentials(t *testing.T) {
	t.Helper()
	unsetenv(t, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_SDK_LOAD_CONFIG")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// Issue #15, point 3: with no AWS credentials at all, the run stops before
// any call, exit 1, naming the step, and says how to provide credentials
// where it runs, instead of the SDK's "no EC2 IMDS role found".
func TestNoCredentialsSaysHowToProvideThem(t *testing.T) {
	noCredentials(t)
	w := newWorld(t)
	opts := awsclient.Options{Extra: []func(*config.LoadOptions) error{
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(w.fakeEndpoint(t)),
	}}

	w.clientOptions = func(o *awsclient.Options) { *o = opts }
	r := w.run(t, w.defaultInputs())
	if r.code != 1 || r.outputs["result"] != "failed" {
		t.Fatalf("under Actions: exit %d, result %q; want 1 and failed", r.code, r.outputs["result"])
	}
	errLine := lineWith(r.stdout, "::error title=AWS credentials failed::")
	for _, want := range []string{"no AWS credentials were found", "aws-actions/configure-aws-credentials", "role-to-assume"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error lacks %q: %q", want, errLine)
		}
	}
	if !strings.Contains(r.summary, "Failed step: **AWS credentials**") {
		t.Errorf("the summary does not name the step:\n%s", r.summary)
	}

	c := w.cliRun(t, []string{"--cluster", "prod", "--secret-id", "prod/registry", "--username", user, "--registry", w.fake.RegistryHost()},
		map[string]string{"ECS_REGISTRY_ROTATE_PASSWORD": newPassword}, "", &opts)
	errLine = lineWith(c.stderr, "error: AWS credentials failed: ")
	if c.code != 1 || errLine == "" {
		t.Fatalf("outside Actions: exit %d, want 1 with an error naming the step:\n%s", c.code, c.stderr)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error lacks %q: %q", want, errLine)
		}
	}
	if strings.Contains(errLine, "configure-aws-credentials") || strings.Contains(errLine, "role-to-assume") {
		t.Errorf("outside Actions the error suggests what only works under Actions: %q", errLine)
	}
	if !strings.Contains(c.stdout, `"result": "failed"`) {
		t.Errorf("the outputs do not say failed:\n%s", c.stdout)
	}
	if n := len(w.fake.Calls()); n != 0 {
		t.Errorf("a run without credentials reached AWS %d times", n)
	}
}
