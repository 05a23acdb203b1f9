package ecsconfig

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scriptCodes are the Code* constants of package script, by name, read from
// its source: name → value.
func scriptCodes(t *testing.T) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "script/script.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("script.%s is not a string literal", name.Name)
				}
				codes[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("no Code* constants in script/script.go")
	}
	return codes
}

// hintCases are the codes the switch of (*runner).hint in errors.go has a
// case for: each a string literal or a script.Code* constant, resolved.
func hintCases(t *testing.T, codes map[string]string) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "hint" || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok {
				return true
			}
			for _, e := range cc.List {
				switch e := e.(type) {
				case *ast.BasicLit:
					v, _ := strconv.Unquote(e.Value)
					out = append(out, v)
				case *ast.SelectorExpr:
					v, ok := codes[e.Sel.Name]
					if x, _ := e.X.(*ast.Ident); x == nil || x.Name != "script" || !ok {
						t.Fatalf("hint: case %s.%s is not a script.Code* constant", e.X, e.Sel.Name)
					}
					out = append(out, v)
				default:
					t.Fatalf("hint: a case of %T", e)
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("no case in (*runner).hint in errors.go")
	}
	return out
}

// Every script error code that the hint switch handles reaches the user
// with a hint that says what to do: in the Outcome and once in the step's
// error. A case for a code the script does not have is dead (a typo), and
// a code handled without a row below fails until its advice is written
// down here.
func TestEveryHintSaysWhatToDo(t *testing.T) {
	advice := map[string][]string{
		"parameter-denied":     {"ssm:GetParameter", "grant it", "`ecs-config-transport: inline`"},
		"imds-unavailable":     {"check its metadata options", "`ecs-config-transport: inline`"},
		"restart-tool-missing": {"`restart-agent: false`", "restart the agent"},
		"auth-type-mismatch":   {"set `ecs-config-auth-type: dockercfg` or `ecs-config-auth-type: docker` to match it"},
		"auth-data-invalid":    {"ECS_ENGINE_AUTH_DATA", "fix or remove the member the error names"},
		"parameter-throttled":  {"throughput", "one cluster at a time"},
		"config-immutable":     {"chattr -i"},
		"locked":               {"run again", "flock", "util-linux"},
		"backup-mismatch":      {"restore /etc/ecs/ecs.config by hand"},
	}
	codes := scriptCodes(t)
	handled := hintCases(t, codes)
	for _, code := range handled {
		if !slices.Contains(slices.Collect(maps.Values(codes)), code) {
			t.Errorf("hint has a case for %q, which is no script.Code* constant: the script never reports it", code)
		}
		if _, ok := advice[code]; !ok {
			t.Errorf("hint handles %q but this test says nothing of what its hint must advise", code)
		}
	}
	for code := range advice {
		if !slices.Contains(handled, code) {
			t.Errorf("hint has no case for %q", code)
		}
	}
	for _, code := range handled {
		t.Run(code, func(t *testing.T) {
			insts := fleet(2)
			f := newFake(t, insts)
			f.behave = func(mode, id string) reply { return scriptErr(code, "what the instance said") }
			var l logLines
			res, err := Apply(context.Background(), f.clients(), insts, testOptions(&l))
			var e *Error
			if !errors.As(err, &e) || e.Step != StepPreflight {
				t.Fatalf("err = %v, want the preflight failed", err)
			}
			for _, o := range res.Instances {
				if o.ErrorCode != code || !strings.HasPrefix(o.Hint, code+": ") || len(o.Hint) <= len(code)+2 {
					t.Errorf("%s: code %q, hint %q; want %s and a hint that starts with it", o.EC2InstanceID, o.ErrorCode, o.Hint, code)
				}
				for _, want := range advice[code] {
					if !strings.Contains(o.Hint, want) {
						t.Errorf("%s: the hint does not say %q: %s", o.EC2InstanceID, want, o.Hint)
					}
				}
			}
			if h := res.Instances[0].Hint; h != "" && strings.Count(err.Error(), h) != 1 {
				t.Errorf("the error gives the hint %d times, want once: %v", strings.Count(err.Error(), h), err)
			}
		})
	}
}
