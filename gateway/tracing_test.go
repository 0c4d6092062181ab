package gateway

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/tracing/tracingtest"
)

// tracedSpan is an exported span with its attributes flattened.
type tracedSpan struct {
	*tracepb.Span
	attrs map[string]string
}

func (s tracedSpan) traceID() string  { return hex.EncodeToString(s.TraceId) }
func (s tracedSpan) spanID() string   { return hex.EncodeToString(s.SpanId) }
func (s tracedSpan) parentID() string { return hex.EncodeToString(s.ParentSpanId) }

// checkAttrs reports each attribute of want that s lacks or has with
// another value; a want of "" asks for the attribute to be absent.
func (s tracedSpan) checkAttrs(t *testing.T, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := s.attrs[k]
		switch {
		case v == "" && ok:
			t.Errorf("span %q: %s = %q, want it absent", s.Name, k, got)
		case v != "" && got != v:
			t.Errorf("span %q: %s = %q, want %q", s.Name, k, got, v)
		}
	}
}

// tracedHarness is a harness whose gateway exports its spans to an
// in-process OTLP receiver.
type tracedHarness struct {
	*harness
	recv *tracingtest.Receiver
	tp   *tracingtest.Provider
}

func newTracedHarness(t *testing.T, policy string) *tracedHarness {
	recv := tracingtest.NewReceiver(t)
	tp := recv.NewProvider()
	h := newHarness(t, policy, func(c *Config) { c.Traces = tp })
	return &tracedHarness{harness: h, recv: recv, tp: tp}
}

// spans flushes the provider and returns the spans of the request whose
// X-Request-Id is id: its server span and its attempt spans in order.
func (h *tracedHarness) spans(id string) (req tracedSpan, attempts []tracedSpan) {
	h.t.Helper()
	h.tp.Flush()
	var all []tracedSpan
	for _, s := range h.recv.Spans() {
		all = append(all, tracedSpan{s, tracingtest.Attributes(s.Attributes)})
	}
	found := false
	for _, s := range all {
		if s.attrs["llmgw.request_id"] == id && s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			if found {
				h.t.Fatalf("two request spans for %s", id)
			}
			req, found = s, true
		}
	}
	if !found {
		h.t.Fatalf("no request span for %s among %d spans", id, len(all))
	}
	for _, s := range all {
		if s.Kind != tracepb.Span_SPAN_KIND_CLIENT || s.attrs["llmgw.request_id"] != id {
			continue
		}
		if s.traceID() != req.traceID() || s.parentID() != req.spanID() {
			h.t.Errorf("attempt span %q is not the request span's child: trace %s parent %s, want %s %s",
				s.Name, s.traceID(), s.parentID(), req.traceID(), req.spanID())
		}
		attempts = append(attempts, s)
	}
	for i, a := range attempts {
		if want := i + 1; a.attrs["llmgw.attempt"] != strconv.Itoa(want) {
			h.t.Errorf("attempt span %d has llmgw.attempt %q", want, a.attrs["llmgw.attempt"])
		}
	}
	return req, attempts
}

const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
)

// TestTracesServedRequest: a served request is a server span named after
// the GenAI operation and model, continuing the client's traceparent, with
// one client span for its attempt, whose context the upstream receives.
func TestTracesServedRequest(t *testing.T) {
	up := providertest.New(t, okReply(t))
	h := newTracedHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
	resp, body := h.post("/v1/chat/completions", chatBody, "traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rec := h.rec.last(t)
	req, atts := h.spans(resp.Header.Get("X-Request-Id"))

	if req.Name != "chat gpt-4o" {
		t.Errorf("request span name = %q, want %q", req.Name, "chat gpt-4o")
	}
	if req.traceID() != clientTraceID || req.parentID() != clientSpanID {
		t.Errorf("request span trace %s parent %s, want the client's %s %s", req.traceID(), req.parentID(), clientTraceID, clientSpanID)
	}
	if req.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("served request span has status %v", req.Status)
	}
	// The fixture's usage: 162 prompt tokens, 287 completion tokens of
	// which 256 reasoning.
	req.checkAttrs(t, map[string]string{
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-4o",
		"gen_ai.usage.input_tokens":            "162",
		"gen_ai.usage.output_tokens":           "287",
		"gen_ai.usage.reasoning.output_tokens": "256",
		"llmgw.provider":                       "a",
		"llmgw.attempt":                        "1",
		"llmgw.policy_hash":                    rec.PolicyHash,
		"http.response.status_code":            "200",
		"llmgw.error_class":                    "",
		"error.type":                           "",
	})
	if len(atts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(atts))
	}
	a := atts[0]
	if a.Name != "chat gpt-4o" || a.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("attempt span %q status %v, want chat gpt-4o without error", a.Name, a.Status)
	}
	a.checkAttrs(t, map[string]string{
		"gen_ai.provider.name":       "openai",
		"gen_ai.request.model":       "gpt-4o",
		"gen_ai.usage.input_tokens":  "162",
		"gen_ai.usage.output_tokens": "287",
		"llmgw.provider":             "a",
		"llmgw.action":               "",
		"http.response.status_code":  "200",
	})

	// The upstream request carries the attempt span's context: same
	// trace, the attempt as parent.
	reqs := up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	tp := reqs[0].Header.Get("traceparent")
	if want := "00-" + clientTraceID + "-" + a.spanID() + "-01"; tp != want {
		t.Errorf("upstream traceparent = %q, want %q", tp, want)
	}
}

// TestTracesFailedOverRequest: each attempt is a span; the failed one has
// status Error and the walk's action, and the request span an event for
// the failover.
func TestTracesFailedOverRequest(t *testing.T) {
	a := providertest.New(t, providertest.Reply{Status: 500, Body: []byte(`{"error":{"message":"boom"}}`)})
	b := providertest.New(t, okReply(t))
	h := newTracedHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n")
	resp, body := h.post("/v1/chat/completions", chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rec := h.rec.last(t)
	if len(rec.Attempts) != 2 || rec.Attempts[0].Class == "" {
		t.Fatalf("attempts = %+v, want a failed one then a served one", rec.Attempts)
	}
	req, atts := h.spans(resp.Header.Get("X-Request-Id"))
	if len(atts) != 2 {
		t.Fatalf("%d attempt spans, want 2", len(atts))
	}
	failed, served := atts[0], atts[1]
	if failed.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || !strings.Contains(failed.Status.GetMessage(), "boom") {
		t.Errorf("failed attempt's status = %v, want Error with the upstream's message", failed.Status)
	}
	failed.checkAttrs(t, map[string]string{
		"llmgw.provider":            "a",
		"llmgw.action":              rec.Attempts[0].Class,
		"error.type":                "500",
		"http.response.status_code": "500",
		"gen_ai.usage.input_tokens": "",
	})
	if served.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("served attempt's status = %v", served.Status)
	}
	served.checkAttrs(t, map[string]string{"llmgw.provider": "b", "error.type": "", "gen_ai.usage.input_tokens": "162"})
	req.checkAttrs(t, map[string]string{"llmgw.provider": "b", "llmgw.attempt": "2", "error.type": ""})
	if req.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a request served after a failover has status %v", req.Status)
	}
	var events []string
	for _, ev := range req.Events {
		at := tracingtest.Attributes(ev.Attributes)
		events = append(events, ev.Name+" "+at["llmgw.provider"]+" "+at["llmgw.action"]+" "+at["error.type"])
	}
	if want := "llmgw.failover a " + rec.Attempts[0].Class + " 500"; len(events) != 1 || events[0] != want {
		t.Errorf("request span events = %q, want [%q]", events, want)
	}
	// Each upstream saw its own attempt's span as parent.
	for i, up := range []*providertest.Server{a, b} {
		got := up.Requests()[0].Header.Get("traceparent")
		if !strings.Contains(got, atts[i].spanID()) || !strings.Contains(got, req.traceID()) {
			t.Errorf("upstream %d traceparent = %q, want trace %s parent %s", i, got, req.traceID(), atts[i].spanID())
		}
	}
}

// TestTracesRefusedRequest: a request refused before any attempt is a
// request span with status Error and its error class, and no attempt span.
func TestTracesRefusedRequest(t *testing.T) {
	up := providertest.New(t, okReply(t))
	h := newTracedHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
	resp, _ := h.post("/v1/chat/completions", `{"model": "gpt-4o", "messages": [`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	req, atts := h.spans(resp.Header.Get("X-Request-Id"))
	if len(atts) != 0 {
		t.Errorf("%d attempt spans for a refused request", len(atts))
	}
	if req.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("refused request span status = %v, want Error", req.Status)
	}
	if req.Kind != tracepb.Span_SPAN_KIND_SERVER || req.Name != "chat" {
		t.Errorf("refused request span %q kind %v, want chat, server", req.Name, req.Kind)
	}
	req.checkAttrs(t, map[string]string{
		"error.type":                "bad_request",
		"llmgw.error_class":         "bad_request",
		"http.response.status_code": "400",
		"llmgw.attempt":             "0",
		"gen_ai.usage.input_tokens": "",
	})
	if up.Count() != 0 {
		t.Errorf("upstream called %d times", up.Count())
	}
}
