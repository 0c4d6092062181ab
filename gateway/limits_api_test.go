package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/requestlog"
)

const limitsAPIPolicy = `
d = provider("d", kind = "demo")
key("team-a", "sa")
key("team-b", "sb")
limit("per-key", rpm = 4, each = "key")
limit("all", rpm = 100)
limit("shadow-2", rpm = 2, each = "key", shadow = True)
limit("per-user", tpm = 1000000, each = "user")
def route(req, ctx):
    return [d]
`

// storeOnly hides every method of a Store but the interface's: a store
// shared by replicas, which cannot list its counters.
type storeOnly struct{ limits.Store }

func getLimits(t *testing.T, h *harness, query string) (int, limitsView) {
	t.Helper()
	resp, b := h.do(http.MethodGet, "/api/limits"+query, "")
	var v limitsView
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("/api/limits: %v: %s", err, b)
		}
	}
	return resp.StatusCode, v
}

// GET /api/limits lists every limit of the live policy with its bounds
// and its busiest counters now, whether the store can list its counters
// (in process) or only read the ones the policy names (shared).
func TestAPILimitsLiveUse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func() limits.Store
		users bool // counters per user are listed
	}{
		{"memory", func() limits.Store { return limits.NewMemory(nil) }, true},
		{"shared", func() limits.Store { return storeOnly{limits.NewMemory(nil)} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, limitsAPIPolicy, func(c *Config) { c.Limits = tc.store() })
			chat := `{"model":"m","user":"u1","messages":[{"role":"user","content":"hi"}]}`
			for i, key := range []string{"sa", "sa", "sa", "sb"} {
				if resp, b := h.post("/v1/chat/completions", chat, "Authorization", "Bearer "+key); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
				}
			}
			code, v := getLimits(t, h, "?since=1h")
			if code != http.StatusOK || len(v.Limits) != 4 || v.Until.Sub(v.Since).String() != "1h0m0s" {
				t.Fatalf("/api/limits = %d %+v", code, v)
			}
			byName := map[string]limitView{}
			for _, l := range v.Limits {
				byName[l.Name] = l
			}
			// The in-process table: per-key's two counters, all's one,
			// shadow-2's two and per-user's one.
			if tc.users {
				if v.Table == nil || *v.Table != (limitTableView{Counters: 6, Bound: limits.DefaultMaxCounters}) {
					t.Errorf("table = %+v, want 6 counters of %d, none evicted", v.Table, limits.DefaultMaxCounters)
				}
			} else if v.Table != nil {
				t.Errorf("a shared store's table = %+v, want none", v.Table)
			}
			counters := func(name string) string {
				var s string
				for _, c := range byName[name].Counters {
					s += fmt.Sprintf("%s:%d:%.2f ", c.Each, c.Requests, c.Share)
				}
				return s
			}
			if got, want := counters("per-key"), "team-a:3:0.75 team-b:1:0.25 "; got != want {
				t.Errorf("per-key counters %q, want %q", got, want)
			}
			if l := byName["per-key"]; l.Use != 0.75 || l.RPM != 4 || l.Each != "key" || l.Shadow {
				t.Errorf("per-key = %+v", l)
			}
			if got, want := counters("all"), ":4:0.04 "; got != want {
				t.Errorf("all counters %q, want %q", got, want)
			}
			// The shadow limit counts what it admits: team-a's third
			// request went over, and was not added.
			if got, want := counters("shadow-2"), "team-a:2:1.00 team-b:1:0.50 "; got != want || !byName["shadow-2"].Shadow {
				t.Errorf("shadow-2 counters %q, want %q", got, want)
			}
			if got := counters("per-user"); tc.users != (got != "") {
				t.Errorf("per-user counters %q (listed: %v)", got, tc.users)
			}
		})
	}
}

func TestAPILimitsEmptyAndBadInput(t *testing.T) {
	h := newHarness(t, `d = provider("d", kind = "demo")
def route(req, ctx):
    return [d]
`)
	resp, b := h.do(http.MethodGet, "/api/limits", "")
	if resp.StatusCode != http.StatusOK || string(b) == "" {
		t.Fatalf("/api/limits without limits: %d %s", resp.StatusCode, b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || string(raw["limits"]) != "[]" || string(raw["tz"]) != `"UTC"` {
		t.Errorf("/api/limits without limits = %s, want limits [] and tz UTC", b)
	}
	if resp, b := h.do(http.MethodGet, "/api/limits?since=yesterday", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad since: %d %s, want 400", resp.StatusCode, b)
	}
}

// The refusals and would-refusals of GET /api/limits come from the
// request log, in the period asked for.
func TestAPILimitsRefusalsFromTheLog(t *testing.T) {
	ctx := context.Background()
	db, err := requestlog.Open(ctx, filepath.Join(t.TempDir(), "llmgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := requestlog.NewWriter(db, requestlog.WriterConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(runCtx) }()
	now := time.Now()
	for i, r := range []*requestlog.Record{
		{Time: now.Add(-time.Minute), Key: "team-a", Status: 429, ErrorClass: "limited", Limit: "per-key"},
		{Time: now.Add(-2 * time.Minute), Key: "team-a", Status: 429, ErrorClass: "limited", Limit: "per-key"},
		{Time: now.Add(-3 * time.Minute), Key: "team-b", Status: 200, WouldRefuse: []string{"shadow-2"}},
		{Time: now.Add(-3 * time.Hour), Key: "team-b", Status: 429, ErrorClass: "limited", Limit: "per-key"},
	} {
		r.RequestID = fmt.Sprint("r", i)
		w.Record(r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, limitsAPIPolicy, func(c *Config) { c.LogDB = db })
	for _, tc := range []struct {
		since             string
		refused, wouldNot int64
	}{{"1h", 2, 1}, {"24h", 3, 1}} {
		code, v := getLimits(t, h, "?since="+tc.since)
		if code != http.StatusOK {
			t.Fatalf("since %s: %d", tc.since, code)
		}
		byName := map[string]limitView{}
		for _, l := range v.Limits {
			byName[l.Name] = l
		}
		if byName["per-key"].Refused != tc.refused || byName["shadow-2"].WouldRefuse != tc.wouldNot || byName["all"].Refused != 0 {
			t.Errorf("since %s: per-key refused %d, shadow-2 would refuse %d; want %d, %d",
				tc.since, byName["per-key"].Refused, byName["shadow-2"].WouldRefuse, tc.refused, tc.wouldNot)
		}
	}
}
