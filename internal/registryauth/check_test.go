package registryauth

import (
	"strings"
	"testing"
)

// TestCheck: Check refuses exactly what parseAuthData's json.Unmarshal into
// the agent's typed map refuses (dockerauth.go), naming the member at fault
// and never a value.
func TestCheck(t *testing.T) {
	secret := b64("user:swordfish")
	good := `"reg.tld":{"username":"u","password":"p"}`
	for _, tc := range []struct {
		name, authType, data string
		want                 []string // parts of the error; nil: accepted
	}{
		{"docker", TypeDocker, `{` + good + `}`, nil},
		{"dockercfg", TypeDockercfg, `{"reg.tld":{"auth":"` + secret + `","email":5}}`, nil}, // email is not in dockercfgConfigEntry
		{"dockercfg bad base64 drops one member only", TypeDockercfg, `{"registry.tld":{"auth":"malformedbase64"}}`, nil},
		{"docker unknown field", TypeDocker, `{"reg.tld":{"x":[1]}}`, nil},
		{"null", TypeDocker, `null`, nil},
		// TestAuthErrors (dockerauth_test.go):
		{"docker username true", TypeDocker, `{"registry.tld":{"username":true}}`, []string{`member "registry.tld"`, `field "username" must be a string, not a JSON bool`, "drops every registry"}},
		{"dockercfg auth true", TypeDockercfg, `{"registry.tld":{"auth":true}}`, []string{`member "registry.tld"`, `field "auth"`}},
		{"invalid type", "invalid", "", []string{`ECS_ENGINE_AUTH_TYPE "invalid"`}},
		{"empty type", "", `{` + good + `}`, []string{`ECS_ENGINE_AUTH_TYPE ""`}},
		{"a string member after a good one", TypeDocker, `{` + good + `,"other.tld":"s3cr3t-value"}`, []string{`member "other.tld"`, `an object of strings`}},
		{"a number in email", TypeDocker, `{` + good + `,"other.tld":{"email":5}}`, []string{`member "other.tld"`, `field "email"`}},
		{"quoted", TypeDockercfg, `"{\"reg.tld\":{\"auth\":\"` + secret + `\"}}"`, []string{"a JSON string, not an object", "remove the quotes"}},
		{"array", TypeDocker, `[{` + good + `}]`, []string{"not a JSON object"}},
		{"empty", TypeDockercfg, ``, []string{"not a JSON object"}},
		{"trailing text", TypeDocker, `{` + good + `} x`, []string{"not valid JSON (syntax error at byte"}},
		{"bad shape in a duplicate key", TypeDocker, `{"reg.tld":5,` + good + `}`, []string{`member "reg.tld"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.authType, tc.data)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want an error saying %q", tc.want)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not say %q: %v", part, err)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes a value: %v", err)
			}
			// What Check refuses, Parse reads as no credentials at all.
			for k, c := range Parse(tc.authType, tc.data) {
				t.Errorf("Parse gave %s credentials %+v for data Check refuses", k, c)
			}
		})
	}
}
