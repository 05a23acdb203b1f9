package verifytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestTokenRegistryIsStrict: the fake must refuse what Docker Hub refuses,
// or the verify tests would prove nothing about the token flow.
func TestTokenRegistryIsStrict(t *testing.T) {
	host, user, pass, _ := StartTokenRegistry(t)
	PushImage(t, host+"/team/a:v1", user, pass)
	base := "http://" + host

	resp := get(t, base+"/v2/", "", "", "")
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(challenge, `Bearer realm="`+base+`/token",service="verifytest"`) {
		t.Fatalf("ping: %d %q, want 401 with a Bearer challenge", resp.StatusCode, challenge)
	}
	if resp := get(t, base+"/token?service=verifytest&scope=repository:team/a:pull", user, "wrong", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token with a wrong password: %d, want 401", resp.StatusCode)
	}
	token := fetchToken(t, base+"/token?service=verifytest&scope=repository:team/a:pull", user, pass)
	if resp := get(t, base+"/v2/team/a/manifests/v1", "", "", token); resp.StatusCode != http.StatusOK {
		t.Errorf("manifest with a scoped token: %d, want 200", resp.StatusCode)
	}
	resp = get(t, base+"/v2/team/b/manifests/v1", "", "", token)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:team/b:pull"`) {
		t.Errorf("manifest of another repository: %d %q, want 401 naming its scope", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func get(t *testing.T, url, user, pass, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func fetchToken(t *testing.T, url, user, pass string) string {
	t.Helper()
	var body struct{ Token string }
	if err := json.NewDecoder(get(t, url, user, pass, "").Body).Decode(&body); err != nil || body.Token == "" {
		t.Fatalf("token: %v %+v", err, body)
	}
	return body.Token
}
