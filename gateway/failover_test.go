package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
)

const chatBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`

func okReply(t *testing.T) providertest.Reply {
	return providertest.FixtureReply(t, "openai_cassette_chat-tools.response.200.json")
}

// twoProviders serves a policy routing to a then b (b in a lower tier).
func twoProviders(t *testing.T, a, b *providertest.Server, extra string) *harness {
	return newHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n"+extra)
}

func TestDefaultClassification(t *testing.T) {
	tests := []struct {
		name      string
		first     providertest.Reply
		wantA     int    // requests a receives
		wantB     int    // requests b receives
		wantCode  int    // status the client sees
		wantState string // a's health state afterwards
	}{
		{"500 fails over and marks failed", providertest.Reply{Status: 500, Body: []byte(`{"error":{"message":"boom"}}`)}, 1, 1, 200, "cooldown"},
		{"502 fails over", providertest.Reply{Status: 502}, 1, 1, 200, "cooldown"},
		{"504 fails over", providertest.Reply{Status: 504}, 1, 1, 200, "cooldown"},
		{"401 fails over and marks failed", providertest.Reply{Status: 401, Body: []byte(`{"error":{"message":"bad key"}}`)}, 1, 1, 200, "cooldown"},
		{"403 fails over", providertest.Reply{Status: 403}, 1, 1, 200, "cooldown"},
		{"429 cools down and fails over", providertest.Reply{Status: 429, Header: http.Header{"Retry-After": {"30"}}}, 1, 1, 200, "cooldown"},
		{"503 retries once then succeeds", providertest.Reply{Status: 503}, 2, 0, 200, "healthy"},
		{"529 retries once then succeeds", providertest.Reply{Status: 529}, 2, 0, 200, "healthy"},
		{"400 is returned as is", providertest.Reply{Status: 400, Body: []byte(`{"error":{"message":"bad"}}`)}, 1, 0, 400, "healthy"},
		{"404 is returned as is", providertest.Reply{Status: 404, Body: []byte(`{"error":{"message":"no model"}}`)}, 1, 0, 404, "healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := providertest.New(t, okReply(t))
			a.Enqueue(tt.first)
			b := providertest.New(t, okReply(t))
			h := twoProviders(t, a, b, "")
			resp, body := h.post("/v1/chat/completions", chatBody)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantCode)
			}
			if a.Count() != tt.wantA || b.Count() != tt.wantB {
				t.Errorf("requests a=%d b=%d, want a=%d b=%d", a.Count(), b.Count(), tt.wantA, tt.wantB)
			}
			if got := string(h.gw.Health().Snapshot("a").State); got != tt.wantState && !(tt.wantState == "healthy" && got == "") {
				t.Errorf("a's state = %q, want %q", got, tt.wantState)
			}
			if got, want := resp.Header.Get("X-LLMGW-Attempts"), fmt.Sprint(tt.wantA+tt.wantB); got != want {
				t.Errorf("X-LLMGW-Attempts = %s, want %s", got, want)
			}
			rec := h.rec.last(t)
			if len(rec.Attempts) != tt.wantA+tt.wantB {
				t.Errorf("logged %d attempts, want %d", len(rec.Attempts), tt.wantA+tt.wantB)
			}
		})
	}
}

func TestCooldownHonoursRetryAfter(t *testing.T) {
	a := providertest.New(t, okReply(t))
	a.Enqueue(providertest.Reply{Status: 429, Header: http.Header{"Retry-After": {"120"}}})
	b := providertest.New(t, okReply(t))
	h := twoProviders(t, a, b, "")
	h.post("/v1/chat/completions", chatBody)
	st := h.gw.Health().Snapshot("a")
	if st.State != "cooldown" || st.CooldownLeft < 100*time.Second || st.CooldownLeft > 121*time.Second {
		t.Fatalf("a = %+v, want cooldown of about 120 s", st)
	}
	// While a cools down, requests go straight to b.
	h.post("/v1/chat/completions", chatBody)
	if a.Count() != 1 || b.Count() != 2 {
		t.Errorf("requests a=%d b=%d, want a=1 b=2", a.Count(), b.Count())
	}
}

func TestPolicyClassifyOverridesDefault(t *testing.T) {
	a := providertest.New(t, okReply(t))
	a.Enqueue(providertest.Reply{Status: 400, Body: []byte(`{"error":{"message":"context too long","type":"invalid_request_error"}}`)})
	b := providertest.New(t, okReply(t))
	h := twoProviders(t, a, b, "def classify(err, ctx):\n    if err.status == 400:\n        return \"failover\"\n    return default_class(err)\n")
	resp, body := h.post("/v1/chat/completions", chatBody)
	if resp.StatusCode != 200 || b.Count() != 1 {
		t.Fatalf("status %d (%s), b got %d; classify() said failover", resp.StatusCode, body, b.Count())
	}
}

func TestAllProvidersFailInCallerShape(t *testing.T) {
	a := providertest.New(t, providertest.Reply{Status: 500})
	b := providertest.New(t, providertest.Reply{Status: 502})
	tests := []struct{ path, body, shape string }{
		{"/v1/chat/completions", chatBody, "openai"},
	}
	for _, tt := range tests {
		h := twoProviders(t, a, b, "")
		resp, body := h.post(tt.path, tt.body)
		if resp.StatusCode != 502 {
			t.Fatalf("status = %d, want 502", resp.StatusCode)
		}
		if shape, _, msg := errorShape(t, body); shape != tt.shape || !strings.Contains(msg, "all providers failed") {
			t.Errorf("error = %s %q", shape, msg)
		}
		if rec := h.rec.last(t); rec.Status != 502 || rec.ErrorClass == "" {
			t.Errorf("record status %d class %q", rec.Status, rec.ErrorClass)
		}
	}
}

func TestConnectionErrorFailsOver(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	b := providertest.New(t, okReply(t))
	h := newHarness(t, fmt.Sprintf("a = provider(\"a\", kind = \"openai\", base_url = \"http://%s/v1\", api_key = \"x\")\n", dead)+
		providerDecl("b", "openai", b.URL, "priority = 2")+"def route(req, ctx):\n    return [a, b]\n")
	resp, body := h.post("/v1/chat/completions", chatBody)
	if resp.StatusCode != 200 || b.Count() != 1 {
		t.Fatalf("status %d %s, b=%d", resp.StatusCode, body, b.Count())
	}
	if rec := h.rec.last(t); len(rec.Attempts) != 2 || rec.Attempts[0].Class != "failover" {
		t.Errorf("attempts = %+v", rec.Attempts)
	}
}

func TestNoFailoverAfterFirstByte(t *testing.T) {
	a := providertest.New(t, providertest.Reply{Body: providertest.Fixture(t, "openai_chat_stream_text_with_usage.sse"), SSE: true, CutAfter: 3})
	b := providertest.New(t, okReply(t))
	h := twoProviders(t, a, b, "")
	resp, body := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if b.Count() != 0 {
		t.Error("failed over after bytes reached the client")
	}
	data := sseData(body)
	if len(data) == 0 || !strings.Contains(data[len(data)-1], `"error"`) {
		t.Errorf("stream cut mid-way should end with an error event, got %q", data)
	}
	if rec := h.rec.last(t); rec.ErrorClass != "stream" {
		t.Errorf("record error class = %q, want stream", rec.ErrorClass)
	}
}

func TestErrorInStreamBeforeFirstByteFailsOver(t *testing.T) {
	a := providertest.New(t, providertest.Reply{SSE: true, Body: []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")})
	b := providertest.New(t, providertest.FixtureReply(t, "anthropic_stream_text_end_turn.sse"))
	h := newHarness(t, providerDecl("a", "anthropic", a.URL, "")+providerDecl("b", "anthropic", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n")
	resp, body := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !bytes.Equal(body, providertest.Fixture(t, "anthropic_stream_text_end_turn.sse")) {
		t.Fatalf("status %d body %.200s", resp.StatusCode, body)
	}
	// overloaded is 529: retried once on a, then failed over to b.
	if a.Count() != 2 || b.Count() != 1 {
		t.Errorf("a=%d b=%d, want a=2 (one retry) b=1", a.Count(), b.Count())
	}
}

func TestPriorityOrderAndWeightedSpread(t *testing.T) {
	ups := make([]*providertest.Server, 3)
	for i := range ups {
		ups[i] = providertest.New(t, okReply(t))
	}
	h := newHarness(t, providerDecl("a", "openai", ups[0].URL, "priority = 1, weight = 300")+
		providerDecl("b", "openai", ups[1].URL, "priority = 1, weight = 100")+
		providerDecl("c", "openai", ups[2].URL, "priority = 2")+
		"def route(req, ctx):\n    return [c, b, a]\n")
	for range 400 {
		if resp, b := h.post("/v1/chat/completions", chatBody); resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, b)
		}
	}
	a, b, c := ups[0].Count(), ups[1].Count(), ups[2].Count()
	if c != 0 {
		t.Errorf("the priority-2 provider served %d requests while tier 1 was healthy", c)
	}
	// 3:1 weights over 400 requests: a ≈ 300. Bounds are ~8 sigma wide.
	if a < 230 || a > 370 || a+b != 400 {
		t.Errorf("spread a=%d b=%d, want about 300/100", a, b)
	}
}

func TestStickySessionAndMoveOnFailure(t *testing.T) {
	a := providertest.New(t, okReply(t))
	b := providertest.New(t, okReply(t))
	h := newHarness(t, providerDecl("a", "openai", a.URL, "weight = 100")+providerDecl("b", "openai", b.URL, "weight = 100")+
		"def route(req, ctx):\n    return [a, b]\n")
	body := `{"model":"gpt-4o","user":"alice","messages":[]}`
	h.post("/v1/chat/completions", body)
	first := h.rec.last(t).Provider
	for range 20 {
		h.post("/v1/chat/completions", body)
		if rec := h.rec.last(t); rec.Provider != first || rec.Sticky != "hit" {
			t.Fatalf("session moved to %s (sticky %q) while %s was healthy", rec.Provider, rec.Sticky, first)
		}
	}
	// The bound provider fails: the request fails over and the binding moves.
	bound, other := a, b
	if first == "b" {
		bound, other = b, a
	}
	bound.Enqueue(providertest.Reply{Status: 500})
	h.post("/v1/chat/completions", body)
	moved := h.rec.last(t).Provider
	if moved == first {
		t.Fatalf("request served by %s, want a failover away from it", moved)
	}
	before := other.Count()
	h.post("/v1/chat/completions", body)
	if other.Count() != before+1 {
		t.Error("binding did not move to the provider that served the failover")
	}
}

func TestAttemptsAreBounded(t *testing.T) {
	var decls, names []string
	var ups []*providertest.Server
	for i := range 8 {
		u := providertest.New(t, providertest.Reply{Status: 500})
		ups = append(ups, u)
		n := fmt.Sprintf("p%d", i)
		decls = append(decls, providerDecl(n, "openai", u.URL, fmt.Sprintf("priority = %d", i+1)))
		names = append(names, n)
	}
	h := newHarness(t, strings.Join(decls, "")+"def route(req, ctx):\n    return ["+strings.Join(names, ", ")+"]\n",
		func(c *Config) { c.MaxAttempts = 3 })
	resp, _ := h.post("/v1/chat/completions", chatBody)
	total := 0
	for _, u := range ups {
		total += u.Count()
	}
	if resp.StatusCode != 502 || total != 3 {
		t.Errorf("status %d after %d upstream requests, want 502 after 3", resp.StatusCode, total)
	}
}

func TestRecoveryAfterCooldown(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := providertest.New(t, okReply(t))
	a.Enqueue(providertest.Reply{Status: 429, Header: http.Header{"Retry-After": {"5"}}})
	b := providertest.New(t, okReply(t))
	h := newHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n", func(c *Config) { c.Health = newTestTracker(clock) })
	h.post("/v1/chat/completions", chatBody) // a 429 → b
	h.post("/v1/chat/completions", chatBody) // a cooling → b
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	h.post("/v1/chat/completions", chatBody) // a's trial request succeeds
	if a.Count() != 2 || h.rec.last(t).Provider != "a" {
		t.Fatalf("a=%d, last served by %s; want a back after its cooldown", a.Count(), h.rec.last(t).Provider)
	}
	if st := h.gw.Health().Snapshot("a"); st.State != "healthy" {
		t.Errorf("a = %s after a successful trial, want healthy", st.State)
	}
}

func TestGracefulShutdownLetsStreamFinish(t *testing.T) {
	release := make(chan struct{})
	up := providertest.New(t, providertest.Reply{})
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"))
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n"))
	})
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- h.gw.Run(ctx, ln, 10*time.Second, nil) }()

	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM while the stream is in flight
	time.Sleep(50 * time.Millisecond)
	if _, err := http.Get("http://" + ln.Addr().String() + "/health"); err == nil {
		t.Error("the server still accepts connections after shutdown began")
	}
	close(release)
	rest := new(bytes.Buffer)
	if _, err := rest.ReadFrom(resp.Body); err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if !strings.Contains(rest.String(), "[DONE]") {
		t.Errorf("stream did not finish: %q", rest.String())
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the stream finished")
	}
}
