package rollout

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// House rule: no test may reach a real account or the instance metadata.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKEEXAMPLE00000")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "fake")
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}
