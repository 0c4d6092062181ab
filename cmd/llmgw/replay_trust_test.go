package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/requestlog"
)

// replayJSON runs llmgw replay --json and decodes its report.
func replayJSON(t *testing.T, policy, db string, extra ...string) replayReport {
	t.Helper()
	var out, errOut strings.Builder
	args := append([]string{"replay", "--policy", policy, "--db", db, "--json"}, extra...)
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("replay: %v\n%s", err, errOut.String())
	}
	var rep replayReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("replay --json: %v: %s", err, out.String())
	}
	return rep
}

// Replaying the policy that served the traffic used to report the
// requests a failover had sent elsewhere as changed decisions (15 of 74,
// +121% cost): it compared the provider that served with the new first
// choice. It now decides each request under the logged version too and
// reports 0 changed, the failover episode apart.
func TestReplayUnchangedPolicyAcrossFailoverEpisode(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"message":"upstream down","type":"server_error"}}`)
	}))
	defer broken.Close()
	dir := t.TempDir()
	policy := `
main = provider("main", kind = "openai", base_url = "` + broken.URL + `/v1", api_key = "sk-main")
backup = provider("backup", kind = "demo", priority = 2)
red = provider("red", kind = "demo", priority = 3)
def route(req, ctx):
    if req.headers.get("x-team") == "red":
        return [red]
    return [main, backup]
`
	if err := os.WriteFile(filepath.Join(dir, "policies.star"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{}, "--policy", dir, "--log-level", "error")
	for i := range 6 {
		hdr := []string{}
		if i%3 == 2 {
			hdr = []string{"X-Team", "red"}
		}
		resp, body := postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, hdr...)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}

	rep := replayJSON(t, dir, g.db)
	if rep.Requests != 6 || rep.Changed != 0 || rep.Unchanged != 6 || rep.ServedElsewhere["failover"] != 4 || rep.BaselineUnknown != 0 || rep.CostDelta != 0 {
		t.Errorf("replay of the serving policy = %+v\nwant 6 requests, 0 changed, 4 served elsewhere by failover", rep)
	}
	if rep.Before["red"] != 2 || rep.After["red"] != 2 {
		t.Errorf("requests routed by a header: before %v after %v, want 2 on red (headers are logged)", rep.Before, rep.After)
	}

	// A candidate that really decides differently: changes counted
	// decision against decision, broken down, listed with --limit.
	cand := filepath.Join(t.TempDir(), "main.star")
	os.WriteFile(cand, []byte(strings.Replace(policy, "return [main, backup]", "return [backup]", 1)), 0o644)
	rep = replayJSON(t, cand, g.db, "--limit", "1")
	if rep.Changed != 4 || rep.Unchanged != 2 || rep.ByKey["(open)"] != 4 || rep.ByModel["gpt-4o-mini"] != 4 || len(rep.Examples) != 1 || rep.More != 3 {
		t.Errorf("replay of a candidate = %+v, want 4 changed (1 listed, 3 more)", rep)
	}
	var out strings.Builder
	run(context.Background(), []string{"replay", "--policy", cand, "--db", g.db, "--limit", "1"}, func(string) string { return "" }, nil, &out, io.Discard)
	if !strings.Contains(out.String(), "... 3 more (--limit N, or --all)") || !strings.Contains(out.String(), "changed by model: gpt-4o-mini 4;") {
		t.Errorf("replay text:\n%s", out.String())
	}
	if rep := replayJSON(t, cand, g.db, "--all"); len(rep.Examples) != 4 || rep.More != 0 {
		t.Errorf("--all listed %d, %d more", len(rep.Examples), rep.More)
	}
}

func TestReplayMissingDBCreatesNothing(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": deployPolicy})
	db := filepath.Join(dir, "nope", "llmgw.db")
	_, errOut, code := runCmd(t, "", nil, "replay", "--policy", dir, "--db", db)
	if code != 1 || !strings.Contains(errOut, "no request log at "+db) {
		t.Errorf("replay --db missing = exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("replay created %s", filepath.Dir(db))
	}
}

// Rows logged before the log kept headers and policy sources replay with
// a warning instead of silently wrong.
func TestReplayWarnsAboutWhatTheLogLacks(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo")
def route(req, ctx):
    return [b] if req.headers.get("x-team") == "red" else [a]
`})
	pol, err := engine.Check(context.Background(), engine.Config{Kinds: gateway.ProviderKinds(), Path: dir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	logged := []requestlog.LoggedDecision{
		{RequestID: "old1", Features: json.RawMessage(`{"model":"m"}`), Provider: "a", UpstreamModel: "m", PolicyHash: "gone"},
		{RequestID: "new1", Features: json.RawMessage(`{"model":"m","headers":{"x-team":"red"},"complete":true}`), Provider: "b", UpstreamModel: "m", PolicyHash: pol.Hash},
	}
	versions := func(_ context.Context, hash string) *engine.Policy {
		if hash == pol.Hash {
			return pol
		}
		return nil
	}
	rep := replay(context.Background(), pol, logged, versions, 20, time.UTC)
	w := strings.Join(rep.Warnings, "\n")
	if rep.Changed != 0 || rep.BaselineUnknown != 1 || !strings.Contains(w, "1 of 2 requests were logged before the log kept request headers: the policy reads req.headers") ||
		!strings.Contains(w, "1 requests were decided by a policy version whose source is not in the log") {
		t.Errorf("replay = %+v", rep)
	}
}

// A request the candidate sends to the demo provider is projected at no
// cost, as the gateway logs demo answers: it used to be priced at the
// requested model's rate.
func TestReplayProjectsFreeKindAtNoCost(t *testing.T) {
	paid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100000,"completion_tokens":100000,"total_tokens":200000}}`)
	}))
	defer paid.Close()
	dir := t.TempDir()
	policy := `
main = provider("main", kind = "openai", base_url = "` + paid.URL + `/v1", api_key = "sk-main")
local = provider("local", kind = "demo", priority = 2)
def route(req, ctx):
    return [main, local]
`
	if err := os.WriteFile(filepath.Join(dir, "policies.star"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{}, "--policy", dir, "--log-level", "error")
	for i := range 2 {
		resp, body := postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	cand := filepath.Join(t.TempDir(), "main.star")
	os.WriteFile(cand, []byte(strings.Replace(policy, "return [main, local]", "return [local]", 1)), 0o644)
	rep := replayJSON(t, cand, g.db)
	if rep.Changed != 2 || rep.Unpriced != 0 || rep.CostBefore <= 0 || rep.CostAfter != 0 || rep.CostDelta != -rep.CostBefore {
		t.Errorf("replay onto demo = %+v, want 2 changed, cost before > 0 and after 0", rep)
	}
}
