package testenv

import (
	"os"
	"strconv"
	"time"
)

// SlowdownVariable multiplies the wall-clock budgets of the tests that wait
// for real work (bash scripts, task simulations): a machine that is busy or
// slow sets it above 1 rather than have tests fail on a budget.
const SlowdownVariable = "ECS_REGISTRY_ROTATE_TEST_SLOWDOWN"

// Scale is d times the slowdown (1 when unset or not a number of at least 1).
func Scale(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv(SlowdownVariable), 64)
	if err != nil || f < 1 {
		return d
	}
	return time.Duration(float64(d) * f)
}

// ScaleString is Scale of d as an input takes it ("3s" → "6s").
func ScaleString(d time.Duration) string { return Scale(d).String() }
