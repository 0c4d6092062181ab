package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/llm"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d, want 200", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestExposition(t *testing.T) {
	m := New()
	u := llm.Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 300, ReasoningTokens: 5}
	m.Request("anthropic", "anthropic-main", "claude-sonnet-4-5", 200, 1500*time.Millisecond, 200*time.Millisecond, u, 2_500_000, true)
	m.Request("openai", "openai-main", "mystery", 502, time.Second, 0, llm.Usage{}, 0, false)
	m.Attempt("openai-main", "failover")
	m.Failover("openai-main", "openai-backup")
	m.PolicyReload("ok")
	m.HookError("route")
	m.HookLatency("route", 30*time.Microsecond)
	m.RegisterLogQueue(func() (int64, int64, int64) { return 3, 1000, 2 })

	body := scrape(t, m)
	for _, want := range []string{
		`llmgw_requests_total{model="claude-sonnet-4-5",protocol="anthropic",provider="anthropic-main",status="200"} 1`,
		`llmgw_requests_total{model="mystery",protocol="openai",provider="openai-main",status="502"} 1`,
		`llmgw_tokens_total{model="claude-sonnet-4-5",provider="anthropic-main",type="cache_read"} 300`,
		`llmgw_tokens_total{model="claude-sonnet-4-5",provider="anthropic-main",type="reasoning"} 5`,
		`llmgw_cost_usd_total{model="claude-sonnet-4-5",provider="anthropic-main"} 2.5`,
		`llmgw_unpriced_requests_total{model="mystery",provider="openai-main"} 1`,
		`llmgw_request_duration_seconds_count{protocol="anthropic",provider="anthropic-main"} 1`,
		`llmgw_time_to_first_byte_seconds_sum{protocol="anthropic",provider="anthropic-main"} 0.2`,
		`llmgw_upstream_attempts_total{outcome="failover",provider="openai-main"} 1`,
		`llmgw_failovers_total{from="openai-main",to="openai-backup"} 1`,
		`llmgw_policy_reloads_total{result="ok"} 1`,
		`llmgw_policy_hook_errors_total{hook="route"} 1`,
		`llmgw_policy_hook_duration_seconds_count{hook="route"} 1`,
		`llmgw_log_queue_depth 3`,
		`llmgw_log_rows_written_total 1000`,
		`llmgw_log_rows_shed_total 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	// No TTFT observation when no byte was sent.
	if strings.Contains(body, `llmgw_time_to_first_byte_seconds_count{protocol="openai"`) {
		t.Errorf("GET /metrics has a TTFT observation for a request without a first byte")
	}
}

func TestModelLabelIsCapped(t *testing.T) {
	m := New()
	for i := 0; i < MaxModels+50; i++ {
		m.Request("openai", "p", fmt.Sprint("model-", i), 200, time.Millisecond, 0, llm.Usage{}, 0, false)
	}
	body := scrape(t, m)
	if got := strings.Count(body, "llmgw_requests_total{"); got != MaxModels+1 {
		t.Errorf("llmgw_requests_total series = %d, want %d (capped plus other)", got, MaxModels+1)
	}
	if !strings.Contains(body, `llmgw_requests_total{model="other",protocol="openai",provider="p",status="200"} 50`) {
		t.Errorf("GET /metrics lacks 50 requests under model=\"other\"")
	}
}

func TestNilMetricsIgnoresCalls(t *testing.T) {
	var m *Metrics
	m.Request("openai", "p", "m", 200, 0, 0, llm.Usage{}, 0, true)
	m.Attempt("p", "ok")
	m.Failover("a", "b")
	m.PolicyReload("ok")
	m.HookError("route")
	m.HookLatency("route", 0)
	m.RegisterLogQueue(nil)
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(), New() // would panic on a shared registry
	a.PolicyReload("ok")
	if strings.Contains(scrape(t, b), "llmgw_policy_reloads_total{") {
		t.Errorf("a reload on one Metrics shows on another")
	}
}

func BenchmarkRequest(b *testing.B) {
	m := New()
	u := llm.Usage{InputTokens: 100, OutputTokens: 20}
	for b.Loop() {
		m.Request("openai", "openai-main", "gpt-4o", 200, time.Second, time.Millisecond, u, 1000, true)
	}
}
