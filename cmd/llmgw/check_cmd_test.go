package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/engine"
)

const checkHead = `
a = provider("a", kind = "demo", weight = 50)
b = provider("b", kind = "demo", weight = 50)
`

func TestCheckCommand(t *testing.T) {
	// A typo and a forgotten return: both reported, with file:line, and
	// the policy would be refused.
	dir := policyDir(t, map[string]string{"policies.star": checkHead + `
def route(req, ctx):
    if req.has_tool:
        return [a]
`})
	out, _, code := runCmd(t, "", nil, "check", "--policy", dir)
	if code != 1 || !strings.Contains(out, `policies.star:6:12: error: req has no attribute "has_tool" (did you mean "has_tools"?)`) ||
		!strings.Contains(out, "policies.star:6:5: error: route() can end here without a return") || !strings.Contains(out, "FAIL") {
		t.Errorf("check broken = exit %d\n%s", code, out)
	}

	// A policy that raises only at run time: the smoke gate names the
	// request.
	dir = policyDir(t, map[string]string{"policies.star": checkHead + `
def route(req, ctx):
    return [a] if req.metadata["tier"] == "gold" else [b]
`})
	out, _, code = runCmd(t, "", nil, "check", "--policy", dir)
	if code != 1 || !strings.Contains(out, "smoke gate: on the synthetic request (openai plain") || !strings.Contains(out, `key "tier" not in dict`) {
		t.Errorf("check raising = exit %d\n%s", code, out)
	}

	// A good policy without tests: ok with a warning; --require-tests
	// refuses it.
	dir = policyDir(t, map[string]string{"policies.star": checkHead + "def route(req, ctx):\n    return [a, b]\n"})
	out, _, code = runCmd(t, "", nil, "check", "--policy", dir)
	if code != 0 || !strings.Contains(out, "warning: the policy has no *_test.star tests") || !strings.Contains(out, "ok: policy ") {
		t.Errorf("check without tests = exit %d\n%s", code, out)
	}
	out, _, code = runCmd(t, "", nil, "check", "--policy", dir, "--require-tests", "--json")
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK ||
		len(rep.Findings) != 1 || rep.Findings[0].Severity != engine.SeverityError {
		t.Errorf("check --require-tests --json = exit %d, %+v (%v)\n%s", code, rep, err, out)
	}

	// Failing tests are named.
	dir = policyDir(t, map[string]string{"policies.star": checkHead + "def route(req, ctx):\n    return [a, b]\n",
		"policies_test.star": "def test_x():\n    assert_eq(decide(\"m\")[\"providers\"], [\"b\"])\n"})
	out, _, code = runCmd(t, "", nil, "check", "--policy", dir, "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || len(rep.FailedTests) != 1 || rep.FailedTests[0] != "test_x" {
		t.Errorf("check failing test = exit %d, %+v\n%s", code, rep, out)
	}
}

// An unset key variable is an error where the policy serves, a warning
// where it is only tested (CI has no production keys).
func TestMissingKeyServingVersusTesting(t *testing.T) {
	dir := policyDir(t, map[string]string{
		"policies.star":      `o = provider("o", kind = "openai", api_key = env("OPENAI_API_KEY"))` + "\ndef route(req, ctx):\n    return [o]\n",
		"policies_test.star": "def test_o():\n    assert_eq(decide(\"m\")[\"providers\"], [\"o\"])\n",
	})
	out, _, code := runCmd(t, "", nil, "check", "--policy", dir)
	if code != 1 || !strings.Contains(out, `provider "o": api_key is None (an unset environment variable?)`) {
		t.Errorf("check = exit %d\n%s", code, out)
	}
	out, errOut, code := runCmd(t, "", nil, "test", "--policy", dir)
	if code != 0 || !strings.Contains(errOut, "warning: provider \"o\": api_key is None") || !strings.Contains(out, "PASS") {
		t.Errorf("test = exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := runCmd(t, "", map[string]string{"OPENAI_API_KEY": "sk"}, "check", "--policy", dir); code != 0 {
		t.Errorf("check with the key set = exit %d", code)
	}
}

func TestEvalHeadersSessionSeed(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": checkHead + `
def route(req, ctx):
    note("team=%s session=%s" % (req.headers.get("x-team"), req.session))
    return [a, b]
`})
	body := `{"model":"m","messages":[]}`
	out, errOut, code := runCmd(t, body, nil, "eval", "--policy", dir, "--request", "-",
		"--header", "X-Team: red", "--session", "s1", "--key", "k", "--json")
	var res engine.EvalResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("eval = exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if len(res.Notes) != 1 || res.Notes[0] != "team=red session=s1" || res.StickyKey == nil || *res.StickyKey != "k:s1" {
		t.Errorf("notes %q sticky key %v", res.Notes, res.StickyKey)
	}
	if !strings.Contains(errOut, "protocol openai guessed from the body") {
		t.Errorf("eval did not say the protocol was guessed: %q", errOut)
	}
	if res.Candidates[0].Share != 0.5 || res.Candidates[1].Share != 0.5 {
		t.Errorf("shares %+v, want 0.5 each", res.Candidates)
	}
	_, errOut, _ = runCmd(t, body, nil, "eval", "--policy", dir, "--request", "-", "--protocol", "openai")
	if strings.Contains(errOut, "guessed") {
		t.Errorf("eval --protocol still says guessed: %q", errOut)
	}
	// A seed reproduces one live draw; some seed draws b first.
	firsts := map[string]bool{}
	for _, seed := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		o1, _, _ := runCmd(t, body, nil, "eval", "--policy", dir, "--request", "-", "--protocol", "openai", "--seed", seed, "--json")
		o2, _, _ := runCmd(t, body, nil, "eval", "--policy", dir, "--request", "-", "--protocol", "openai", "--seed", seed, "--json")
		var r1, r2 engine.EvalResult
		if json.Unmarshal([]byte(o1), &r1) != nil || json.Unmarshal([]byte(o2), &r2) != nil || r1.Candidates[0].Provider != r2.Candidates[0].Provider {
			t.Fatalf("seed %s: not reproducible:\n%s\n%s", seed, o1, o2)
		}
		firsts[r1.Candidates[0].Provider] = true
	}
	if !firsts["a"] || !firsts["b"] {
		t.Errorf("8 seeds drew first only %v", firsts)
	}
	out, _, _ = runCmd(t, body, nil, "eval", "--policy", dir, "--request", "-", "--protocol", "openai")
	if !strings.Contains(out, "weighted-random first pick live: a 50%, b 50%") || !strings.Contains(out, "first 50%") {
		t.Errorf("eval text does not show the split:\n%s", out)
	}
}
