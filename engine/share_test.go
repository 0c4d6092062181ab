package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/route"
)

const splitPolicy = `
a = provider("a", kind = "demo", weight = 50)
b = provider("b", kind = "demo", weight = 30)
c = provider("c", kind = "demo", weight = 20)
d = provider("d", kind = "demo", priority = 2)
def route(req, ctx):
    return [a, b, c, d]
`

// Eval used to show one order ("highest weight first") that live traffic,
// drawn at random by weight, does not follow. Each candidate now carries
// its share, the table below compares it with the first picks of the
// gateway's own ordering (route.Order with a random Intn, as
// gateway/front.go calls it) over 20,000 requests, and a seed reproduces
// one live draw.
func TestEvalSharesMatchLivePicks(t *testing.T) {
	p := newEngine(t, map[string]string{"policies.star": splitPolicy}, Config{}).Policy()
	res, err := p.Eval(context.Background(), &Request{Model: "m"}, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	share := map[string]float64{}
	for _, c := range res.Candidates {
		share[c.Provider] = c.Share
	}
	want := map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2, "d": 0}
	for name, w := range want {
		if math.Abs(share[name]-w) > 1e-9 {
			t.Errorf("share[%s] = %v, want %v", name, share[name], w)
		}
	}
	if !strings.Contains(strings.Join(res.Explain, "\n"), "weighted-random first pick live: a 50%, b 30%, c 20%") {
		t.Errorf("explain %q does not describe the split", res.Explain)
	}

	// Live: the gateway's ordering with a random Intn.
	const n = 20_000
	rng := rand.New(rand.NewPCG(1, 2))
	first := map[string]int{}
	d, err := p.Decide(context.Background(), &Request{Model: "m"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		order, _ := route.Order(d.Candidates, route.Options{Intn: rng.IntN})
		first[order[0].Provider]++
	}
	t.Logf("provider  eval share  live first picks (of %d)", n)
	for _, name := range []string{"a", "b", "c", "d"} {
		live := float64(first[name]) / n
		t.Logf("%-8s  %10.3f  %10.3f", name, share[name], live)
		if math.Abs(live-share[name]) > 0.02 {
			t.Errorf("%s: live first-pick rate %.3f, eval share %.3f", name, live, share[name])
		}
	}

	// A seed reproduces one pick, and different seeds draw different
	// orders.
	seen := map[string]bool{}
	for seed := range uint64(64) {
		r1, err1 := p.Eval(context.Background(), &Request{Model: "m"}, EvalOptions{Seed: &seed})
		r2, err2 := p.Eval(context.Background(), &Request{Model: "m"}, EvalOptions{Seed: &seed})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if r1.Candidates[0].Provider != r2.Candidates[0].Provider {
			t.Fatalf("seed %d: first %s then %s", seed, r1.Candidates[0].Provider, r2.Candidates[0].Provider)
		}
		if r1.Candidates[3].Provider != "d" {
			t.Errorf("seed %d: tier 2 drawn before tier 1: %v", seed, r1.Candidates)
		}
		seen[r1.Candidates[0].Provider] = true
	}
	if !seen["a"] || !seen["b"] || !seen["c"] {
		t.Errorf("64 seeds drew first only %v", seen)
	}
}

func TestSharesStickyAndCooldown(t *testing.T) {
	cs := cands("a/1/50", "b/1/50", "c/2/100")
	up := func(string) bool { return true }
	tests := []struct {
		name   string
		sticky string
		avail  func(string) bool
		want   map[string]float64
	}{
		{"split", "", up, map[string]float64{"a": 0.5, "b": 0.5, "c": 0}},
		{"sticky decides", "c", up, map[string]float64{"a": 0, "b": 0, "c": 1}},
		{"sticky cooling", "c", func(n string) bool { return n != "c" }, map[string]float64{"a": 0.5, "b": 0.5, "c": 0}},
		{"tier cooling", "", func(n string) bool { return n == "c" }, map[string]float64{"a": 0, "b": 0, "c": 1}},
		{"all cooling", "", func(string) bool { return false }, map[string]float64{"a": 1, "b": 0, "c": 0}},
	}
	for _, tt := range tests {
		got := Shares(cs, tt.sticky, tt.avail)
		for k, w := range tt.want {
			if got[k] != w {
				t.Errorf("%s: Shares = %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
	if got := Shares(cands("a/1/0", "b/1/0"), "", nil); got["a"] != 1 || got["b"] != 0 {
		t.Errorf("zero weights: %v, want policy order", got)
	}
}

// The default sticky key binds a client key without a session to one
// provider; eval and decide() now say so whenever the binding decides.
func TestEvalNamesTheDefaultStickyBinding(t *testing.T) {
	p := newEngine(t, map[string]string{"policies.star": splitPolicy}, Config{}).Policy()
	res, err := p.Eval(context.Background(), &Request{Model: "m", Key: "team-a"}, EvalOptions{Sticky: "c"})
	if err != nil {
		t.Fatal(err)
	}
	explain := strings.Join(res.Explain, "\n")
	if res.Candidates[0].Provider != "c" || res.Candidates[0].Share != 1 ||
		!strings.Contains(explain, "the sticky key is the default (the session, else the client key): c decides the pick") {
		t.Errorf("candidates %v explain %q", res.Candidates, explain)
	}
	// A policy that turns stickiness off for requests without a session
	// (the documented one-liner) has no binding to name.
	p = newEngine(t, map[string]string{"policies.star": splitPolicy + `
def sticky_key(req, ctx):
    return req.session or None
`}, Config{}).Policy()
	res, err = p.Eval(context.Background(), &Request{Model: "m", Key: "team-a"}, EvalOptions{Sticky: "c"})
	if err != nil || res.StickyKey != nil || res.Candidates[0].Share == 1 {
		t.Errorf("session-only stickiness: %+v, %v", res, err)
	}
}

// Eval used to abort on a classify() error where the gateway falls back to
// the default class.
func TestEvalClassifyFaultFallsBackLikeTheGateway(t *testing.T) {
	p := newEngine(t, map[string]string{"policies.star": demoHead + `
def route(req, ctx):
    return [a, b]
def classify(err, ctx):
    if err.status == 418:
        fail("teapot")
    return default_class(err)
`}, Config{}).Policy()
	res, err := p.Eval(context.Background(), &Request{Model: "m"}, EvalOptions{SimulateErrors: map[string]string{"a": "418"}})
	if err != nil {
		t.Fatalf("Eval = %v, want the default class applied", err)
	}
	if res.Attempts[0].Class != string(ActionFail) || res.Outcome.Result != "failed" ||
		!strings.Contains(strings.Join(res.Explain, "\n"), "classify failed on a's status 418") {
		t.Errorf("attempts %+v outcome %+v explain %q", res.Attempts, res.Outcome, res.Explain)
	}
}

// walk(..., errors = {"p": "cut"}) used to be an unknown error; a stream
// that breaks (or goes idle) after its first byte is relayed as live: no
// failover, no classify, and the client's error event is named.
func TestWalkStreamFaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star": demoHead + `
def route(req, ctx):
    return [a, b]
def classify(err, ctx):
    if err.first_byte_sent:
        fail("classify is not called for a started stream")
    return default_class(err)
`,
		"policies_test.star": `
def test_cut():
    r = walk({"model": "m", "stream": True}, errors = {"a": "cut"})
    assert_eq(r["tried"], ["a:ok"])
    assert_eq(r["outcome"]["result"], "stream_failed")
    assert_eq(r["served_by"], "a")
    assert_contains(r["attempts"][0]["stream_error"], "upstream stream failed")

def test_stall():
    r = walk({"model": "m", "stream": True}, errors = {"a": "stall"})
    assert_eq(r["outcome"]["result"], "stream_failed")
    assert_contains(r["attempts"][0]["stream_error"], "upstream stream stalled")

def test_cut_needs_a_stream():
    assert_fails(lambda: walk("m", errors = {"a": "cut"}), "does not stream")
`,
	})
	rep, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Passed != 3 {
		t.Errorf("report %+v", rep.Tests)
	}
}

// route() can refuse a request on purpose with a status and a message the
// client gets, instead of a 503 that SDKs retry.
func TestRefuse(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star": demoHead + `
def route(req, ctx):
    if req.key == "support" and "opus" in req.model:
        return refuse(403, "team support may not use " + req.model)
    if req.model == "busy":
        return refuse(429, "come back later", retry_after = 30)
    return [a]
`,
		"policies_test.star": `
def test_refused():
    r = decide({"model": "claude-opus-4", "key": "support"})
    assert_eq(r["refusal"]["status"], 403)
    assert_eq(r["refusal"]["message"], "team support may not use claude-opus-4")
    assert_eq(r["outcome"]["result"], "refused")
    assert_eq(r["providers"], [])

def test_bad_status():
    assert_fails(lambda: refuse(503, "x"), "want 400, 403, 404 or 429")
`,
	})
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Policy().Decide(context.Background(), &Request{Model: "busy"}, Env{})
	if err != nil || d.Refusal == nil || d.Refusal.Status != 429 || d.Refusal.RetryAfter != 30*time.Second || len(d.Candidates) != 0 {
		t.Errorf("Decide(busy) = %+v, %v", d, err)
	}
	if got, _ := loadErr(t, map[string]string{"policies.star": demoHead + "def route(req, ctx):\n    return refuse(403, \"x\", retry_afer = 1)\n"}, Config{}); !strings.Contains(got, `refuse() has no parameter "retry_afer" (did you mean "retry_after"?)`) {
		t.Errorf("misspelled refuse keyword: %q", got)
	}
}
