package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLimitZone(t *testing.T) {
	for _, tc := range []struct {
		name, want, err string
	}{
		{"", "UTC", ""},
		{"UTC", "UTC", ""},
		{"Europe/Paris", "Europe/Paris", ""},
		{"Mars/Olympus", "", `--limit-tz: unknown time zone "Mars/Olympus"`},
	} {
		loc, err := limitZone(tc.name)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("limitZone(%q) = %v, %v; want error %q", tc.name, loc, err, tc.err)
			}
		case err != nil || loc.String() != tc.want:
			t.Errorf("limitZone(%q) = %v, %v; want %s", tc.name, loc, err, tc.want)
		}
	}
	// A day in Paris starts an hour or two before UTC's.
	loc, _ := limitZone("Europe/Paris")
	if _, off := time.Date(2026, 1, 15, 0, 0, 0, 0, loc).Zone(); off != 3600 {
		t.Errorf("Europe/Paris in January: offset %d, want 3600 (tzdata embedded?)", off)
	}
}

// budgetLimit is the daily budget of team-a that the budget tests spend.
const budgetLimit = `limit("team-daily", usd = 5, per = "day", each = "key")`

// budgetPolicy is a policy whose one provider, an upstream that lives as
// long as the test, answers every chat request with 7 tokens of gpt-x,
// priced at $1 per token, for the key team-a (sk-team-a); limits are its
// limit() lines.
func budgetPolicy(t *testing.T, limits string) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`)
	}))
	t.Cleanup(up.Close)
	return `up = provider("up", kind = "openai", base_url = "` + up.URL + `/v1", api_key = "sk-up")
key("team-a", "sk-team-a")
price("gpt-x", input = 1000000, output = 1000000)
` + limits + `
def route(req, ctx):
    return [up]
`
}

// TestStartRestartKeepsSpentBudget restarts `llmgw start` on the same
// request log: a daily budget spent before the restart refuses the next
// request after it with 429, in the caller's shape, naming the limit.
func TestStartRestartKeepsSpentBudget(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "main.star")
	src := budgetPolicy(t, budgetLimit)
	if err := os.WriteFile(policy, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "log.db")
	chat := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
	auth := []string{"Authorization", "Bearer sk-team-a"}

	g := startGateway(t, map[string]string{}, "--policy", policy, "--db", db, "--limit-tz", "Europe/Paris")
	if resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, auth...); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, b)
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}

	g = startGateway(t, map[string]string{}, "--policy", policy, "--db", db, "--limit-tz", "Europe/Paris")
	resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, auth...)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after the restart: %d %s, want 429 (the $7 spent today stays spent)\nlogs:\n%s", resp.StatusCode, b, g.logs.String())
	}
	if !strings.Contains(string(b), `limit \"team-daily\" for \"team-a\": budget exhausted`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 body %s, Retry-After %q", b, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(g.logs.String(), "limit counters rebuilt from the request log") {
		t.Errorf("no rebuild line in the logs:\n%s", g.logs.String())
	}
}

// TestReloadAddedBudgetCountsEarlierSpend: a daily budget a reload adds
// counts what was spent earlier that day, as it would after a restart.
func TestReloadAddedBudgetCountsEarlierSpend(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "main.star")
	src := budgetPolicy(t, "%s")
	if err := os.WriteFile(policy, []byte(strings.Replace(src, "%s", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{}, "--policy", policy)
	chat := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
	auth := []string{"Authorization", "Bearer sk-team-a"}
	if resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, auth...); resp.StatusCode != 200 {
		t.Fatalf("before the budget: %d %s", resp.StatusCode, b)
	}
	// The row must be in the log before the reload reads it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logRows(t, g), "gpt-x") {
		if time.Now().After(deadline) {
			t.Fatal("the request was not logged within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	withLimit := strings.Replace(src, "%s", budgetLimit, 1)
	if err := os.WriteFile(policy, []byte(withLimit), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, auth...)
		if resp.StatusCode == http.StatusTooManyRequests {
			if !strings.Contains(string(b), "team-daily") {
				t.Errorf("429 does not name the limit: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the budget added by the reload still lets requests through: %d %s\nlogs:\n%s", resp.StatusCode, b, g.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(g.logs.String(), "counters of the limits the reload added rebuilt") {
		t.Errorf("no rebuild line after the reload:\n%s", g.logs.String())
	}
}

// logRows lists the gateway's logged requests (the admin API, from
// loopback).
func logRows(t *testing.T, g *gatewayProc) string {
	t.Helper()
	resp, err := http.Get(g.url + "/api/requests?limit=50")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
