package rollout

import (
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) {
	// A test that deploys through the process's Pacer would hand its
	// bucket on to the next: each test names its own (unpaced, or one on
	// a fake clock), and usePacer swaps the process's for one that does.
	processPacer.Store(newPacer(updateServiceBurst, updateServiceInterval, clock{
		now: func() time.Time {
			panic("a test deployed through the process's Pacer: give DeployOptions.Pacer, or usePacer")
		},
		sleep: sleepContext,
	}))
	testenv.Main(m)
}
