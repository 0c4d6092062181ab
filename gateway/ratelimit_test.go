package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
)

const demoLimitPolicy = `
d = provider("d", kind = "demo")
%s
def route(req, ctx):
    return [d]
`

// TestLimitEveryDoor: a spent limit refuses every generating door with
// 429 in the caller's shape, Retry-After and a message naming the limit,
// before any upstream; counting tokens is not limited.
func TestLimitEveryDoor(t *testing.T) {
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		path, body, shape, typ string
	}{
		{"/v1/chat/completions", chat, "openai", "rate_limit_error"},
		{"/v1/responses", `{"model":"m","input":"hi"}`, "openai", "rate_limit_error"},
		{"/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "anthropic", "rate_limit_error"},
		{"/v1beta/models/m:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "gemini", "RESOURCE_EXHAUSTED"},
		{"/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "gemini", "RESOURCE_EXHAUSTED"},
		{"/v1/models/m:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "gemini", "RESOURCE_EXHAUSTED"},
		{"/v1/models/m:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "gemini", "RESOURCE_EXHAUSTED"},
		{"/v1/embeddings", `{"model":"m","input":"hi"}`, "openai", "rate_limit_error"},
	} {
		t.Run(strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
			h := newHarness(t, fmt.Sprintf(demoLimitPolicy, `limit("one-a-minute", rpm = 1)`))
			if resp, b := h.post(tc.path, tc.body); resp.StatusCode != http.StatusOK {
				t.Fatalf("first request: %d %s", resp.StatusCode, b)
			}
			resp, b := h.post(tc.path, tc.body)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("second request: %d %s, want 429", resp.StatusCode, b)
			}
			shape, typ, msg := errorShape(t, b)
			if shape != tc.shape || typ != tc.typ || !strings.Contains(msg, `limit "one-a-minute": requests per minute exhausted`) {
				t.Errorf("429 body %s: shape %s type %s message %q", b, shape, typ, msg)
			}
			if tc.shape == "openai" && !strings.Contains(string(b), `"code":"rate_limit_exceeded"`) {
				t.Errorf("OpenAI 429 without code rate_limit_exceeded: %s", b)
			}
			if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("Retry-After = %q", ra)
			}
			if resp.Header.Get("X-LLMGW-Provider") != "" || resp.Header.Get("X-LLMGW-Attempts") != "0" {
				t.Errorf("a limited request reached an upstream: provider %q, attempts %q", resp.Header.Get("X-LLMGW-Provider"), resp.Header.Get("X-LLMGW-Attempts"))
			}
			rec := h.rec.last(t)
			if rec.Status != 429 || rec.ErrorClass != "limited" || rec.Limit != "one-a-minute" || len(rec.Attempts) != 0 {
				t.Errorf("logged row: status %d class %q limit %q attempts %d", rec.Status, rec.ErrorClass, rec.Limit, len(rec.Attempts))
			}
		})
	}
	// Counting tokens spends nothing: not limited, and not counted.
	h := newHarness(t, fmt.Sprintf(demoLimitPolicy, `limit("one-a-minute", rpm = 1)`))
	for i := range 3 {
		if resp, b := h.post("/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("count_tokens %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if resp, b := h.post("/v1/chat/completions", chat); resp.StatusCode != http.StatusOK {
		t.Fatalf("chat after count_tokens: %d %s", resp.StatusCode, b)
	}
	if resp, _ := h.do(http.MethodGet, "/v1/models", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models with the limit spent: %d", resp.StatusCode)
	}
}

// TestLimitExactUnderConcurrency: 20 parallel requests against rpm = 10
// let exactly 10 through.
func TestLimitExactUnderConcurrency(t *testing.T) {
	h := newHarness(t, fmt.Sprintf(demoLimitPolicy, `limit("ten", rpm = 10)`), metricsOn)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || limited.Load() != 10 {
		t.Errorf("%d served, %d limited; want exactly 10 and 10", ok.Load(), limited.Load())
	}
	metric := scrape(t, h)
	// One limit, one shared counter, none evicted.
	for _, want := range []string{`llmgw_limit_refusals_total{limit="ten",shadow="false"} 10`, `llmgw_limit_use_ratio{limit="ten"} 1`,
		"llmgw_limit_counters 1\n", "llmgw_limit_counters_evicted_total 0\n"} {
		if !strings.Contains(metric, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metric, "llmgw_limit"))
		}
	}
}

// TestLimitSlidingWindowAcrossMinute: a burst at the end of a minute and
// one at the start of the next are one window.
func TestLimitSlidingWindowAcrossMinute(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 10, 0, 59, 500e6, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	h := newHarness(t, fmt.Sprintf(demoLimitPolicy, `limit("ten", rpm = 10)`), func(c *Config) { c.Now = clock })
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for i := range 10 {
		if resp, b := h.post("/v1/chat/completions", chat); resp.StatusCode != 200 {
			t.Fatalf("request %d at :59.5: %d %s", i, resp.StatusCode, b)
		}
	}
	set(time.Date(2026, 5, 1, 10, 1, 0, 200e6, time.UTC))
	resp, _ := h.post("/v1/chat/completions", chat)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("at 10:01:00.2, a new calendar minute: %d, want 429 (the window holds the burst)", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "59" {
		t.Errorf("Retry-After = %q, want 59 (the burst leaves at 10:01:59)", ra)
	}
	set(time.Date(2026, 5, 1, 10, 1, 59, 0, time.UTC))
	if resp, b := h.post("/v1/chat/completions", chat); resp.StatusCode != 200 {
		t.Fatalf("at 10:01:59: %d %s, want 200", resp.StatusCode, b)
	}
}

// TestLimitShadow: a shadow limit never refuses; the row records the
// would-refuse and the metric counts it with shadow="true".
func TestLimitShadow(t *testing.T) {
	h := newHarness(t, fmt.Sprintf(demoLimitPolicy, `limit("trial", rpm = 1, shadow = True)`), metricsOn)
	for i := range 3 {
		if resp, b := h.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	var would []string
	for _, r := range h.rec.all() {
		would = append(would, strings.Join(r.WouldRefuse, ","))
	}
	if got := strings.Join(would, "|"); got != "|trial|trial" {
		t.Errorf("rows' would_refuse = %q, want |trial|trial", got)
	}
	metric := scrape(t, h)
	if !strings.Contains(metric, `llmgw_limit_refusals_total{limit="trial",shadow="true"} 2`) {
		t.Errorf("/metrics lacks the shadow refusals:\n%s", grepLines(metric, "llmgw_limit"))
	}
	// The shadow counter holds what it let through: one request.
	if !strings.Contains(metric, `llmgw_limit_use_ratio{limit="trial"} 1`) {
		t.Errorf("/metrics lacks the limit's use:\n%s", grepLines(metric, "llmgw_limit"))
	}
}

func metricsOn(c *Config) { c.Metrics = metrics.New() }

func scrape(t *testing.T, h *harness) string {
	t.Helper()
	resp, b := h.do(http.MethodGet, "/metrics", "")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// slowUpstream is an OpenAI upstream that holds each answer until
// release is closed (or the test ends) and reports usage.
func slowUpstream(t *testing.T, release <-chan struct{}, started chan<- struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if started != nil {
			started <- struct{}{}
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Second):
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLimitWait: over a concurrency limit with wait, a request queues
// until the one in flight ends; past the wait it gets 429.
func TestLimitWait(t *testing.T) {
	for _, tc := range []struct {
		wait     string
		releaseA time.Duration // after B is sent
		want     int
	}{
		{"5", 100 * time.Millisecond, http.StatusOK},
		{"0.2", 2 * time.Second, http.StatusTooManyRequests},
	} {
		release := make(chan struct{})
		started := make(chan struct{}, 2)
		up := slowUpstream(t, release, started)
		h := newHarness(t, providerDecl("a", "openai", up.URL, "")+
			"limit(\"one-at-a-time\", concurrency = 1, wait = "+tc.wait+")\ndef route(req, ctx):\n    return [a]\n")
		chat := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
		aDone := make(chan int, 1)
		go func() {
			resp, _ := h.post("/v1/chat/completions", chat)
			aDone <- resp.StatusCode
		}()
		<-started // A is in flight
		go func() { time.Sleep(tc.releaseA); close(release) }()
		t0 := time.Now()
		resp, b := h.post("/v1/chat/completions", chat)
		took := time.Since(t0)
		if resp.StatusCode != tc.want {
			t.Errorf("wait %s: B got %d %s, want %d", tc.wait, resp.StatusCode, b, tc.want)
		}
		if tc.want == http.StatusTooManyRequests && (took < 150*time.Millisecond || took > 1500*time.Millisecond) {
			t.Errorf("wait %s: refused after %v, want about 0.2 s", tc.wait, took)
		}
		if a := <-aDone; a != 200 {
			t.Errorf("A: %d", a)
		}
	}
}

// TestLimitWaitCancelled: a queued request whose client goes away stops
// waiting and is logged as cancelled, not limited.
func TestLimitWaitCancelled(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 2)
	up := slowUpstream(t, release, started)
	h := newHarness(t, providerDecl("a", "openai", up.URL, "")+
		"limit(\"one-at-a-time\", concurrency = 1, wait = 30)\ndef route(req, ctx):\n    return [a]\n")
	chat := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(chat))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(chat))
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("B got an answer while A holds the only slot")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var cancelled bool
		for _, r := range h.rec.all() {
			cancelled = cancelled || r.ErrorClass == "client_cancelled"
		}
		if cancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled wait was not logged within 5 s (%v since the cancel)", time.Since(t0))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pricedUpstream is an OpenAI upstream whose every answer uses 3 input
// and 4 output tokens, streamed or not.
func pricedUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","content":"one "},"finish_reason":null}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"content":"two"},"finish_reason":"stop"}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
			} {
				_, _ = io.WriteString(w, "data: "+ev+"\n\n")
			}
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// budgetPolicy prices gpt-x at one dollar a token: each answer of
// pricedUpstream costs $7, past the $5 daily budget of each key.
func budgetPolicy(url string) string {
	return providerDecl("a", "openai", url, "") + `
key("team-a", "sk-team-a")
key("team-b", "sk-team-b")
price("gpt-x", input = 1000000, output = 1000000)
limit("team-budget", usd = 5, per = "day", each = "key")
limit("team-tpm", tpm = 5, each = "key")
def route(req, ctx):
    return [a]
`
}

// TestLimitStreamCrossingFinishes: a stream that crosses the budget and
// the tpm mid-way is served whole and counts; the next request of the
// same key is refused, another key's is not.
func TestLimitStreamCrossingFinishes(t *testing.T) {
	up := pricedUpstream(t)
	h := newHarness(t, budgetPolicy(up.URL))
	resp, b := h.post("/v1/chat/completions", `{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-team-a")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "two") || !strings.Contains(string(b), "[DONE]") {
		t.Fatalf("the stream that crosses the budget: %d %s, want it whole", resp.StatusCode, b)
	}
	if rec := h.rec.last(t); rec.CostMicros == nil || *rec.CostMicros != 7_000_000 {
		t.Fatalf("the stream's cost: %v, want $7", rec.CostMicros)
	}
	resp, b = h.post("/v1/chat/completions", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-team-a")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("team-a after the crossing: %d %s, want 429", resp.StatusCode, b)
	}
	if _, _, msg := errorShape(t, b); !strings.Contains(msg, `limit "team-budget" for "team-a": budget exhausted`) {
		t.Errorf("message %q does not name the budget", msg)
	}
	if resp, b := h.post("/v1/chat/completions", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-team-b"); resp.StatusCode != 200 {
		t.Errorf("team-b: %d %s, want 200 (a counter per key)", resp.StatusCode, b)
	}
}

// TestLimitRestartKeepsSpentBudget: a daily budget spent before a restart
// stays spent after it: the new process rebuilds its counters from the
// request log and refuses the next request with 429.
func TestLimitRestartKeepsSpentBudget(t *testing.T) {
	up := pricedUpstream(t)
	dbPath := filepath.Join(t.TempDir(), "log.db")
	chat := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
	serve := func(mem *limits.Memory) (*harness, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		db, err := requestlog.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		wr := requestlog.NewWriter(db, requestlog.WriterConfig{})
		done := make(chan error, 1)
		go func() { done <- wr.Run(ctx) }()
		h := newHarness(t, budgetPolicy(up.URL), func(c *Config) { c.Log, c.LogDB, c.Limits = wr, db, mem })
		n, err := RebuildLimits(ctx, db, h.eng.Policy(), mem, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rebuilt from %d rows", n)
		return h, func() {
			if err := wr.Flush(ctx); err != nil {
				t.Error(err)
			}
			cancel()
			<-done
			db.Close()
		}
	}
	h, stop := serve(limits.NewMemory(time.UTC))
	if resp, b := h.post("/v1/chat/completions", chat, "Authorization", "Bearer sk-team-a"); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, b)
	}
	if resp, _ := h.post("/v1/chat/completions", chat, "Authorization", "Bearer sk-team-a"); resp.StatusCode != 429 {
		t.Fatalf("second request before the restart: %d, want 429", resp.StatusCode)
	}
	stop()

	h, stop = serve(limits.NewMemory(time.UTC)) // a new process: empty counters, then the log
	defer stop()
	resp, b := h.post("/v1/chat/completions", chat, "Authorization", "Bearer sk-team-a")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after the restart: %d %s, want 429 (the budget stays spent)", resp.StatusCode, b)
	}
	if _, _, msg := errorShape(t, b); !strings.Contains(msg, "team-budget") {
		t.Errorf("message %q does not name the budget", msg)
	}
	if resp, b := h.post("/v1/chat/completions", chat, "Authorization", "Bearer sk-team-b"); resp.StatusCode != 200 {
		t.Errorf("team-b after the restart: %d %s, want 200", resp.StatusCode, b)
	}
}

// TestLimitUsageRoutes: ctx.usage sends a team past half its budget to
// another provider.
func TestLimitUsageRoutes(t *testing.T) {
	mem := limits.NewMemory(time.UTC)
	h := newHarness(t, `
key("team-a", "sk-team-a")
key("team-b", "sk-team-b")
main = provider("main", kind = "demo")
cheap = provider("cheap", kind = "demo")
limit("team-budget", usd = 10, per = "month", each = "key")
def route(req, ctx):
    if ctx.usage("team-budget").share > 0.5:
        return cheap
    return main
`, func(c *Config) { c.Limits = mem })
	mem.Add(time.Now(), []limits.Charge{{Limit: "team-budget", Each: "team-a", Bounds: limits.Bounds{USDMicros: 10_000_000, Per: limits.PerMonth}}}, 0, 6_000_000)
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for key, want := range map[string]string{"sk-team-a": "cheap", "sk-team-b": "main"} {
		resp, b := h.post("/v1/chat/completions", chat, "Authorization", "Bearer "+key)
		if resp.StatusCode != 200 || resp.Header.Get("X-LLMGW-Provider") != want {
			t.Errorf("%s: %d via %q %s, want %s", key, resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), b, want)
		}
	}
}

// TestLimitNoneDeclaredAllocatesNothing: with no limit declared, the
// limits' part of a request costs no allocation.
func TestLimitNoneDeclaredAllocatesNothing(t *testing.T) {
	h := newHarness(t, fmt.Sprintf(demoLimitPolicy, ""))
	x := &exchange{s: h.gw}
	x.pol, x.feat = h.eng.Policy(), &engine.Request{Model: "m", Key: "k", User: "u", Session: "s"}
	ctx := context.Background()
	n := testing.AllocsPerRun(100, func() {
		env := x.s.env(x.pol)
		x.usageEnv(ctx, &env)
		if err := x.admitLimits(ctx); err != nil {
			t.Fatal(err)
		}
		x.settleLimits(0)
	})
	// env() itself builds two closures; the limits add none.
	base := testing.AllocsPerRun(100, func() { _ = x.s.env(x.pol) })
	if n != base {
		t.Errorf("%v allocations with no limit declared, want %v (env's own)", n, base)
	}
}

// BenchmarkPassThroughChatLimited is BenchmarkPassThroughChat with four
// limits on every request (one per key and one per user among 10,000, one
// shared with every bound, one shadow), so that the two compare the cost
// limits add to a request.
func BenchmarkPassThroughChatLimited(b *testing.B) {
	up := providertest.New(b, providertest.FixtureReply(b, "openai_cassette_chat-tools.response.200.json"))
	dir := b.TempDir()
	src := providerDecl("p", "openai", up.URL, "") + `
limit("per-key", rpm = 1000000000, tpm = 1000000000000, each = "key")
limit("per-user", rpm = 1000000000, each = "user")
limit("all", rpm = 1000000000, tpm = 1000000000000, usd = 1000000, per = "day", concurrency = 100000)
limit("trial", rpm = 1000000000, shadow = True)
def route(req, ctx):
    return [p]
`
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	mem := limits.NewMemory(time.UTC)
	for i := range 10_000 {
		mem.Add(time.Now(), []limits.Charge{{Limit: "per-user", Each: fmt.Sprint("user-", i), Bounds: limits.Bounds{RPM: 1e9}}}, 0, 0)
	}
	gw := New(Config{Policies: eng, Log: &memRecorder{}, Limits: mem})
	body := `{"model":"gpt-4o","user":"user-42","messages":[{"role":"user","content":"Hello, how are you?"}]}`
	benchRequests(b, gw, "/v1/chat/completions", body, "Content-Type", "application/json")
}

// TestRebuildLimitsFromLog: the counters rebuilt from the log hold the
// day's spend of each key, the last minute's requests, nothing of the
// requests refused before admission, and, for a shadow limit, only what
// it let through.
func TestRebuildLimitsFromLog(t *testing.T) {
	ctx := context.Background()
	db, err := requestlog.Open(ctx, filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wr := requestlog.NewWriter(db, requestlog.WriterConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- wr.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	h := newHarness(t, `
key("team-a", "sk-a")
key("team-b", "sk-b")
d = provider("d", kind = "demo")
limit("daily", usd = 100, per = "day", each = "key")
limit("rpm", rpm = 1000)
limit("trial", rpm = 1, shadow = True)
def route(req, ctx):
    return [d]
`)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	feat := func(key string) []byte { return []byte(`{"model":"m","key":"` + key + `","complete":true}`) }
	c := func(n int64) *int64 { return &n }
	for _, r := range []*requestlog.Record{
		{Time: now.Add(-13 * time.Hour), Features: feat("team-a"), Status: 200, CostMicros: c(9_000_000)}, // yesterday
		{Time: now.Add(-2 * time.Hour), Features: feat("team-a"), Status: 200, CostMicros: c(2_000_000)},
		{Time: now.Add(-30 * time.Second), Features: feat("team-a"), Status: 200, CostMicros: c(1_000_000)},
		{Time: now.Add(-20 * time.Second), Features: feat("team-b"), Status: 200, CostMicros: c(500_000), WouldRefuse: []string{"trial"}},
		{Time: now.Add(-10 * time.Second), Features: feat("team-a"), Status: 429, ErrorClass: "limited", Limit: "daily"},
	} {
		wr.Record(r)
	}
	if err := wr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mem := limits.NewMemory(time.UTC)
	if n, err := RebuildLimits(ctx, db, h.eng.Policy(), mem, now, nil); err != nil || n != 3 {
		t.Fatalf("RebuildLimits = %d, %v; want 3 rows (today's admitted ones)", n, err)
	}
	// A reload that adds a limit refills that one only, from the rows
	// logged before the reload.
	added := limits.NewMemory(time.UTC)
	if n, err := RebuildLimits(ctx, db, h.eng.Policy(), added, now.Add(-25*time.Second), map[string]bool{"rpm": true}); err != nil || n != 1 {
		t.Fatalf("RebuildLimits(only rpm, before -25s) = %d, %v; want 1 row (the minute before it)", n, err)
	}
	if u, _ := added.Usage(ctx, now, limits.Charge{Limit: "rpm", Bounds: limits.Bounds{RPM: 1000}}); u.Requests != 1 {
		t.Errorf("rpm refilled with %d requests of the last minute, want 1 (the one before the reload)", u.Requests)
	}
	if u, _ := added.Usage(ctx, now, limits.Charge{Limit: "daily", Each: "team-a", Bounds: limits.Bounds{USDMicros: 1e8, Per: limits.PerDay}}); u != (limits.Usage{}) {
		t.Errorf("daily refilled too: %+v", u)
	}
	for _, tc := range []struct {
		c    limits.Charge
		want limits.Usage
	}{
		{limits.Charge{Limit: "daily", Each: "team-a", Bounds: limits.Bounds{USDMicros: 1e8, Per: limits.PerDay}}, limits.Usage{Requests: 1, USDMicros: 3_000_000}},
		{limits.Charge{Limit: "daily", Each: "team-b", Bounds: limits.Bounds{USDMicros: 1e8, Per: limits.PerDay}}, limits.Usage{Requests: 1, USDMicros: 500_000}},
		{limits.Charge{Limit: "rpm", Bounds: limits.Bounds{RPM: 1000}}, limits.Usage{Requests: 2}},
		{limits.Charge{Limit: "trial", Bounds: limits.Bounds{RPM: 1}, Shadow: true}, limits.Usage{Requests: 1}},
	} {
		u, _ := mem.Usage(ctx, now, tc.c)
		if u != tc.want {
			t.Errorf("%s/%s rebuilt = %+v, want %+v", tc.c.Limit, tc.c.Each, u, tc.want)
		}
	}
}

// TestLimitNotCountedWhenRoutedNowhere: a request the policy routes
// nowhere (503) or refuses is not counted by the limits.
func TestLimitNotCountedWhenRoutedNowhere(t *testing.T) {
	h := newHarness(t, `
d = provider("d", kind = "demo")
limit("one", rpm = 1)
def route(req, ctx):
    if req.model == "none":
        return []
    if req.model == "refused":
        return refuse(403, "not this one")
    return d
`)
	for _, m := range []string{"none", "refused", "none"} {
		if resp, b := h.post("/v1/chat/completions", `{"model":"`+m+`","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode == 200 || resp.StatusCode == 429 {
			t.Fatalf("model %s: %d %s", m, resp.StatusCode, b)
		}
	}
	if resp, b := h.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("the first request that routes: %d %s, want 200 (nothing counted before it)", resp.StatusCode, b)
	}
}
