package rotate

import (
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
