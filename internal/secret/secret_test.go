package secret

import (
	"encoding/json"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/plan"
)

func fields(t *testing.T, s string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewValueKeepsOtherKeysAndDropsCaseTwins(t *testing.T) {
	got, err := newValue(fields(t, `{"Username":"old","PASSWORD":"old","team":"platform","port":5000,"nested":{"a":[1,2]}}`), "deploy", "p&ss<word>")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"nested":{"a":[1,2]},"password":"p&ss<word>","port":5000,"team":"platform","username":"deploy"}`
	if got != want {
		t.Errorf("new value\n got %s\nwant %s", got, want)
	}
}

func TestCurrentMatchesKeysAsTheAgentDoes(t *testing.T) {
	s := plan.Secret{Fields: fields(t, `{"UserName":"deploy","Password":"x"}`)}
	if !Current(s, "deploy", "x") {
		t.Error("keys differing only in case must match, as the ECS agent reads them")
	}
	if Current(s, "deploy", "y") {
		t.Error("another password must not match")
	}
}

func TestRequestTokenIsRandom(t *testing.T) {
	a, errA := requestToken()
	b, errB := requestToken()
	if errA != nil || errB != nil || a == b {
		t.Errorf("two tokens %q and %q (%v, %v): want two different random tokens", a, b, errA, errB)
	}
	if n := len(a); n < 32 || n > 64 {
		t.Errorf("token length %d, Secrets Manager takes 32 to 64", n)
	}
}
