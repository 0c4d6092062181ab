package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/route"
)

// writeFiles writes files (name → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newEngine writes a policy directory and loads it.
func newEngine(t testing.TB, files map[string]string, cfg Config) *Engine {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	cfg.Path = dir
	if cfg.Kinds == nil {
		cfg.Kinds = testKinds()
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

const simplePolicy = `
a = provider("a", kind = "openai", api_key = "k", models = {"m": "m-upstream"})
b = provider("b", kind = "anthropic", api_key = "kb", priority = 2, weight = 7)
def route(req, ctx):
    return [a, b]
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error, with the position
	}{
		{"unknown kind", map[string]string{"policies.star": "provider(\"x\", kind = \"azure\")\ndef route(req, ctx):\n    return []\n"},
			`policies.star:1:9: provider "x": unknown kind "azure"`},
		{"duplicate provider", map[string]string{"policies.star": "provider(\"x\", kind = \"demo\")\nprovider(\"x\", kind = \"demo\")\ndef route(req, ctx):\n    return []\n"},
			`policies.star:2:9: provider: duplicate provider name "x"`},
		{"duplicate key", map[string]string{"policies.star": "key(\"k\", \"s1\")\nkey(\"k\", \"s2\")\ndef route(req, ctx):\n    return []\n"},
			`policies.star:2:4: key: duplicate key name "k"`},
		{"empty secret", map[string]string{"policies.star": "key(\"k\", env(\"NOPE\"))\ndef route(req, ctx):\n    return []\n"},
			`policies.star:1:4: key "k": secret must be a non-empty string`},
		{"route missing", map[string]string{"policies.star": "provider(\"x\", kind = \"demo\")\n"},
			`policies.star: route(req, ctx) is not defined`},
		{"route arity", map[string]string{"policies.star": "def route(req):\n    return []\n"},
			`policies.star:1:1: route must take exactly two parameters`},
		{"syntax", map[string]string{"policies.star": "def route(req, ctx)\n    return []\n"},
			`policies.star:2:1: got newline, want ':'`},
		{"undefined name", map[string]string{"policies.star": "def route(req, ctx):\n    return [nope]\n"},
			`policies.star:2:13: undefined: nope`},
		{"while is off", map[string]string{"policies.star": "def route(req, ctx):\n    while True:\n        pass\n"},
			`policies.star:2:5: this Starlark dialect does not support while loops`},
		{"load escapes", map[string]string{"policies.star": "load(\"../x.star\", \"y\")\ndef route(req, ctx):\n    return []\n"},
			`policies.star:1:1: cannot load ../x.star`},
		{"load cycle", map[string]string{"policies.star": "load(\"a.star\", \"x\")\ndef route(req, ctx):\n    return []\n", "a.star": "load(\"b.star\", \"y\")\nx = 1\n", "b.star": "load(\"a.star\", \"x\")\ny = 1\n"},
			`cycle in load graph through a.star`},
		{"runaway load", map[string]string{"policies.star": "[x for x in range(1000000000)]\ndef route(req, ctx):\n    return []\n"},
			`too many steps`},
		{"bad stock module", map[string]string{"policies.star": "load(\"@stock/nope.star\", \"x\")\ndef route(req, ctx):\n    return []\n"},
			`cannot load @stock/nope.star`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			_, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, MaxSteps: 10000})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestDeclarations(t *testing.T) {
	e := newEngine(t, map[string]string{"main.star": `
load("lib/shared.star", "extra")
a = provider("a", kind = "openai", api_key = env("A_KEY"), headers = {"x-team": "t"}, timeout = 12.5)
g = provider("g", kind = "gemini", base_url = "https://proxy.example/", oauth = "acct", weight = 0)
key("k1", "s1")
price("m", input = 1.25, output = 0)
admin_key("adm")
note("loaded")
def route(req, ctx):
    return [a, g, extra]
`, "lib/shared.star": `extra = provider("d", kind = "demo")` + "\n"}, Config{Getenv: func(k string) string { return map[string]string{"A_KEY": "sk-a"}[k] }})
	p := e.Policy()
	want := []Provider{
		{Name: "d", Kind: "demo", Priority: 1, Weight: 100},
		{Name: "a", Kind: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "sk-a", Priority: 1, Weight: 100, Headers: map[string]string{"x-team": "t"}, Timeout: 12500 * time.Millisecond},
		{Name: "g", Kind: "gemini", BaseURL: "https://proxy.example", OAuth: "acct", Priority: 1, Weight: 0},
	}
	if diff := cmp.Diff(want, p.Providers); diff != "" {
		t.Errorf("Providers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Key{{"k1", "s1"}}, p.Keys); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if len(p.Prices) != 1 || *p.Prices[0].Input != 1.25 || *p.Prices[0].Output != 0 || p.Prices[0].CacheRead != nil {
		t.Errorf("Prices = %+v", p.Prices)
	}
	if p.AdminKey != "adm" || !cmp.Equal(p.Notes, []string{"loaded"}) {
		t.Errorf("AdminKey, Notes = %q, %q", p.AdminKey, p.Notes)
	}
	if diff := cmp.Diff([]string{"lib/shared.star", "main.star"}, p.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if _, ok := p.Provider("g"); !ok {
		t.Errorf("Provider(g) not found")
	}
	if _, ok := p.Provider("zz"); ok {
		t.Errorf("Provider(zz) found")
	}
}

func TestDecide(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": `
a = provider("a", kind = "openai", api_key = "k")
b = provider("b", kind = "anthropic", api_key = "kb", priority = 2, weight = 7)
c = provider("c", kind = "demo")
NOTHING = None
def pick(req, ctx):
    if req.model == "one":
        return a
    if req.model == "target":
        return [target(a, model = "x", priority = 5, weight = 1), target(b)]
    if req.model == "none":
        return NOTHING  # None the static check cannot see: Decide's own check
    if req.model == "tuple":
        return (c,)
    if req.model == "bad":
        return "a"
    if req.model == "badelem":
        return [a, 3]
    if req.model == "health":
        h = ctx.health("b")
        note("%s %s %s %d %s" % (h.state, h.available, h.error_rate, h.in_flight, ctx.health(a).healthy))
        return []
    if req.model == "sticky":
        note(str(ctx.sticky))
        return []
    if req.model == "fields":
        note("%s|%s|%s|%s|%s|%s|%s|%s|%s|%d|%d|%s|%s" % (req.protocol, req.stream, req.key, req.session, req.user,
            req.headers.get("x-a"), req.metadata.get("m"), req.has_tools, req.has_images, req.input_tokens_estimate,
            req.max_output_tokens, req.has_thinking, ctx.now.year))
        return []
    return [a, b]
route = pick
`}, Config{})
	p := e.Policy()
	tests := []struct {
		model   string
		want    []route.Candidate
		notes   []string
		wantErr string
	}{
		{model: "any", want: cands("a/1/100", "b/2/7")},
		{model: "one", want: cands("a/1/100")},
		{model: "target", want: cands("a/5/1/x", "b/2/7")},
		{model: "none", wantErr: "returned None (a path without a return?)"},
		{model: "tuple", want: cands("c/1/100")},
		{model: "bad", wantErr: "route: " + p.route.Position().String() + ": returned string, want a provider"},
		{model: "badelem", wantErr: "element 1: got int"},
		{model: "health", notes: []string{"cooldown False 0.5 3 True"}},
		{model: "sticky", notes: []string{"bound-p"}},
		{model: "fields", notes: []string{"anthropic|True|k|s|u|va|vm|True|False|10|20|True|2026"}},
	}
	env := Env{
		Health: func(name string) Health {
			if name == "b" {
				return Health{State: StateCooldown, ErrorRate: 0.5, InFlight: 3}
			}
			return Health{}
		},
		Sticky: func(key string) string { return "bound-p" },
		Now:    TestEpoch(),
	}
	for _, tt := range tests {
		req := &Request{Model: tt.model, Protocol: "anthropic", Stream: true, Key: "k", Session: "s", User: "u",
			Headers: map[string]string{"x-a": "va"}, Metadata: map[string]string{"m": "vm"}, HasTools: true,
			InputTokensEstimate: 10, MaxOutputTokens: 20, HasThinking: true}
		d, err := p.Decide(context.Background(), req, env)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decide(%s) = %v, want error containing %q", tt.model, err, tt.wantErr)
			}
			var he *HookError
			if !errors.As(err, &he) || he.Hook != "route" {
				t.Errorf("Decide(%s) error %T, want *HookError for route", tt.model, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Decide(%s) = %v", tt.model, err)
			continue
		}
		if diff := cmp.Diff(tt.want, d.Candidates); diff != "" {
			t.Errorf("Decide(%s) candidates (-want +got):\n%s", tt.model, diff)
		}
		if diff := cmp.Diff(tt.notes, d.Notes); diff != "" {
			t.Errorf("Decide(%s) notes (-want +got):\n%s", tt.model, diff)
		}
		if d.StickyKey != "k:s" || d.Sticky != "bound-p" {
			t.Errorf("Decide(%s) sticky = %q, %q, want k:s, bound-p", tt.model, d.StickyKey, d.Sticky)
		}
	}
}

func TestDefaultStickyKey(t *testing.T) {
	tests := []struct{ key, session, want string }{
		{"team", "s1", "team:s1"},
		{"team", "", "team"},
		{"", "s1", "s1"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := DefaultStickyKey(&Request{Key: tt.key, Session: tt.session}); got != tt.want {
			t.Errorf("DefaultStickyKey(%q, %q) = %q, want %q", tt.key, tt.session, got, tt.want)
		}
	}
}

func TestStickyKeyHook(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": simplePolicy + `
def sticky_key(req, ctx):
    if req.model == "none":
        return None
    if req.model == "bad":
        return 1
    return "u:" + req.user
`}, Config{})
	var asked []string
	env := Env{Sticky: func(k string) string { asked = append(asked, k); return "b" }}
	d, err := e.Policy().Decide(context.Background(), &Request{Model: "m", User: "x"}, env)
	if err != nil || d.StickyKey != "u:x" || d.Sticky != "b" {
		t.Errorf("Decide = %+v, %v, want sticky key u:x bound to b", d, err)
	}
	d, err = e.Policy().Decide(context.Background(), &Request{Model: "none"}, env)
	if err != nil || d.StickyKey != "" || len(asked) != 1 {
		t.Errorf("Decide(none) = %+v, %v (lookups %q), want no sticky key and no lookup", d, err, asked)
	}
	if _, err = e.Policy().Decide(context.Background(), &Request{Model: "bad"}, env); err == nil || !strings.Contains(err.Error(), "sticky_key") {
		t.Errorf("Decide(bad) = %v, want sticky_key error", err)
	}
}

func TestDefaultClass(t *testing.T) {
	tests := []struct {
		ei   ErrorInfo
		want Class
	}{
		{ErrorInfo{Status: 401, Kind: "http"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Status: 403, Kind: "http"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Status: 429, Kind: "http"}, Class{Action: ActionCooldown, Cooldown: 60 * time.Second}},
		{ErrorInfo{Status: 429, Kind: "http", RetryAfter: 7 * time.Second}, Class{Action: ActionCooldown, Cooldown: 7 * time.Second}},
		{ErrorInfo{Status: 503, Kind: "http"}, Class{Action: ActionRetry}},
		{ErrorInfo{Status: 529, Kind: "http"}, Class{Action: ActionRetry}},
		{ErrorInfo{Status: 500, Kind: "http"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Status: 502, Kind: "http"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Status: 504, Kind: "http"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Kind: "timeout"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Kind: "connect"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Kind: "stream"}, Class{Action: ActionFailover, MarkFailed: true}},
		{ErrorInfo{Status: 400, Kind: "http"}, Class{Action: ActionFail}},
		{ErrorInfo{Status: 404, Kind: "http"}, Class{Action: ActionFail}},
		{ErrorInfo{Status: 500, Kind: "http", FirstByteSent: true}, Class{Action: ActionFail, MarkFailed: true}},
		{ErrorInfo{Status: 429, Kind: "http", FirstByteSent: true}, Class{Action: ActionFail}},
	}
	for _, tt := range tests {
		if got := DefaultClass(tt.ei); got != tt.want {
			t.Errorf("DefaultClass(%+v) = %+v, want %+v", tt.ei, got, tt.want)
		}
	}
}

func TestClassifyHook(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": simplePolicy + `
def classify(err, ctx):
    if err.status == 418:
        return "fail"
    if err.status == 429:
        return cooldown(err.retry_after or 15)
    if err.status == 409:
        return "bogus"
    if err.status == 410:
        return None
    if err.kind == "stream":
        return "retry"
    if err.message == "fields":
        note("never recorded")
        return cooldown(time.parse_duration("%ds" % (err.attempt + len(err.type) + len(err.provider) + len(err.model))))
    return default_class(err)
`}, Config{})
	p := e.Policy()
	tests := []struct {
		ei      ErrorInfo
		want    Class
		wantErr string
	}{
		{ErrorInfo{Status: 418}, Class{Action: ActionFail}, ""},
		{ErrorInfo{Status: 429}, Class{Action: ActionCooldown, Cooldown: 15 * time.Second}, ""},
		{ErrorInfo{Status: 429, RetryAfter: 2 * time.Second}, Class{Action: ActionCooldown, Cooldown: 2 * time.Second}, ""},
		{ErrorInfo{Status: 410}, Class{Action: ActionFail}, ""},
		{ErrorInfo{Status: 500}, Class{Action: ActionFailover, MarkFailed: true}, ""},
		{ErrorInfo{Kind: "stream", FirstByteSent: true}, Class{Action: ActionFail}, ""},
		{ErrorInfo{Message: "fields", Attempt: 2, Type: "ab", Provider: "a", Model: "xyz"}, Class{Action: ActionCooldown, Cooldown: 8 * time.Second}, ""},
		{ErrorInfo{Status: 409}, Class{}, `classify returned "bogus"`},
	}
	for _, tt := range tests {
		got, err := p.Classify(context.Background(), tt.ei, Env{})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Classify(%+v) = %v, want error containing %q", tt.ei, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Classify(%+v) = %+v, %v, want %+v", tt.ei, got, err, tt.want)
		}
	}
}

func TestClassifyWithoutHook(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": simplePolicy}, Config{})
	got, err := e.Policy().Classify(context.Background(), ErrorInfo{Status: 503}, Env{})
	if err != nil || got != (Class{Action: ActionRetry}) {
		t.Errorf("Classify(503) = %+v, %v, want retry", got, err)
	}
}

const runawayPolicy = `
a = provider("a", kind = "demo")
def route(req, ctx):
    if req.model == "spin":
        n = 0
        for i in range(1000000000):
            n += i
    return [a]
`

// TestRunawayStoppedByStepLimit checks that an endless hook is stopped by
// the step limit with its file:line, while Decide keeps working for
// another goroutine at the same time.
func TestRunawayStoppedByStepLimit(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": runawayPolicy}, Config{MaxSteps: 200_000, HookTimeout: -1})
	p := e.Policy()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			if _, err := p.Decide(context.Background(), &Request{Model: "ok"}, Env{}); err != nil {
				errs <- err
			}
		}
	}()
	_, err := p.Decide(context.Background(), &Request{Model: "spin"}, Env{})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Decide = %v", err)
	}
	var he *HookError
	if !errors.As(err, &he) || !errors.Is(err, ErrStepLimit) || !strings.Contains(he.Pos, "policies.star:7:") {
		t.Fatalf("Decide(spin) = %v, want a step-limit HookError at policies.star:7", err)
	}
}

func TestHookTimeoutAndCancel(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": runawayPolicy}, Config{MaxSteps: 1 << 40, HookTimeout: 20 * time.Millisecond})
	_, err := e.Policy().Decide(context.Background(), &Request{Model: "spin"}, Env{})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Decide(spin) = %v, want ErrTimeout", err)
	}

	e = newEngine(t, map[string]string{"policies.star": runawayPolicy}, Config{MaxSteps: 1 << 40, HookTimeout: -1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err = e.Policy().Decide(ctx, &Request{Model: "spin"}, Env{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Decide(spin) with cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestFrozenGlobals(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": `
a = provider("a", kind = "demo")
seen = []
def route(req, ctx):
    if req.model == "m":  # not a model the smoke gate sends
        seen.append(req.model)
    return [a]
`}, Config{})
	_, err := e.Policy().Decide(context.Background(), &Request{Model: "m"}, Env{})
	if err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("Decide mutating a global = %v, want a frozen-list error", err)
	}
}

func TestConcurrentDecide(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": simplePolicy}, Config{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				req := &Request{Model: "m", Key: "k", Session: string(rune('a' + g)), Headers: map[string]string{"i": string(rune(i))}}
				d, err := e.Policy().Decide(context.Background(), req, Env{})
				if err != nil || len(d.Candidates) != 2 {
					t.Errorf("Decide = %+v, %v", d, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
