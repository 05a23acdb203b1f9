package script_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// The types the ECS agent unmarshals ECS_ENGINE_AUTH_DATA into
// (aws/amazon-ecs-agent agent/dockerclient/dockerauth/dockerauth.go
// parseAuthData; docker's api/types/registry.AuthConfig). json.Unmarshal
// failing on them means the agent warns and drops every registry.
type agentDockercfgEntry struct {
	Auth string `json:"auth"`
}

type agentAuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// agentRejects says whether the agent drops the whole value data under
// authType.
func agentRejects(authType, data string) bool {
	if authType == script.AuthTypeDocker {
		return json.Unmarshal([]byte(data), &map[string]agentAuthConfig{}) != nil
	}
	return json.Unmarshal([]byte(data), &map[string]agentDockercfgEntry{}) != nil
}

// TestAgentView: preflight and apply refuse new ECS_ENGINE_AUTH_DATA that
// the agent would drop as a whole, exactly when Go's encoding/json fails
// on the agent's types, naming the member's key and never its value; a
// member that only loses its own registry is kept. With each awk.
func TestAgentView(t *testing.T) {
	const secretish = "s3cr3t-value-never-printed"
	other := `"quay.io":{"auth":"cXVheTpw","email":""}`
	for _, c := range []struct {
		authType, key, value string
		named                string // the key as the error names it; "" = decoded
	}{
		{"dockercfg", "ghcr.io", `"` + secretish + `"`, ""},
		{"dockercfg", "ghcr.io", `["` + secretish + `"]`, ""},
		{"dockercfg", "ghcr.io", `5`, ""},
		{"dockercfg", "ghcr.io", `true`, ""},
		{"dockercfg", "ghcr.io", `null`, ""},
		{"dockercfg", "ghcr.io", `{"auth":5}`, ""},
		{"dockercfg", "ghcr.io", `{"AUTH":{"x":"` + secretish + `"}}`, ""},
		{"dockercfg", "ghcr.io", `{"\u0061uth":[]}`, ""},
		{"dockercfg", "ghcr.io", `{"auth":null}`, ""},
		{"dockercfg", "ghcr.io", `{"auth":"!!not base64","email":5}`, ""},
		{"dockercfg", "ghcr.io", `{"auths":1,"au":[]}`, ""},
		{"docker", "ghcr.io", `{"username":"u","password":"p","email":5}`, ""},
		{"docker", "ghcr.io", "{\"u\u017fername\":{}}", ""},         // U+017F folds to s in Go
		{"docker", "ghcr.io", "{\"registryto\u212aen\":1}", ""},     // U+212A (Kelvin) folds to k
		{"docker", "ghcr.io", `{"identity\u0074oken":false}`, ""},   // an escaped letter
		{"docker", "ghcr.io", `{"u\u017fername":1}`, ""},            // U+017F escaped
		{"docker", "ghcr.io", `{"username":null,"foo":[1,{}]}`, ""}, // ignored
		{"docker", "ghcr.io", `{"usernamé":1,"pass word":2}`, ""},   // no field
		{"docker", `we\"ird\u0000key`, `"x"`, `we"ird\u0000key`},
	} {
		data := `{` + other + `,"` + c.key + `":` + c.value + `}`
		if c.authType == script.AuthTypeDocker {
			other := `"quay.io":{"username":"q","password":"p"}`
			data = `{` + other + `,"` + c.key + `":` + c.value + `}`
		}
		var keyText string
		_ = json.Unmarshal([]byte(`"`+c.key+`"`), &keyText)
		rejects := agentRejects(c.authType, data)
		for awkName, awkPath := range awkVariants {
			t.Run(fmt.Sprintf("%s/%s/%s/%s", awkName, c.authType, c.value, map[bool]string{true: "rejected", false: "kept"}[rejects]), func(t *testing.T) {
				f := newFakeAWS(t)
				in := newInstance(t, f, script.InitSystemd, awkPath)
				in.write("ECS_CLUSTER=c\nECS_ENGINE_AUTH_TYPE="+c.authType+"\nECS_ENGINE_AUTH_DATA="+data+"\n", 0o644)
				pl := payload(t, c.authType, hubKey, cred{"u", "agent-view-pass"}, true)
				p := applyParams(runID, script.InitSystemd, pl)
				p.AuthType = c.authType
				modes := []string{script.ModePreflight}
				if strings.Contains(c.value, secretish) {
					modes = append(modes, script.ModeApply)
				}
				for _, mode := range modes {
					p.Mode = mode
					state := in.dirState()
					r := in.run(p)
					if !rejects {
						if !r.res.OK {
							t.Fatalf("%s refused what the agent reads: %+v\n%s%s", mode, r.res, r.stdout, r.stderr)
						}
						if !slices.Contains(r.res.Keys, keyText) || !slices.Contains(r.res.Keys, "quay.io") {
							t.Errorf("keys %q", r.res.Keys)
						}
						continue
					}
					named := c.named
					if named == "" {
						named = keyText
					}
					if r.res.Code != script.CodeAuthDataInvalid || !strings.Contains(r.res.Message, "'"+named+"'") {
						t.Errorf("%s: %+v, want %s naming %q\n%s%s", mode, r.res, script.CodeAuthDataInvalid, named, r.stdout, r.stderr)
					}
					if strings.Contains(r.stdout+r.stderr, secretish) || strings.Contains(r.stdout+r.stderr, "agent-view-pass") {
						t.Errorf("the output holds a value:\n%s%s", r.stdout, r.stderr)
					}
					if got := in.dirState(); got != state || len(in.restarts()) > 0 {
						t.Errorf("%s changed the directory or restarted", mode)
					}
				}
			})
		}
	}
}

// TestAgentViewPayload: the run's own entry is judged the same way.
func TestAgentViewPayload(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.write("ECS_CLUSTER=c\n", 0o644)
	pl := `{"ghcr.io":{"username":"u","password":"p","email":5}}`
	if !agentRejects("docker", pl) {
		t.Fatal("the agent would read this payload")
	}
	p := applyParams(runID, script.InitSystemd, pl)
	p.AuthType, p.RegistryKey = script.AuthTypeDocker, "ghcr.io"
	if r := in.run(p); r.res.Code != script.CodeAuthDataInvalid || !strings.Contains(r.res.Message, "'ghcr.io'") {
		t.Errorf("%+v", r.res)
	}
}

// TestKeysField: the ok line lists, as base64 of a JSON array, every key
// of the new value: those on our registry's host first; hostile key text
// cannot break the line; when there are too many, the rest is counted.
func TestKeysField(t *testing.T) {
	f := newFakeAWS(t)
	const ours = "registry.example.com:5000"
	entry := `{"auth":"dTpw"}`
	hostile := `evil\" ok mode=x file=y\u000a\u0007 keys=`
	t.Run("order", func(t *testing.T) {
		in := newInstance(t, f, script.InitSystemd, anyAwk())
		in.write("ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={"+
			`"quay.io":`+entry+`,"https://registry.example.com:5000/":`+entry+`,"`+hostile+`":`+entry+
			`,"registry.example.com:5000/team":`+entry+`,"registry.example.com":`+entry+"}\n", 0o644)
		pl := payload(t, "dockercfg", ours, cred{"u", "p"}, true)
		p := applyParams(runID, script.InitSystemd, pl)
		p.RegistryKey = ours
		var hostileText string
		_ = json.Unmarshal([]byte(`"`+hostile+`"`), &hostileText)
		want := []string{ours, "registry.example.com:5000/team", "quay.io", hostileText, "registry.example.com"}
		for _, mode := range []string{script.ModePreflight, script.ModeApply} {
			p.Mode = mode
			r := in.run(p)
			if !r.res.OK || r.res.Mode != mode || !slices.Equal(r.res.Keys, want) || r.res.KeysOmitted != 0 {
				t.Errorf("%s: keys %q, want %q\n%+v\n%s", mode, r.res.Keys, want, r.res, r.stdout)
			}
		}
	})
	t.Run("omitted", func(t *testing.T) {
		in := newInstance(t, f, script.InitSystemd, anyAwk())
		var members []string
		for i := range 40 {
			members = append(members, fmt.Sprintf(`"registry-%02d.some-long-domain-name.example.com":%s`, i, entry))
		}
		in.write("ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={"+strings.Join(members, ",")+"}\n", 0o644)
		pl := payload(t, "dockercfg", ours, cred{"u", "p"}, true)
		p := applyParams(runID, script.InitSystemd, pl)
		p.RegistryKey, p.Mode = ours, script.ModePreflight
		r := in.run(p)
		if !r.res.OK || len(r.res.Keys) == 0 || r.res.Keys[0] != ours || len(r.res.Keys)+r.res.KeysOmitted != 41 || r.res.KeysOmitted == 0 {
			t.Errorf("%d keys, %d omitted: %q", len(r.res.Keys), r.res.KeysOmitted, r.res.Keys)
		}
	})
}

// TestDormantKeys: entries the agent could not read before (a quoted value,
// a member of the wrong shape, a type it does not know) that the rewrite
// makes live are named in a note; a value the agent read gives none.
func TestDormantKeys(t *testing.T) {
	f := newFakeAWS(t)
	quay := `"quay.io":{"auth":"cXVheTpw"}`
	for _, c := range []struct {
		name, file string
		dormant    []string
	}{
		{"live", "ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={" + quay + "}\n", nil},
		{"quoted", "ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA=\"{" + quay + "}\"\n", []string{"quay.io"}},
		{"our-member-a-string", "ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={" + quay + `,"https://index.docker.io/v1/":"x"}` + "\n", []string{"quay.io"}},
		{"type-quoted", "ECS_ENGINE_AUTH_TYPE='dockercfg'\nECS_ENGINE_AUTH_DATA={" + quay + "," + `"a\u00e9b":{}}` + "\n", []string{"quay.io", "a\u00e9b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := newInstance(t, f, script.InitSystemd, anyAwk())
			in.write(c.file, 0o644)
			pl := payload(t, "dockercfg", hubKey, cred{"u", "dormant-pass"}, true)
			for _, mode := range []string{script.ModePreflight, script.ModeApply} {
				p := applyParams(runID, script.InitSystemd, pl)
				p.Mode = mode
				r := in.run(p)
				if !r.res.OK || !slices.Equal(r.res.DormantKeys, c.dormant) {
					t.Errorf("%s: dormant %q, want %q\n%+v\n%s%s", mode, r.res.DormantKeys, c.dormant, r.res, r.stdout, r.stderr)
				}
			}
			if agentRejects("dockercfg", ecsInit(in.read())["ECS_ENGINE_AUTH_DATA"]) {
				t.Error("the agent cannot read the new value")
			}
		})
	}
}

// TestOutputBound: the longest output (many long keys, all dormant, a
// long path) stays under the 2,400 bytes SSM keeps of a plugin's output,
// so the ok line, printed last, is never cut off.
func TestOutputBound(t *testing.T) {
	f := newFakeAWS(t)
	in := newInstance(t, f, script.InitSystemd, anyAwk())
	in.maxOutput = 2400
	long := strings.Repeat("x", 200)
	var members []string
	for i := range 30 {
		members = append(members, fmt.Sprintf(`"registry-%02d.%s.example.com/%s":{"auth":"dTpw"}`, i, long[:40], long))
	}
	in.write("ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA='{"+strings.Join(members, ",")+"}'\n", 0o644)
	key := "registry-00." + long[:40] + ".example.com"
	pl := payload(t, "dockercfg", key, cred{"u", "p"}, true)
	for _, mode := range []string{script.ModePreflight, script.ModeApply} {
		p := applyParams(runID, script.InitSystemd, pl)
		p.RegistryKey, p.Mode = key, mode
		r := in.run(p)
		if !r.res.OK || r.res.KeysOmitted == 0 || r.res.DormantOmitted == 0 || len(r.res.Keys) == 0 || len(r.res.DormantKeys) == 0 {
			t.Errorf("%s: %+v", mode, r.res)
		}
		t.Logf("%s: %d bytes of output", mode, len(r.stdout+r.stderr))
		if n := len(r.stdout + r.stderr); n > 2400 {
			t.Errorf("%s: %d bytes of output", mode, n)
		}
	}
}

func TestParseKeysAndDormant(t *testing.T) {
	r := script.ParseResult("ecs-registry-rotate: note: dormant-keys WyJxdWF5LmlvIl0= more=2\n"+
		"ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted keys=WyJhIiwiYiJd keys-omitted=3\n", "")
	if !slices.Equal(r.Keys, []string{"a", "b"}) || r.KeysOmitted != 3 || !slices.Equal(r.DormantKeys, []string{"quay.io"}) || r.DormantOmitted != 2 {
		t.Errorf("%+v", r)
	}
	if r = script.ParseResult("ecs-registry-rotate: ok mode=preflight file=checked agent=not-restarted keys=%%%\n", ""); r.Keys != nil {
		t.Errorf("%+v", r)
	}
}
