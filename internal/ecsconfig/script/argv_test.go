package script_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-registry-rotate/ecs-registry-rotate/internal/ecsconfig/script"
)

// wrapTools puts, in front of the instance's PATH, a wrapper for every
// tool the script can run (the system tools and the init stubs): each
// appends "$ARGV_TAG <name> <argv>" to the returned log, sleeps 0.3 s when
// its name is in $ARGV_SLOW (space-separated), then execs the tool.
func (in *instance) wrapTools() string {
	in.t.Helper()
	root := filepath.Dir(in.stubs)
	wrap, log := filepath.Join(root, "wrap"), filepath.Join(root, "argv.log")
	if err := os.Mkdir(wrap, 0o755); err != nil {
		in.t.Fatal(err)
	}
	for _, dir := range []string{in.stubs, filepath.Join(root, "sysbin")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			in.t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if name == "bash" {
				continue // runs the script itself, not called by it
			}
			if _, err := os.Stat(filepath.Join(wrap, name)); err == nil {
				continue // a stub shadows the system tool, as on PATH
			}
			body := "#!" + in.bash + "\nprintf '%s\\n' \"${ARGV_TAG:-}\"" + shellWord(" "+name) + "\" $*\" >>" + shellWord(log) +
				"\ncase \" ${ARGV_SLOW:-} \" in *" + shellWord(" "+name+" ") + "*) " + shellWord(filepath.Join(root, "sysbin", "sleep")) + " 0.3 ;; esac" +
				"\nexec " + shellWord(filepath.Join(dir, name)) + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(wrap, name), []byte(body), 0o755); err != nil {
				in.t.Fatal(err)
			}
		}
	}
	in.path = wrap + ":" + in.path
	return log
}

func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// sigV4Keys are the hex forms of the SigV4 key chain for secret, for the
// UTC days around now: "AWS4"+secret, kDate, kRegion, kService, kSigning.
func sigV4Keys(secret string) []string {
	out := []string{hex.EncodeToString([]byte("AWS4" + secret))}
	mac := func(k []byte, m string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(m))
		return h.Sum(nil)
	}
	for _, d := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		k := mac([]byte("AWS4"+secret), time.Now().Add(d).UTC().Format("20060102"))
		out = append(out, hex.EncodeToString(k))
		for _, m := range []string{region, "ssm", "aws4_request"} {
			k = mac(k, m)
			out = append(out, hex.EncodeToString(k))
		}
	}
	return out
}

// TestNoCredentialInArgv: no credential, nor anything derived from the
// instance role's secret key, reaches the argv of any process the script
// starts (/proc/<pid>/cmdline is readable by every local user).
func TestNoCredentialInArgv(t *testing.T) {
	f := newFakeAWS(t)
	cr := cred{"ci-bot", "argv-Pa55word/+=secret"}
	for _, c := range []struct {
		authType, transport, init string
	}{
		{script.AuthTypeDockercfg, script.TransportParameter, script.InitSystemd},
		{script.AuthTypeDocker, script.TransportInline, script.InitUpstart},
	} {
		t.Run(c.authType+"/"+c.transport, func(t *testing.T) {
			in := newInstance(t, f, c.init, anyAwk())
			log := in.wrapTools()
			if c.authType == script.AuthTypeDocker {
				in.write("ECS_CLUSTER=x\n", 0o644)
			} else {
				in.write(fileWithVars, 0o644)
			}
			pl := payload(t, c.authType, hubKey, cr, false)
			f.setParam(paramName, b64(pl))
			for _, mode := range []string{script.ModePreflight, script.ModeApply, script.ModeRollback} {
				p := script.Params{Mode: mode, RunID: runID, Transport: c.transport, AuthType: c.authType,
					RegistryKey: hubKey, Init: c.init, Restart: true}
				switch {
				case mode == script.ModeRollback:
				case c.transport == script.TransportParameter:
					p.Parameter = paramName
				default:
					p.InlineB64 = b64(pl)
				}
				if r := in.run(p); !r.res.OK {
					t.Fatalf("%s: %+v\n%s%s", mode, r.res, r.stdout, r.stderr)
				}
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			logged := string(b)
			for _, tool := range []string{" sha256sum ", " awk ", " mv "} {
				if !strings.Contains(logged, tool) {
					t.Fatalf("the wrappers logged no %q: the test does not see the script's tools\n%s", tool, logged)
				}
			}
			if c.transport == script.TransportParameter && !strings.Contains(logged, " curl ") {
				t.Fatalf("no curl call logged\n%s", logged)
			}
			imds := f.imdsSecrets(t)
			secrets := map[string][]string{
				"the registry credential":        secretForms(cr, pl),
				"the instance role's secret key": {imds[0]},
				"the session token":              {imds[1]},
				"the IMDSv2 token":               {imds[2]},
				"a SigV4 signing key":            sigV4Keys(imds[0]),
			}
			for what, forms := range secrets {
				for _, s := range forms {
					if len(s) >= 4 && strings.Contains(logged, s) {
						t.Errorf("an argv holds %s (%d bytes)", what, len(s))
					}
				}
			}
		})
	}
}
