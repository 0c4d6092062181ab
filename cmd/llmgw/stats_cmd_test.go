package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
)

// seedStatsDB writes a known set of requests, an hour old, and one from
// ten days ago.
func seedStatsDB(t *testing.T) string {
	t.Helper()
	cost := func(n int64) *int64 { return &n }
	hourAgo := time.Now().Add(-time.Hour)
	return writeLogFile(t, []*requestlog.Record{
		// Failed over twice (529s from openai-eu, which served nothing).
		{Time: hourAgo, RequestID: "1", Key: "team-a", Model: "gpt-4o", UpstreamModel: "gpt-4o-2024-08-06", Provider: "openai-main", Status: 200,
			Latency: 120 * time.Millisecond, Usage: llm.Usage{InputTokens: 1000, OutputTokens: 200}, CostMicros: cost(4500),
			Attempts: []requestlog.Attempt{
				{N: 1, Provider: "openai-eu", Model: "gpt-4o", Status: 529, Class: "failover", Error: "overloaded"},
				{N: 2, Provider: "openai-eu", Model: "gpt-4o", Status: 529, Class: "failover", Error: "overloaded"},
				{N: 3, Provider: "openai-main", Model: "gpt-4o-2024-08-06", Status: 200},
			}},
		{Time: hourAgo, RequestID: "2", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 500,
			Latency: 80 * time.Millisecond, CostMicros: cost(0)},
		{Time: hourAgo, RequestID: "3", Key: "team-b", Model: "claude-sonnet-4-5", Provider: "anthropic-main", Status: 200,
			Latency: 400 * time.Millisecond, Usage: llm.Usage{InputTokens: 50, OutputTokens: 25_000, CacheReadTokens: 12_345, ReasoningTokens: 100},
			CostMicros: cost(1_250_000)},
		{Time: hourAgo, RequestID: "4", Key: "team-b", Model: "house-model", Provider: "local", Status: 200,
			Usage: llm.Usage{InputTokens: 10}},
		{Time: time.Now().Add(-10 * 24 * time.Hour), RequestID: "old", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 200},
	})
}

func runStatsCmd(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestStatsJSON(t *testing.T) {
	path := seedStatsDB(t)
	tests := []struct {
		since         string
		requests      int64
		errors        int64
		costMicros    int64
		unpriced      int64
		firstProvider string
	}{
		{"24h", 4, 1, 1_254_500, 1, "openai-main"},
		{"7d", 4, 1, 1_254_500, 1, "openai-main"},
		// The old request used no tokens: no cost, and not unpriced (nor
		// is the 500 without usage).
		{"30d", 5, 1, 1_254_500, 1, "openai-main"},
		{"0", 5, 1, 1_254_500, 1, "openai-main"},
		{"1m", 0, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		out, _, err := runStatsCmd(t, nil, "stats", "--db", path, "--since", tt.since, "--json")
		if err != nil {
			t.Fatalf("stats --since %s --json: %v", tt.since, err)
		}
		var got struct {
			Requests, Errors, CostMicros, Unpriced, InputTokens int64
			CostUSD                                             float64 `json:"cost_usd"`
			ByProvider                                          []struct {
				Provider      string
				Requests      int64
				Attempts      int64
				AttemptErrors int64 `json:"attempt_errors"`
				Failovers     int64
				CacheShare    float64 `json:"cache_read_share"`
			} `json:"by_provider"`
			ByServedModel []struct {
				Model       string
				ServedModel string `json:"served_model"`
				Requests    int64
			} `json:"by_served_model"`
			ByModel []map[string]any `json:"by_model"`
			ByKey   []map[string]any `json:"by_key"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stats --json output is not JSON: %v\n%s", err, out)
		}
		// encoding/json matches cost_micros to CostMicros case-insensitively
		// only without the underscore, so read it explicitly.
		var raw map[string]any
		json.Unmarshal([]byte(out), &raw)
		gotCost := int64(raw["cost_micros"].(float64))
		if got.Requests != tt.requests || got.Errors != tt.errors || gotCost != tt.costMicros || got.Unpriced != tt.unpriced {
			t.Errorf("stats --since %s: requests, errors, cost_micros, unpriced = %d, %d, %d, %d, want %d, %d, %d, %d",
				tt.since, got.Requests, got.Errors, gotCost, got.Unpriced, tt.requests, tt.errors, tt.costMicros, tt.unpriced)
		}
		first := ""
		if len(got.ByProvider) > 0 {
			first = got.ByProvider[0].Provider
		}
		if first != tt.firstProvider {
			t.Errorf("stats --since %s: first provider = %q, want %q", tt.since, first, tt.firstProvider)
		}
		if tt.requests > 0 {
			// openai-eu served nothing, yet its two failed-over 529s show.
			var eu, main string
			for _, p := range got.ByProvider {
				switch p.Provider {
				case "openai-eu":
					eu = fmt.Sprintf("%d requests, %d attempts, %d errors, %d failovers", p.Requests, p.Attempts, p.AttemptErrors, p.Failovers)
				case "openai-main":
					main = fmt.Sprintf("%d attempts, %d errors", p.Attempts, p.AttemptErrors)
				case "anthropic-main":
					// 12,345 cache reads of 12,395 input tokens.
					if p.CacheShare != 0.996 {
						t.Errorf("stats --since %s: anthropic-main cache_read_share = %v, want 0.996", tt.since, p.CacheShare)
					}
				}
			}
			if want := "0 requests, 2 attempts, 2 errors, 2 failovers"; eu != want {
				t.Errorf("stats --since %s: openai-eu = %q, want %q", tt.since, eu, want)
			}
			if want := "1 attempts, 0 errors"; main != want {
				t.Errorf("stats --since %s: openai-main = %q, want %q", tt.since, main, want)
			}
			found := false
			for _, m := range got.ByServedModel {
				found = found || m.Model == "gpt-4o" && m.ServedModel == "gpt-4o-2024-08-06" && m.Requests == 1
			}
			if !found {
				t.Errorf("stats --since %s: by_served_model = %+v, want gpt-4o served as gpt-4o-2024-08-06 once", tt.since, got.ByServedModel)
			}
		}
		for _, k := range []string{"since", "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens",
			"cache_write_tokens", "cache_read_share", "reasoning_tokens", "cost_usd", "by_model", "by_served_model", "by_provider", "by_key"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("stats --json lacks %q", k)
			}
		}
	}
}

func TestStatsTables(t *testing.T) {
	path := seedStatsDB(t)
	out, _, err := runStatsCmd(t, func(k string) string {
		if k == "LLMGW_DB" {
			return path
		}
		return ""
	}, "stats", "--since", "7d")
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	for _, want := range []string{
		"last 7d",
		"TOTAL", "PROVIDER", "MODEL", "KEY", "REQUESTS", "COST",
		"openai-main", "anthropic-main", "claude-sonnet-4-5", "team-b",
		"$1.2545", // total cost
		"25.0k",   // output tokens of the claude request
		"12.3k",   // cache reads
		"50.0%",   // openai-main error rate
		"unpriced requests: 1",
		"ATTEMPTS", "ATTEMPT ERRORS", "FAILOVERS", "openai-eu",
		"MODEL → SERVED", "gpt-4o → gpt-4o-2024-08-06",
		"CACHED%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
	// Sections come in order: totals, provider, model, served model, key.
	if i, j, k := strings.Index(out, "PROVIDER"), strings.Index(out, "MODEL"), strings.Index(out, "KEY"); !(strings.Index(out, "TOTAL") < i && i < j && j < k) {
		t.Errorf("stats sections out of order:\n%s", out)
	}
	if j, k := strings.Index(out, "MODEL → SERVED"), strings.Index(out, "KEY"); !(strings.Index(out, "MODEL ") < j && j < k) {
		t.Errorf("stats: the served-model table is not between the model and key tables:\n%s", out)
	}
	// The cache-read share of input, per provider and per model: 12,345
	// cache reads of claude's 12,395 input tokens; none for gpt-4o.
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == "→" {
			f = f[2:] // a served-model row: the same columns after "model → served"
			f[0] = ""
		}
		if len(f) > 8 && (f[0] == "anthropic-main" || f[0] == "claude-sonnet-4-5") && f[8] != "99.6%" {
			t.Errorf("%s row = %q, want CACHED%% 99.6%%", f[0], line)
		}
		if len(f) > 8 && f[0] == "gpt-4o" && f[8] != "0.0%" {
			t.Errorf("gpt-4o row = %q, want CACHED%% 0.0%%", line)
		}
	}
	// openai-eu's row: no requests of its own, 2 attempts, both errors,
	// both failovers.
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "openai-eu" {
			if n := len(f); n < 4 || f[1] != "0" || f[n-3] != "2" || f[n-2] != "2" || f[n-1] != "2" {
				t.Errorf("openai-eu row = %q, want 0 requests and 2 attempts, 2 errors, 2 failovers", line)
			}
		}
	}
}

func TestStatsErrors(t *testing.T) {
	path := seedStatsDB(t)
	missing := filepath.Join(t.TempDir(), "none.db")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"stats", "--db", missing}, "no request log at " + missing},
		{[]string{"stats", "--db", path, "--since", "yesterday"}, `bad duration "yesterday"`},
		{[]string{"stats", "--db", path, "--since", "-5h"}, "bad duration"},
		{[]string{"stats", "--db", path, "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		_, _, err := runStatsCmd(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) error = %v, want containing %q", tt.args, err, tt.want)
		}
	}
	if _, _, err := runStatsCmd(t, nil, "stats", "--bogus"); fmt.Sprint(err) != fmt.Sprint(exitError{code: 2}) {
		t.Errorf("run(stats --bogus) = %v, want exit 2", err)
	}
}

func TestStatsEmptyWindow(t *testing.T) {
	path := seedStatsDB(t)
	out, _, err := runStatsCmd(t, nil, "stats", "--db", path, "--since", "1m")
	if err != nil || !strings.Contains(out, "no requests logged") {
		t.Errorf("stats --since 1m = %q, %v, want a no-requests line", out, err)
	}
}
