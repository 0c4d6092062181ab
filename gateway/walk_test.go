package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
)

// walkScenario is one case of TestLiveWalkMatchesEval.
type walkScenario struct {
	name string
	// faults holds one entry per provider, in failover order: "ok", an
	// HTTP status, "timeout", "connect" or "stream" (eval's
	// --simulate-errors vocabulary).
	faults   []string
	classify string // a classify hook; "" for the default
	result   string // eval's outcome
	status   int    // what the client gets live
}

// TestLiveWalkMatchesEval runs each failure scenario twice: live, against
// upstreams that inject the fault, and through eval with the same faults
// simulated; for a plain and a streaming request. Both walk with
// route.Walk, so they must agree attempt by attempt (provider, status,
// class) and on the outcome.
func TestLiveWalkMatchesEval(t *testing.T) {
	dead := deadAddr(t)
	tests := []walkScenario{
		{"six 500s walk the whole chain", []string{"500", "500", "500", "500", "500", "500"}, "", "exhausted", 502},
		{"first serves", []string{"ok", "500"}, "", "served", 200},
		{"503 retries once then fails over", []string{"503", "ok"}, "", "served", 200},
		{"529 then 401 then served", []string{"529", "401", "ok"}, "", "served", 200},
		{"429 cools down", []string{"429", "ok"}, "", "served", 200},
		{"400 fails", []string{"400", "ok"}, "", "failed", 400},
		{"timeout, connect and stream fail over", []string{"timeout", "connect", "stream", "ok"}, "", "served", 200},
		{"the last failure is the answer", []string{"500", "503"}, "", "exhausted", 503},
		{"classify retries a 500 once", []string{"500", "ok"},
			"def classify(err, ctx):\n    if err.status == 500:\n        return \"retry\"\n    return default_class(err)\n", "served", 200},
		{"classify fails a 502", []string{"502", "ok"},
			"def classify(err, ctx):\n    if err.status == 502:\n        return \"fail\"\n    return default_class(err)\n", "failed", 502},
		{"classify cools down without a duration", []string{"500", "ok"},
			"def classify(err, ctx):\n    return \"cooldown\"\n", "served", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, dead, false) })
		t.Run(tt.name+"/stream", func(t *testing.T) { tt.run(t, dead, true) })
	}
}

func (tt walkScenario) run(t *testing.T, dead string, stream bool) {
	ok, body := okReply(t), chatBody
	if stream {
		ok = providertest.FixtureReply(t, "openai_chat_stream_text_with_usage.sse")
		body = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	}
	var decls, names []string
	sim := map[string]string{}
	for i, fault := range tt.faults {
		name := fmt.Sprintf("p%d", i)
		names = append(names, name)
		prio := fmt.Sprintf("priority = %d", i+1)
		switch fault {
		case "ok":
			decls = append(decls, providerDecl(name, "openai", providertest.New(t, ok).URL, prio))
			continue
		case "connect":
			decls = append(decls, providerDecl(name, "openai", "http://"+dead, prio))
		case "timeout":
			up := providertest.New(t, providertest.Reply{Delay: 5 * time.Second})
			decls = append(decls, providerDecl(name, "openai", up.URL, prio+", timeout = 0.2"))
		case "stream":
			// Not the JSON body or event stream asked for: the answer is
			// unusable before its first byte.
			up := providertest.New(t, providertest.Reply{Body: []byte("<html>bad gateway</html>"), Header: http.Header{"Content-Type": {"text/html"}}, SSE: stream})
			decls = append(decls, providerDecl(name, "openai", up.URL, prio))
		default:
			code, err := strconv.Atoi(fault)
			if err != nil {
				t.Fatalf("bad fault %q", fault)
			}
			up := providertest.New(t, providertest.Reply{Status: code, Body: []byte(`{"error":{"message":"injected","type":"api_error"}}`)})
			decls = append(decls, providerDecl(name, "openai", up.URL, prio))
		}
		sim[name] = fault
	}
	h := newHarness(t, strings.Join(decls, "")+"def route(req, ctx):\n    return ["+strings.Join(names, ", ")+"]\n"+tt.classify)

	res, err := h.eng.Policy().Eval(context.Background(), &engine.Request{Model: "gpt-4o", Protocol: "openai", Stream: stream}, engine.EvalOptions{SimulateErrors: sim})
	if err != nil {
		t.Fatal(err)
	}
	resp, out := h.post("/v1/chat/completions", body)
	rec := h.rec.last(t)

	if res.Outcome.Result != tt.result || resp.StatusCode != tt.status {
		t.Errorf("eval outcome %s, live status %d (%.200s); want %s and %d", res.Outcome.Result, resp.StatusCode, out, tt.result, tt.status)
	}
	if got := resp.Header.Get("X-LLMGW-Attempts"); got != strconv.Itoa(len(res.Attempts)) {
		t.Errorf("X-LLMGW-Attempts = %s, eval made %d attempts", got, len(res.Attempts))
	}
	if len(rec.Attempts) != len(res.Attempts) {
		t.Fatalf("live attempts %s, eval %s", liveTried(rec.Attempts), evalTried(res.Attempts))
	}
	for i, la := range rec.Attempts {
		ea := res.Attempts[i]
		class := la.Class
		if class == "" {
			class = "ok"
		}
		status := la.Status
		if ea.Class == "ok" {
			status = 200 // eval's served attempt; live records the relayed status
		}
		if la.Provider != ea.Provider || class != ea.Class || status != ea.Status {
			t.Errorf("attempt %d: live %s:%s (%d), eval %s:%s (%d)", i+1, la.Provider, class, la.Status, ea.Provider, ea.Class, ea.Status)
		}
	}
	if res.Outcome.Result == "served" && resp.Header.Get("X-LLMGW-Provider") != res.Outcome.Provider {
		t.Errorf("served live by %s, by eval %s", resp.Header.Get("X-LLMGW-Provider"), res.Outcome.Provider)
	}
}

// deadAddr returns a local address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// liveTried and evalTried render attempts as provider:class lists.
func liveTried(as []requestlog.Attempt) string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s:%s(%d)", a.Provider, a.Class, a.Status))
	}
	return "[" + strings.Join(out, " ") + "]"
}

func evalTried(as []engine.Attempt) string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s:%s(%d)", a.Provider, a.Class, a.Status))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// A request is priced with the price() declarations of the policy version
// it was served under (compiled with that version, not cached by the
// server).
func TestPolicyPricesCostTheRequest(t *testing.T) {
	up := providertest.New(t, okReply(t))
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n"+
		"price(\"gpt-4o\", input = 1000, output = 2000)\n")
	if resp, body := h.post("/v1/chat/completions", chatBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rec := h.rec.last(t)
	want := rec.Usage.InputTokens*1000 + rec.Usage.OutputTokens*2000 // micro-USD at $1000 and $2000 per million tokens
	if rec.Usage.IsZero() || rec.CostMicros == nil || *rec.CostMicros != want || rec.PriceSource != "policy" {
		t.Errorf("cost %v from %q for %+v, want %d from the policy", rec.CostMicros, rec.PriceSource, rec.Usage, want)
	}
}

// An operator's attempt cap (Config.MaxAttempts) stops the live walk and
// the dashboard's dry run (POST /api/eval) at the same attempt.
func TestAttemptCapLiveAndAPIEval(t *testing.T) {
	var decls, names, sim []string
	for i := range 5 {
		up := providertest.New(t, providertest.Reply{Status: 500})
		n := fmt.Sprintf("p%d", i)
		decls = append(decls, providerDecl(n, "openai", up.URL, fmt.Sprintf("priority = %d", i+1)))
		names = append(names, n)
		sim = append(sim, n+"=500")
	}
	h := newHarness(t, strings.Join(decls, "")+"def route(req, ctx):\n    return ["+strings.Join(names, ", ")+"]\n",
		func(c *Config) { c.MaxAttempts = 3 })
	resp, body := h.post("/v1/chat/completions", chatBody)
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-LLMGW-Attempts") != "3" || !strings.Contains(string(body), "gave up after 3 attempts") {
		t.Errorf("live: status %d, %s attempts (%s); want 502 after 3", resp.StatusCode, resp.Header.Get("X-LLMGW-Attempts"), body)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/eval?simulate_errors="+url.QueryEscape(strings.Join(sim, ",")), strings.NewReader(chatBody))
	req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
	req.RemoteAddr = "127.0.0.1:5000"
	rec := httptest.NewRecorder()
	h.gw.ServeHTTP(rec, req)
	var res engine.EvalResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("POST /api/eval = %d %s", rec.Code, rec.Body)
	}
	if len(res.Attempts) != 3 || res.Outcome.Result != "exhausted" {
		t.Errorf("/api/eval: %s, outcome %s; want 3 attempts, exhausted", evalTried(res.Attempts), res.Outcome.Result)
	}
}
