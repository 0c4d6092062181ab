package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadErr writes a policy directory and returns New's error ("" when the
// policy loads) and, when it loads, the policy.
func loadErr(t *testing.T, files map[string]string, cfg Config) (string, *Policy) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	cfg.Path = dir
	if cfg.Kinds == nil {
		cfg.Kinds = testKinds()
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		return err.Error(), nil
	}
	return "", e.Policy()
}

const demoHead = `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo", priority = 2)
`

// A policy whose hooks raise on ordinary requests used to load and serve
// 503s; the static checks and the smoke gate now refuse it, naming the
// line and (for the smoke gate) the request.
func TestChecksRefuseBrokenHooks(t *testing.T) {
	tests := []struct {
		name, policy string
		want         []string
	}{
		{"unknown keyword argument", demoHead + `
def route(req, ctx):
    return [target(a, modle = "x")]
`, []string{"policies.star:6:23", `target() has no parameter "modle" (did you mean "model"?)`}},
		{"literal of the wrong type", demoHead + `
def route(req, ctx):
    if req.stream:
        return [target(a, weight = "50")]
    return [a]
`, []string{"policies.star:7:36", `target(): weight must be an int, got the string "50"`}},
		{"positional literal of the wrong type", demoHead + `
def route(req, ctx):
    if req.model == "x":
        return refuse("403", "no")
    return [a]
`, []string{`refuse(): status must be an int, got the string "403"`}},
		{"req field typo", demoHead + `
def route(req, ctx):
    if req.has_tool:
        return [b]
    return [a]
`, []string{"policies.star:6:12", `req has no attribute "has_tool" (did you mean "has_tools"?)`}},
		{"health field typo", demoHead + `
def route(req, ctx):
    if ctx.health(a).avaliable:
        return [a]
    return [b]
`, []string{`ctx.health(...) has no attribute "avaliable" (did you mean "available"?)`}},
		{"err field typo in classify", demoHead + `
def route(req, ctx):
    return [a, b]
def classify(err, ctx):
    if err.statuss == 429:
        return "failover"
    return None
`, []string{`err has no attribute "statuss" (did you mean "status"?)`}},
		{"ctx.health of an undeclared name", demoHead + `
def route(req, ctx):
    if ctx.health("c").healthy:
        return [a]
    return [b]
`, []string{"policies.star:6:19", `ctx.health("c"): no provider of that name is declared`}},
		{"a provider name that is not declared", demoHead + `
def route(req, ctx):
    if ctx.sticky == "bb":
        return [b]
    return [a]
`, []string{"policies.star:6:22", `ctx.sticky is compared with "bb", which no declared provider is named`}},
		{"route falls off the end", demoHead + `
def route(req, ctx):
    if req.stream:
        return [a]
`, []string{"policies.star:6:5", "route() can end here without a return"}},
		{"route returns None", demoHead + `
def route(req, ctx):
    if req.has_tools:
        return None
    return [a]
`, []string{"policies.star:7:9", "route() returns None here"}},
		{"wrong type at run time", demoHead + `
def route(req, ctx):
    return [a] + req.model
`, []string{"smoke gate", `request (openai plain model="gpt-4o")`, "policies.star:6:16", "unknown binary op: list + string"}},
		{"bad return value", demoHead + `
def route(req, ctx):
    return "a"
`, []string{"smoke gate", "returned string, want a provider"}},
		{"raises only on streams with tools", demoHead + `
def route(req, ctx):
    if req.stream and req.has_tools:
        fail("not yet")
    return [a]
`, []string{"smoke gate", "stream tools", "not yet"}},
		{"raises only for anthropic", demoHead + `
def route(req, ctx):
    return [{"openai": a, "responses": a, "gemini": b}[req.protocol]]
`, []string{"smoke gate", "(anthropic ", `key "anthropic" not in dict`}},
		{"classify raises on a class of error", demoHead + `
def route(req, ctx):
    return [a, b]
def classify(err, ctx):
    return {429: "failover"}[err.status]
`, []string{"smoke gate", `error from provider "a": status 400`}},
		{"sticky_key returns a number", demoHead + `
def route(req, ctx):
    return [a]
def sticky_key(req, ctx):
    return len(req.model)
`, []string{"smoke gate", "sticky_key", "returned int"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := loadErr(t, map[string]string{"policies.star": tt.policy}, Config{})
			if got == "" {
				t.Fatalf("the policy loaded; want it refused with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error %q\nwant it to contain %q", got, w)
				}
			}
		})
	}
}

// The smoke gate keeps the reload contract: a broken version is refused
// and the live one keeps serving.
func TestReloadRefusesAPolicyThatRaises(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"policies.star": demoHead + "def route(req, ctx):\n    return [a]\n"})
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	live := e.Policy().Hash
	writeFiles(t, dir, map[string]string{"policies.star": demoHead + "def route(req, ctx):\n    return [a] + req.model\n"})
	err = e.Reload(context.Background())
	var se *SmokeError
	if !errors.As(err, &se) || !strings.Contains(se.Case, "openai") {
		t.Fatalf("Reload = %v, want a *SmokeError naming the request", err)
	}
	if e.Policy().Hash != live || !strings.Contains(e.Status().LastError, "smoke gate") {
		t.Errorf("after the refused reload: hash %s (want %s), last error %q", e.Policy().Hash, live, e.Status().LastError)
	}
}

func TestNoTestsWarnsOrFails(t *testing.T) {
	files := map[string]string{"policies.star": demoHead + "def route(req, ctx):\n    return [a]\n"}
	got, p := loadErr(t, files, Config{})
	if got != "" {
		t.Fatal(got)
	}
	if len(p.Findings) != 1 || p.Findings[0].Severity != SeverityWarning || !strings.Contains(p.Findings[0].Message, "no *_test.star tests") {
		t.Errorf("Findings = %v, want one warning about missing tests", p.Findings)
	}
	if got, _ := loadErr(t, files, Config{RequireTests: true}); !strings.Contains(got, "no *_test.star tests (--require-tests)") {
		t.Errorf("RequireTests: %q", got)
	}
	files["policies_test.star"] = "def test_a():\n    assert_eq(decide({\"model\": \"m\"})[\"providers\"], [\"a\"])\n"
	if got, p := loadErr(t, files, Config{RequireTests: true}); got != "" || len(p.Findings) != 0 {
		t.Errorf("with a test: %q, findings %v", got, p.Findings)
	}
}

// env() of an unset variable used to become an empty api_key silently,
// and every request a 401 upstream.
func TestProviderLoadChecks(t *testing.T) {
	route := "\ndef route(req, ctx):\n    return [p]\n"
	tests := []struct {
		decl, want string
	}{
		{`p = provider("p", kind = "openai", api_key = env("UNSET"))`, `provider "p": api_key is None (an unset environment variable?)`},
		{`p = provider("p", kind = "anthropic", api_key = env("UNSET", ""))`, `provider "p": api_key is empty`},
		{`p = provider("p", kind = "gemini")`, `provider "p": api_key is missing`},
		{`p = provider("p", kind = "openai", api_key = "k", base_url = "api.example.com/v1")`, `base_url "api.example.com/v1" must be an http:// or https:// URL with a host`},
		{`p = provider("p", kind = "openai", api_key = "k", base_url = "http:///v1")`, "must be an http:// or https:// URL with a host"},
		{`p = provider("p", kind = "openai", api_key = None, base_url = "http://127.0.0.1:11434/v1")`, ""},
		{`p = provider("p", kind = "anthropic", oauth = "acct")`, ""},
		{`p = provider("p", kind = "demo")`, ""},
		{`p = provider("p", kind = "openai", api_key = env("SET"))`, ""},
	}
	for _, tt := range tests {
		got, _ := loadErr(t, map[string]string{"policies.star": tt.decl + route},
			Config{Getenv: func(k string) string { return map[string]string{"SET": "sk"}[k] }})
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s\n  = %q, want %q", tt.decl, got, tt.want)
		}
	}
	_, p := loadErr(t, map[string]string{"policies.star": `p = provider("p", kind = "openai", api_key = "k", base_url = "https://proxy.example")` + route}, Config{})
	if p == nil || len(p.Findings) == 0 || !strings.Contains(p.Findings[0].String(), "policies.star:1:13: warning: provider \"p\": an OpenAI base_url usually ends in /v1") {
		t.Errorf("OpenAI base_url without /v1: findings %v, want a warning", p.Findings)
	}
}

// ctx.health of a name the policy does not declare used to answer
// healthy; a name computed at run time (out of the static check's sight)
// is now an error too.
func TestHealthOfUnknownProviderIsAnError(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": demoHead + `
def route(req, ctx):
    if req.model == "typo":
        return [a] if ctx.health(req.model).healthy else [b]
    return [a]
`}, Config{})
	_, err := e.Policy().Decide(context.Background(), &Request{Model: "typo"}, Env{})
	if err == nil || !strings.Contains(err.Error(), `ctx.health: no provider "typo" is declared`) {
		t.Errorf("Decide = %v, want an unknown-provider error", err)
	}
}

func TestLoadStaysInsideThePolicyDirectory(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{"x/p.star": "v = 1\n"})
	dir := filepath.Join(outer, "policy")
	writeFiles(t, dir, map[string]string{
		"policies.star": `load("../x/p.star", "v")` + demoHead + "def route(req, ctx):\n    return [a]\n",
		"x/p.star":      "v = 2\n", // what the old resolver silently loaded instead
	})
	_, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir})
	if err == nil || !strings.Contains(err.Error(), `load "../x/p.star": the path leaves the policy directory`) {
		t.Errorf("load(../) = %v, want a refusal", err)
	}

	writeFiles(t, dir, map[string]string{"policies.star": `load("lib/p.star", "v")` + demoHead + "def route(req, ctx):\n    return [a]\n"})
	if err := os.Symlink(filepath.Join(outer, "x"), filepath.Join(dir, "lib")); err != nil {
		t.Skip("no symlinks:", err)
	}
	_, err = New(context.Background(), Config{Kinds: testKinds(), Path: dir})
	if err == nil || !strings.Contains(err.Error(), "outside the policy directory") {
		t.Errorf("load through a symlink out = %v, want a refusal", err)
	}

	// A link that stays inside (a ConfigMap's ..data) is fine.
	if err := os.Remove(filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x", filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir}); err != nil {
		t.Errorf("load through a symlink inside: %v", err)
	}
}

func TestTestsInSubdirectoriesRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star":          `load("lib/pick.star", "pick")` + demoHead + "def route(req, ctx):\n    return pick(a, b)\n",
		"lib/pick.star":          "def pick(x, y):\n    return [x, y]\n",
		"lib/pick_test.star":     "load(\"lib/pick.star\", \"pick\")\ndef test_pick():\n    assert_eq(pick(1, 2), [2, 1])\n",
		".hidden/skip_test.star": "def test_hidden():\n    fail(\"hidden directories are skipped\")\n",
	})
	rep, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || len(rep.Tests) != 1 || rep.Tests[0].File != "lib/pick_test.star" || rep.Tests[0].Name != "test_pick" {
		t.Errorf("report %+v, want lib/pick_test.star's test_pick run (and failing)", rep)
	}
}

// Doubling a string is one Starlark step, so 28 doublings stayed far
// below the step checks and ran for seconds past the hook timeout. The
// watchdog armed after the first steps now stops it near the deadline.
func TestHookTimeoutHoldsForHeavySteps(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": demoHead + `
def route(req, ctx):
    if req.model == "grow":
        s = "x" * 1024
        for i in range(40):
            s = s + s
            s = s[:1 << 29]
        note(str(len(s)))
    return [a]
`}, Config{HookTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := e.Policy().Decide(context.Background(), &Request{Model: "grow"}, Env{})
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Decide(grow) = %v, want ErrTimeout", err)
	}
	if took > time.Second {
		t.Errorf("Decide(grow) took %v with a 100ms hook timeout", took)
	}
	// The thread's next hook is not cancelled by a stale watchdog.
	if _, err := e.Policy().Decide(context.Background(), &Request{Model: "m"}, Env{}); err != nil {
		t.Errorf("Decide after a timeout: %v", err)
	}
}

// TestKindsFromConfig: the provider kinds a policy may declare are the
// caller's (Config.Kinds), with their default base URLs and whether they
// need a key; the engine knows none of its own.
func TestKindsFromConfig(t *testing.T) {
	policy := map[string]string{"policies.star": `p = provider("p", kind = "toy")
def route(req, ctx):
    return [p]
`}
	got, _ := loadErr(t, policy, Config{Kinds: []ProviderKind{{Name: "openai"}, {Name: "demo", NoKey: true}}})
	if !strings.Contains(got, `unknown kind "toy" (want openai or demo)`) {
		t.Errorf("undeclared kind: %q", got)
	}
	got, p := loadErr(t, policy, Config{Kinds: []ProviderKind{{Name: "toy", BaseURL: "https://toy.invalid/api", NoKey: true}}})
	if got != "" || p.Providers[0].BaseURL != "https://toy.invalid/api" {
		t.Fatalf("toy kind: %q, %+v", got, p)
	}
	got, _ = loadErr(t, policy, Config{Kinds: []ProviderKind{{Name: "toy", BaseURL: "https://toy.invalid/api"}}})
	if !strings.Contains(got, "api_key is missing") {
		t.Errorf("a kind that needs a key, without one: %q", got)
	}
	_, p = loadErr(t, map[string]string{"policies.star": `p = provider("p", kind = "toy", base_url = "https://proxy.example")
def route(req, ctx):
    return [p]
`}, Config{Kinds: []ProviderKind{{Name: "toy", Title: "Toy", BaseURL: "https://toy.invalid/api", NoKey: true}}})
	if p == nil || len(p.Findings) == 0 || !strings.Contains(p.Findings[0].Message, `a Toy base_url usually ends in /api`) {
		t.Errorf("findings: %+v", p)
	}
}
