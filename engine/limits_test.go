package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	quota "github.com/llmgw/llmgw/limits"
)

func TestLimitLoadErrors(t *testing.T) {
	const tail = "\ndef route(req, ctx):\n    return []\n"
	for _, tc := range []struct {
		src, want string
	}{
		{`limit("", rpm = 1)`, `policies.star:1:6: limit: name must not be empty`},
		{`limit("a")`, `policies.star:1:6: limit "a": give at least one bound`},
		{`limit("a", rpm = 0)`, `limit "a": rpm must be a positive int, got 0`},
		{`limit("a", tpm = -5)`, `limit "a": tpm must be a positive int, got -5`},
		{`limit("a", rpm = 1.5)`, `limit "a": rpm must be a positive int, got 1.5`},
		{`limit("a", concurrency = True)`, `limit "a": concurrency must be a positive int, got True`},
		{`limit("a", usd = 10)`, `limit "a": usd needs per = "day" or "month"`},
		{`limit("a", usd = -1, per = "day")`, `limit "a": usd must be a positive number of US dollars, got -1`},
		{`limit("a", usd = 1, per = "week")`, `limit "a": per must be "day" or "month", got "week"`},
		{`limit("a", rpm = 1, per = "day")`, `limit "a": per applies to usd only`},
		{`limit("a", rpm = 1, each = "team")`, `limit "a": each must be "key", "user", "session" or "metadata.NAME", got "team"`},
		{`limit("a", rpm = 1, each = "metadata.")`, `each must be`},
		{`limit("a", rpm = 1, models = [])`, `limit "a": models: must not be empty`},
		{`limit("a", rpm = 1, models = [3])`, `limit "a": models: want a list of non-empty strings, got 3`},
		{`limit("a", rpm = 1, keys = {"k": 1})`, `limit "a": keys: want a list of strings, got dict`},
		{`limit("a", rpm = 1, shadow = 1)`, `limit "a": shadow must be True or False, got int`},
		{`limit("a", rpm = 1, wait = 601)`, `limit "a": wait must be at most 600 seconds`},
		{`limit("a", rpm = 1, wait = "soon")`, `limit "a": wait: want a non-negative number of seconds`},
		{`limit("a", rpm = 1, wait = 5, shadow = True)`, `limit "a": a shadow limit never refuses`},
		{`limit("a", rpm = 1, bogus = 1)`, `limit: unexpected keyword argument "bogus"`},
		{"limit(\"a\", rpm = 1)\nlimit(\"a\", tpm = 1)", `policies.star:2:6: limit: duplicate limit name "a"`},
		{"key(\"team-a\", \"s1\")\nlimit(\"a\", rpm = 1, keys = [\"team-b\"])", `policies.star:2:6: limit "a": keys: no key "team-b" is declared (did you mean "team-a"?)`},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"policies.star": tc.src + tail})
		_, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, SkipTests: true})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.src, err, tc.want)
		}
	}
}

const limitsPolicy = `
key("team-a", "sa")
key("team-b", "sb")
cheap = provider("cheap", kind = "demo")
main = provider("main", kind = "demo")

limit("team-budget", usd = 10, per = "day", each = "key")
limit("gpt-rpm", rpm = 100, models = ["gpt-*"], keys = ["team-a"])
limit("per-user", tpm = 1000, each = "user")
limit("per-session", concurrency = 2, each = "session")
limit("per-project", rpm = 5, each = "metadata.project", shadow = True)
limit("queue", concurrency = 4, wait = 2.5)

def route(req, ctx):
    u = ctx.usage("team-budget")
    if u.share > 0.5:
        note("past half: %s %s %s" % (u.usd, u.remaining["usd"], u.applies))
        return cheap
    return main
`

func TestLimitDeclarations(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": limitsPolicy}, Config{SkipTests: true})
	pol := e.Policy()
	want := []quota.Def{
		{Name: "team-budget", Bounds: quota.Bounds{USDMicros: 10_000_000, Per: quota.PerDay}, Each: "key"},
		{Name: "gpt-rpm", Bounds: quota.Bounds{RPM: 100}, Models: []string{"gpt-*"}, Keys: []string{"team-a"}},
		{Name: "per-user", Bounds: quota.Bounds{TPM: 1000}, Each: "user"},
		{Name: "per-session", Bounds: quota.Bounds{Concurrency: 2}, Each: "session"},
		{Name: "per-project", Bounds: quota.Bounds{RPM: 5}, Each: "metadata.project", Shadow: true},
		{Name: "queue", Bounds: quota.Bounds{Concurrency: 4}, Wait: 2500 * 1e6},
	}
	if diff := cmp.Diff(want, pol.Limits()); diff != "" {
		t.Errorf("Limits() (-want +got):\n%s", diff)
	}
	req := &Request{Model: "gpt-4o", Key: "team-a", User: "u1", Session: "s1", Metadata: map[string]string{"project": "p9"}}
	var got []string
	for _, c := range pol.Charges(nil, req) {
		got = append(got, c.Limit+"="+c.Each)
	}
	wantCharges := []string{"team-budget=team-a", "gpt-rpm=", "per-user=u1", "per-session=s1", "per-project=p9", "queue="}
	if diff := cmp.Diff(wantCharges, got); diff != "" {
		t.Errorf("Charges (-want +got):\n%s", diff)
	}
	// team-b and a claude model: gpt-rpm does not count them.
	got = got[:0]
	for _, c := range pol.Charges(nil, &Request{Model: "claude-x", Key: "team-b"}) {
		got = append(got, c.Limit)
	}
	if diff := cmp.Diff([]string{"team-budget", "per-user", "per-session", "per-project", "queue"}, got); diff != "" {
		t.Errorf("Charges for team-b (-want +got):\n%s", diff)
	}
	// No limit declared: nothing, and no allocation.
	plain := newEngine(t, map[string]string{"policies.star": simplePolicy}, Config{SkipTests: true}).Policy()
	if n := testing.AllocsPerRun(100, func() { _ = plain.Charges(nil, req) }); n != 0 {
		t.Errorf("Charges with no limit: %v allocations, want 0", n)
	}
}

func TestCtxUsage(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": limitsPolicy}, Config{SkipTests: true})
	pol := e.Policy()
	var asked []quota.Charge
	env := Env{Usage: func(c quota.Charge) quota.Usage {
		asked = append(asked, c)
		return quota.Usage{USDMicros: 6_000_000}
	}}
	d, err := pol.Decide(context.Background(), &Request{Model: "m", Key: "team-a"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Candidates) != 1 || d.Candidates[0].Provider != "cheap" {
		t.Errorf("past half the budget: candidates %+v, want cheap", d.Candidates)
	}
	if diff := cmp.Diff([]string{"past half: 6.0 4.0 True"}, d.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if len(asked) != 1 || asked[0].Limit != "team-budget" || asked[0].Each != "team-a" {
		t.Errorf("ctx.usage read %+v, want team-budget's counter for team-a", asked)
	}
	// Without a usage source every counter is at zero.
	d, err = pol.Decide(context.Background(), &Request{Model: "m", Key: "team-a"}, Env{})
	if err != nil || d.Candidates[0].Provider != "main" {
		t.Errorf("zero usage: %+v, %v; want main", d, err)
	}
}

func TestCtxUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		route, want string
	}{
		{`ctx.usage("team-" + "budgte")`, `ctx.usage: no limit "team-budgte" is declared (did you mean "team-budget"?)`},
		{`ctx.usage("team-budgte")`, `policies.star:4:19: error: ctx.usage("team-budgte"): no limit of that name is declared (did you mean "team-budget"?)`},
		{`ctx.usage()`, `ctx.usage: got 0 arguments, want 1`},
		{`ctx.usage("team-budget").nope`, `usage has no .nope field or method`},
	} {
		src := "limit(\"team-budget\", usd = 1, per = \"month\")\nd = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    x = " + tc.route + "\n    return d\n"
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"policies.star": src})
		e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, SkipTests: true})
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: load error %v, want %q", tc.route, err, tc.want)
			}
			continue
		}
		_, err = e.Policy().Decide(context.Background(), &Request{Model: "m"}, Env{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "policies.star:4:") {
			t.Errorf("%s: Decide error %v, want %q at line 4", tc.route, err, tc.want)
		}
	}
}

func TestDecideWalkWithUsage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star": limitsPolicy,
		"limits_test.star": `
def test_budget_past_half_goes_cheap():
    assert_eq(decide({"model": "m", "key": "team-a"})["providers"], ["main"])
    d = decide({"model": "m", "key": "team-a"}, usage = {"team-budget": {"usd": 7.5}})
    assert_eq(d["providers"], ["cheap"])
    assert_eq(d["limited"], None)

def test_spent_budget_is_limited():
    w = walk({"model": "m", "key": "team-a"}, usage = {"team-budget": {"usd": 10}})
    assert_eq(w["outcome"], {"result": "limited", "status": 429})
    assert_eq(w["limited"]["limit"], "team-budget")
    assert_eq(w["limited"]["bound"], "usd")
    assert_eq(w["limited"]["each"], "team-a")
    assert_eq(w["tried"], [])

def test_rpm_counts_only_matching_models():
    u = {"gpt-rpm": {"requests": 100}}
    assert_eq(walk({"model": "gpt-4o", "key": "team-a"}, usage = u)["outcome"]["result"], "limited")
    assert_eq(walk({"model": "claude-x", "key": "team-a"}, usage = u)["outcome"]["result"], "served")
    assert_eq(walk({"model": "gpt-4o", "key": "team-b"}, usage = u)["outcome"]["result"], "served")

def test_shadow_never_refuses():
    w = walk({"model": "m", "metadata": {"project": "p"}}, usage = {"per-project": {"requests": 5}})
    assert_eq(w["outcome"]["result"], "served")
    assert_eq([r["limit"] for r in w["would_refuse"]], ["per-project"])

def test_concurrency_and_tokens():
    assert_eq(walk({"model": "m"}, usage = {"per-session": {"in_flight": 2}})["limited"]["bound"], "concurrency")
    assert_eq(walk({"model": "m", "input_tokens_estimate": 10}, usage = {"per-user": {"tokens": 995}})["limited"]["bound"], "tpm")
    assert_eq(walk({"model": "m", "input_tokens_estimate": 5}, usage = {"per-user": {"tokens": 995}})["limited"], None)

def test_usage_typos_fail():
    assert_fails(lambda: decide("m", usage = {"team-budgt": {"usd": 1}}), "no limit \"team-budgt\" is declared")
    assert_fails(lambda: decide("m", usage = {"team-budget": {"dollars": 1}}), "unknown field \"dollars\"")
    assert_fails(lambda: decide("m", usage = {"team-budget": {"requests": -1}}), "non-negative")
`,
	})
	rep, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Tests {
		if r.Failed {
			t.Errorf("%s: %s at %s", r.Name, r.Error, r.Pos)
		}
	}
	if rep.Passed != 6 {
		t.Errorf("%d passed, want 6: %+v", rep.Passed, rep)
	}
}

func TestLimitMessage(t *testing.T) {
	for _, tc := range []struct {
		r    quota.Refusal
		want string
	}{
		{quota.Refusal{Limit: "team", Bound: quota.BoundUSD, Each: "team-a"}, `limit "team" for "team-a": budget exhausted`},
		{quota.Refusal{Limit: "rpm", Bound: quota.BoundRPM}, `limit "rpm": requests per minute exhausted`},
		{quota.Refusal{Limit: "c", Bound: quota.BoundConcurrency, Each: strings.Repeat("x", 100)}, `limit "c" for "` + strings.Repeat("x", 64) + `…": concurrent requests exhausted`},
	} {
		if got := LimitMessage(&tc.r); got != tc.want {
			t.Errorf("LimitMessage(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
