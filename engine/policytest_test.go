package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRunTests(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star": simplePolicy,
		"a_test.star": `
load("policies.star", "a")

def test_pass():
    assert_eq(decide({"model": "m"})["providers"], ["a", "b"])
    assert_eq(a.name, "a")

def test_fail():
    assert_eq(decide("m")["providers"], ["b"])

def test_walk_503_retries_once():
    w = walk("m", errors = {"a": 503})
    assert_eq(w["tried"], ["a:retry", "a:failover", "b:ok"])
    assert_eq(w["attempts"][2]["model"], "m")

def test_health_dict():
    d = decide("m", health = {"a": {"state": "cooldown", "cooldown_left": 5}}, now = "2026-02-01T00:00:00Z")
    assert_eq(d["providers"], ["b", "a"])
    assert_contains(d["explain"], "a: moved last, cooling down")

def test_helpers_reject_typos():
    assert_fails(lambda: decide({"modle": "m"}), "unknown field \"modle\"")
    assert_fails(lambda: decide("m", health = {"a": "sideways"}), "unknown state")
    assert_fails(lambda: walk("m", errors = {"a": 200}), "HTTP status")
    assert_fails(lambda: walk("m", errors = {"zz": 500}), "unknown provider")

def test_assert_fails_fails():
    assert_fails(lambda: None)

def test_with_param(x):
    pass

def todo_something():
    pass
`,
		"b_test.star": "def test_broken(\n",
	})
	rep, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []TestResult{
		{Name: "test_pass", File: "a_test.star"},
		{Name: "test_fail", File: "a_test.star", Failed: true, Pos: dir + "/a_test.star:9:14", Error: `assert_eq: got ["a", "b"], want ["b"]`},
		{Name: "test_walk_503_retries_once", File: "a_test.star"},
		{Name: "test_health_dict", File: "a_test.star"},
		{Name: "test_helpers_reject_typos", File: "a_test.star"},
		{Name: "test_assert_fails_fails", File: "a_test.star", Failed: true, Pos: dir + "/a_test.star:28:17", Error: "assert_fails: lambda did not fail"},
		{Name: "test_with_param", File: "a_test.star", Failed: true, Pos: dir + "/a_test.star:30:1", Error: "a test takes no parameters"},
		{Name: "todo_something", File: "a_test.star", Skipped: true},
		{Name: "b_test.star", File: "b_test.star", Failed: true, Pos: dir + "/b_test.star:2:1", Error: "got end of file, want ')'"},
	}
	if diff := cmp.Diff(want, rep.Tests, cmpopts.IgnoreFields(TestResult{}, "Duration")); diff != "" {
		t.Errorf("RunTests (-want +got):\n%s", diff)
	}
	if rep.Passed != 4 || rep.Failed != 4 || rep.Skipped != 1 || rep.OK() {
		t.Errorf("RunTests counts = %d/%d/%d ok=%v, want 4/4/1 false", rep.Passed, rep.Failed, rep.Skipped, rep.OK())
	}

	rep, err = RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{Run: "^test_pass$|walk"})
	if err != nil || rep.Passed != 2 || rep.Failed != 1 { // b_test.star still fails to load
		t.Errorf("RunTests(-run) = %+v, %v, want 2 passed, 1 failed", rep, err)
	}
	rep, err = RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{Run: "nothing", FailOnEmpty: true})
	if err != nil || !rep.Empty || rep.OK() {
		t.Errorf("RunTests(FailOnEmpty) = %+v, %v, want empty and not ok", rep, err)
	}
	if _, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{Run: "("}); err == nil {
		t.Errorf("RunTests(bad -run) = nil error")
	}
}

func TestRunTestsClockIsInjected(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies.star": `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo")
def route(req, ctx):
    if ctx.now.hour >= 18 or time.now().hour < 8:
        return [b]
    return [a]
`,
		"policies_test.star": `
def test_day():
    assert_eq(decide("m")["providers"], ["a"])

def test_evening():
    assert_eq(decide("m", now = "2026-01-05T19:00:00Z")["providers"], ["b"])
    assert_eq(decide("m", now = time.parse_time("2026-01-05T06:00:00Z"))["providers"], ["b"])
`})
	rep, err := RunTests(context.Background(), Config{Kinds: testKinds(), Path: dir}, TestOptions{})
	if err != nil || !rep.OK() || rep.Passed != 2 {
		t.Errorf("RunTests = %+v, %v, want 2 passes", rep, err)
	}
}

func TestEval(t *testing.T) {
	e := newEngine(t, map[string]string{"policies.star": simplePolicy + `
def classify(err, ctx):
    if err.status == 418:
        return "fail"
    return default_class(err)
`}, Config{})
	key := "k"
	tests := []struct {
		name string
		opts EvalOptions
		want EvalResult
	}{
		{"served", EvalOptions{}, EvalResult{
			Attempts: []Attempt{{Provider: "a", Model: "m-upstream", Status: 200, Class: "ok"}},
			Outcome:  Outcome{Result: "served", Provider: "a", Status: 200},
		}},
		{"walk", EvalOptions{SimulateErrors: map[string]string{"a": "429:12", "b": "418"}}, EvalResult{
			Attempts: []Attempt{
				{Provider: "a", Model: "m-upstream", Status: 429, Error: "429:12", Class: "cooldown", CooldownS: 12},
				{Provider: "b", Model: "m", Status: 418, Error: "418", Class: "fail"},
			},
			Outcome: Outcome{Result: "failed", Provider: "b", Status: 418},
		}},
		{"exhausted", EvalOptions{SimulateErrors: map[string]string{"a": "timeout", "b": "connect"}}, EvalResult{
			Attempts: []Attempt{
				{Provider: "a", Model: "m-upstream", Error: "timeout", Class: "failover", MarkFailed: true},
				{Provider: "b", Model: "m", Error: "connect", Class: "failover", MarkFailed: true},
			},
			Outcome: Outcome{Result: "exhausted", Provider: "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Policy().Eval(context.Background(), &Request{Model: "m", Key: key}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Policy = e.Policy().Hash
			tt.want.Returned = cands("a/1/100", "b/2/7")
			tt.want.Candidates = []EvalCandidate{{Candidate: tt.want.Returned[0], Share: 1}, {Candidate: tt.want.Returned[1]}}
			tt.want.StickyKey = &key
			tt.want.Notes, tt.want.Explain = []string{}, []string{}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Eval (-want +got):\n%s", diff)
			}
		})
	}
	got, err := e.Policy().Eval(context.Background(), &Request{Model: "m", Key: key}, EvalOptions{Sticky: "b", Health: map[string]Health{"b": {State: StateHalfOpen}}})
	if err != nil || got.Candidates[0].Provider != "b" || !strings.Contains(strings.Join(got.Explain, "\n"), `sticky key "k" is bound to b`) {
		t.Errorf("Eval(sticky) = %+v, %v, want b first, explained", got, err)
	}
}

func TestParseSimulateErrors(t *testing.T) {
	got, err := ParseSimulateErrors("a=429, b=timeout,c=503:2")
	if diff := cmp.Diff(map[string]string{"a": "429", "b": "timeout", "c": "503:2"}, got); err != nil || diff != "" {
		t.Errorf("ParseSimulateErrors = %v (-want +got):\n%s", err, diff)
	}
	for _, bad := range []string{"a", "a=200", "a=boom", "=429", "a=429:x"} {
		if _, err := ParseSimulateErrors(bad); err == nil {
			t.Errorf("ParseSimulateErrors(%q) = nil error", bad)
		}
	}
}
