package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cmdPolicy = `
a = provider("openai-main", kind = "openai", api_key = env("OPENAI_API_KEY", "x"))
b = provider("anthropic-main", kind = "anthropic", api_key = "sk-ant", priority = 2)
def route(req, ctx):
    note("routed " + req.model)
    if req.model == "boom":
        fail("no such model")
    return [a, b]
`

const cmdPolicyTest = `
def test_order():
    assert_eq(decide("gpt-4.1")["providers"], ["openai-main", "anthropic-main"])
`

// policyDir writes a policy directory and returns its path.
func policyDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCmd runs the CLI and returns stdout, stderr and the exit code main
// would use.
func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	code := 0
	if err != nil {
		code = 1
		var ex exitError
		if errors.As(err, &ex) {
			code = ex.code
		} else {
			errb.WriteString(err.Error())
		}
	}
	return out.String(), errb.String(), code
}

func TestTestCommand(t *testing.T) {
	good := policyDir(t, map[string]string{"policies.star": cmdPolicy, "policies_test.star": cmdPolicyTest})
	bad := policyDir(t, map[string]string{"policies.star": cmdPolicy, "policies_test.star": cmdPolicyTest + `
def test_wrong():
    assert_eq(decide("gpt-4.1")["providers"][0], "anthropic-main")
`})
	broken := policyDir(t, map[string]string{"policies.star": "def route(req, ctx):\n    return [nope]\n"})
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"pass", nil, []string{"test", "--policy", good}, 0, "PASS: 1 passed, 0 failed", ""},
		{"verbose", nil, []string{"test", "-v", "--policy", good}, 0, "ok   test_order", ""},
		{"policy from env", map[string]string{"LLMGW_POLICY": good}, []string{"test"}, 0, "PASS", ""},
		{"failing test", nil, []string{"test", "--policy", bad}, 1, "FAIL test_wrong  " + bad + "/policies_test.star:6:14: assert_eq: got", ""},
		{"run filter", nil, []string{"test", "--policy", bad, "--run", "order"}, 0, "PASS: 1 passed", ""},
		{"fail on empty", nil, []string{"test", "--policy", good, "--run", "zzz", "--fail-on-empty"}, 1, "no tests ran", ""},
		{"broken policy", nil, []string{"test", "--policy", broken}, 1, "", broken + "/policies.star:2:13: undefined: nope"},
		{"missing policy", nil, []string{"test", "--policy", "/nonexistent/p.star"}, 1, "", "no such file"},
		{"bad flag", nil, []string{"test", "--nope"}, 2, "", "flag provided but not defined"},
		{"capabilities", nil, []string{"test", "--capabilities"}, 0, "req.has_thinking", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, "", tt.env, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("llmgw %s = code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
					strings.Join(tt.args, " "), code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestTestCommandJSON(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": cmdPolicy, "policies_test.star": cmdPolicyTest})
	out, _, code := runCmd(t, "", nil, "test", "--json", "--policy", dir)
	var rep struct {
		Passed int `json:"passed"`
		Tests  []struct {
			Name string `json:"name"`
		} `json:"tests"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Passed != 1 || rep.Tests[0].Name != "test_order" {
		t.Errorf("llmgw test --json = %d, %q (%v)", code, out, err)
	}
}

func TestEvalCommand(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": cmdPolicy})
	openai := `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"user":"bob"}`
	anthropic := `{"model":"claude-x","max_tokens":10,"system":"s","messages":[]}`
	reqFile := filepath.Join(dir, "req.json")
	if err := os.WriteFile(reqFile, []byte(openai), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{"text", openai, []string{"--request", "-"}, 0, []string{"1.  openai-main", "2.  anthropic-main", "note: routed gpt-4.1", "outcome: served by openai-main", `sticky key: "bob"`}, ""},
		{"file", "", []string{"--request", reqFile}, 0, []string{"protocol=openai"}, ""},
		{"guess anthropic", anthropic, []string{"--request", "-"}, 0, []string{"protocol=anthropic"}, ""},
		{"explicit protocol", anthropic, []string{"--request", "-", "--protocol", "responses"}, 0, []string{"protocol=responses"}, ""},
		{"gemini model flag", `{"contents":[]}`, []string{"--request", "-", "--model", "gemini-2.5-pro"}, 0, []string{`model="gemini-2.5-pro" protocol=gemini`}, ""},
		{"simulate", openai, []string{"--request", "-", "--simulate-errors", "openai-main=429:5"}, 0, []string{"429:5 → cooldown 5s", "outcome: served by anthropic-main"}, ""},
		{"explain cooling", openai, []string{"--request", "-", "--explain", "--health", "openai-main=cooldown"}, 0, []string{"openai-main: moved last, cooling down"}, ""},
		{"fail returned", openai, []string{"--request", "-", "--simulate-errors", "openai-main=404"}, 0, []string{"outcome: 404 from openai-main returned to the client"}, ""},
		{"now", openai, []string{"--request", "-", "--now", "2026-01-01T00:00:00Z"}, 0, []string{"policy "}, ""},
		{"hook error", `{"model":"boom"}`, []string{"--request", "-"}, 1, nil, dir + "/policies.star:7:13: fail: no such model"},
		{"no request", "", nil, 1, nil, "--request FILE or --request - is required"},
		{"bad json", "{", []string{"--request", "-"}, 1, nil, "eval: wirefeat: request body: invalid JSON"},
		{"bad protocol", openai, []string{"--request", "-", "--protocol", "soap"}, 1, nil, `unknown protocol "soap"`},
		{"bad simulate", openai, []string{"--request", "-", "--simulate-errors", "openai-main=200"}, 1, nil, "want an HTTP status"},
		{"unknown provider", openai, []string{"--request", "-", "--simulate-errors", "nope=500"}, 1, nil, `unknown provider "nope"`},
		{"bad now", openai, []string{"--request", "-", "--now", "yesterday"}, 1, nil, "--now"},
		{"bad health", openai, []string{"--request", "-", "--health", "a=meh"}, 1, nil, "--health"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"eval", "--policy", dir}, tt.args...)
			out, errOut, code := runCmd(t, tt.stdin, nil, args...)
			ok := code == tt.wantCode && strings.Contains(errOut, tt.wantErr)
			for _, w := range tt.wantOut {
				ok = ok && strings.Contains(out, w)
			}
			if !ok {
				t.Errorf("llmgw %s = code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
					strings.Join(args, " "), code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestEvalCommandJSON(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": cmdPolicy})
	out, errOut, code := runCmd(t, `{"model":"gpt-4.1"}`, nil, "eval", "--policy", dir, "--request", "-", "--json", "--simulate-errors", "openai-main=timeout")
	var res struct {
		Policy     string `json:"policy"`
		Candidates []struct {
			Provider string `json:"provider"`
			Model    string `json:"model"`
			Priority int    `json:"priority"`
			Weight   int    `json:"weight"`
		} `json:"candidates"`
		StickyKey *string  `json:"sticky_key"`
		Notes     []string `json:"notes"`
		Attempts  []struct {
			Provider string `json:"provider"`
			Class    string `json:"class"`
		} `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("eval --json = %d, %q, %q (%v)", code, out, errOut, err)
	}
	if res.Policy == "" || len(res.Candidates) != 2 || res.Candidates[1].Priority != 2 || res.Candidates[0].Weight != 100 ||
		res.StickyKey != nil || len(res.Notes) != 1 || len(res.Attempts) != 2 || res.Attempts[0].Class != "failover" {
		t.Errorf("eval --json = %s", out)
	}
}

func TestFmtCommand(t *testing.T) {
	dir := t.TempDir()
	messy := "x=provider( 'a',kind='demo' )\ndef route(req,ctx):\n  return [x]\n"
	clean := "x = provider(\"a\", kind = \"demo\")\n\ndef route(req, ctx):\n    return [x]\n"
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	messyPath := write("messy.star", messy)
	cleanPath := write("clean.star", clean)
	write("notes.txt", "not starlark (")

	if out, _, code := runCmd(t, "", nil, "fmt", "--check", dir); code != 1 || strings.TrimSpace(out) != messyPath {
		t.Errorf("fmt --check = %d, %q; want 1 and %s", code, out, messyPath)
	}
	if b, _ := os.ReadFile(messyPath); string(b) != messy {
		t.Errorf("fmt --check changed the file")
	}
	if out, _, code := runCmd(t, "", nil, "fmt", messyPath, cleanPath); code != 0 || strings.TrimSpace(out) != messyPath {
		t.Errorf("fmt = %d, %q; want 0 and %s", code, out, messyPath)
	}
	if b, _ := os.ReadFile(messyPath); string(b) != clean {
		t.Errorf("fmt wrote %q, want %q", b, clean)
	}
	if _, _, code := runCmd(t, "", nil, "fmt", "--check", dir); code != 0 {
		t.Errorf("fmt --check after fmt = %d, want 0", code)
	}
	broken := write("broken.star", "def f(:\n")
	if _, errOut, code := runCmd(t, "", nil, "fmt", broken); code != 1 || !strings.Contains(errOut, "broken.star:1") {
		t.Errorf("fmt(broken) = %d, %q; want 1 with the position", code, errOut)
	}
	if _, errOut, code := runCmd(t, "", nil, "fmt", filepath.Join(dir, "missing.star")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("fmt(missing) = %d, %q", code, errOut)
	}
}
