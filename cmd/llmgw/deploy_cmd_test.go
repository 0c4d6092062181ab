package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const deployPolicy = `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo", priority = 2)
def route(req, ctx):
    return [a, b]
`

const deployTest = `
def test_a_first():
    assert_eq(decide("m")["providers"], ["a", "b"])
`

// llmgw reload and llmgw status against a running gateway: a good
// version goes live, a version that fails the smoke gate or a test is
// refused with the reason and a non-zero exit, status shows both.
func TestReloadAndStatusCommands(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("policies.star", deployPolicy)
	write("policies_test.star", deployTest)
	g := startGateway(t, map[string]string{}, "--policy", dir, "--log-level", "error")
	gw := map[string]string{"LLMGW_GATEWAY": g.url}

	out, errOut, code := runCmd(t, "", gw, "reload")
	if code != 0 || !strings.Contains(out, " live (loaded ") {
		t.Fatalf("reload unchanged = exit %d\n%s%s", code, out, errOut)
	}
	live := strings.Fields(out)[1]

	// A version that raises on ordinary requests.
	write("policies.star", deployPolicy+"\ndef sticky_key(req, ctx):\n    return req.metadata[\"team\"]\n")
	out, errOut, code = runCmd(t, "", gw, "reload")
	if code != 1 || !strings.Contains(out, "reload refused; policy "+live+" keeps serving") || !strings.Contains(out, "smoke gate") {
		t.Errorf("reload raising = exit %d\n%s%s", code, out, errOut)
	}

	// A version whose test fails: the test is named.
	write("policies.star", strings.Replace(deployPolicy, "return [a, b]", "return [b]", 1))
	out, errOut, code = runCmd(t, "", nil, "reload", "--gateway", g.url, "--json")
	var ans reloadAnswer
	if err := json.Unmarshal([]byte(out), &ans); err != nil || code != 1 || ans.OK || len(ans.Status.FailedTests) != 1 || ans.Status.FailedTests[0] != "test_a_first" {
		t.Errorf("reload failing test = exit %d, %+v\n%s%s", code, ans, out, errOut)
	}

	out, errOut, code = runCmd(t, "", gw, "status")
	if code != 0 || !strings.Contains(out, "policy "+live+", loaded ") || !strings.Contains(out, "last reload refused at ") ||
		!strings.Contains(out, "failed test: test_a_first") || !strings.Contains(out, "PROVIDER") || !hasRow(out, "a", "demo", "healthy") ||
		!strings.Contains(out, "state: in process (no --state)") {
		t.Errorf("status = exit %d\n%s%s", code, out, errOut)
	}

	// Fixed: live again.
	write("policies.star", deployPolicy+"# fixed\n")
	out, _, code = runCmd(t, "", gw, "reload")
	if code != 0 || strings.Contains(out, live) {
		t.Errorf("reload fixed = exit %d\n%s", code, out)
	}

	// No gateway there: a clear error.
	_, errOut, code = runCmd(t, "", map[string]string{"LLMGW_GATEWAY": "http://127.0.0.1:1"}, "status")
	if code != 1 || !strings.Contains(errOut, "is llmgw start running there?") {
		t.Errorf("status without a gateway = exit %d, %q", code, errOut)
	}
}

func TestShowCommand(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": `
o = provider("openai-main", kind = "openai", api_key = env("OPENAI_API_KEY"), base_url = env("OAI_URL", "https://api.openai.com/v1"),
             models = {"fast": "gpt-4.1-mini"}, headers = {"x-org": "secret-org"}, weight = 30, timeout = 20)
d = provider("demo", kind = "demo", priority = 9)
key("team-a", env("TEAM_A_KEY"))
price("gpt-4.1-mini", input = 0.5)
def route(req, ctx):
    return [o, d]
`})
	env := map[string]string{"OPENAI_API_KEY": "sk-very-secret-1234567890", "OAI_URL": "https://proxy.example/v1", "TEAM_A_KEY": "team-secret-abcdef"}
	out, errOut, code := runCmd(t, "", env, "show", "--policy", dir)
	if code != 0 {
		t.Fatalf("show = exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"openai-main  openai  https://proxy.example/v1  set", "30", "20s", "fast -> gpt-4.1-mini",
		"x-org (values redacted)", "client keys: team-a", "gpt-4.1-mini: input 0.5, output -", "demo         demo    (in-process)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"sk-very-secret", "team-secret", "secret-org"} {
		if strings.Contains(out, secret) {
			t.Errorf("show printed a secret %q:\n%s", secret, out)
		}
	}
	out, _, _ = runCmd(t, "", env, "show", "--policy", dir, "--json")
	if strings.Contains(out, "sk-very-secret") || strings.Contains(out, "secret-org") || !strings.Contains(out, `"api_key": "set"`) {
		t.Errorf("show --json:\n%s", out)
	}
}

// hasRow reports whether a line of a table starts with these fields.
func hasRow(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}
