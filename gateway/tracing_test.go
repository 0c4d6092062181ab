package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/tracing"
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
		if s.parentID() != req.spanID() {
			continue
		}
		if s.traceID() != req.traceID() || s.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			h.t.Errorf("attempt span %q: trace %s kind %v, want %s, client", s.Name, s.traceID(), s.Kind, req.traceID())
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
	// The model call's attributes are the attempt span's only: the
	// request span is the gateway's, and tools that take every span with
	// gen_ai attributes for a model call count each call once.
	req.checkAttrs(t, map[string]string{
		"gen_ai.request.model":      "gpt-4o",
		"gen_ai.operation.name":     "",
		"gen_ai.provider.name":      "",
		"gen_ai.usage.input_tokens": "",
		"gen_ai.response.model":     "",
		"llmgw.provider":            "a",
		"llmgw.request_id":          resp.Header.Get("X-Request-Id"),
		"llmgw.endpoint":            "chat.completions",
		"llmgw.policy_hash":         rec.PolicyHash,
		"http.response.status_code": "200",
		"llmgw.error_class":         "",
		"error.type":                "",
	})
	if len(atts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(atts))
	}
	a := atts[0]
	if a.Name != "chat gpt-4o" || a.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("attempt span %q status %v, want chat gpt-4o without error", a.Name, a.Status)
	}
	// The fixture's model, id and finish reason, from the upstream's body.
	a.checkAttrs(t, map[string]string{
		"gen_ai.response.model":          "gpt-5-nano-2025-08-07",
		"gen_ai.response.id":             "chatcmpl-C4GmWI2Sl7HnrQsKorSAZkJy94dpT",
		"gen_ai.response.finish_reasons": "tool_calls",
	})
	a.checkAttrs(t, map[string]string{
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-4o",
		"gen_ai.usage.input_tokens":            "162",
		"gen_ai.usage.output_tokens":           "287",
		"gen_ai.usage.reasoning.output_tokens": "256",
		"llmgw.provider":                       "a",
		"llmgw.action":                         "",
		"http.response.status_code":            "200",
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
	req.checkAttrs(t, map[string]string{"llmgw.provider": "b", "error.type": ""})
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
		"gen_ai.usage.input_tokens": "",
	})
	if up.Count() != 0 {
		t.Errorf("upstream called %d times", up.Count())
	}
}

// BenchmarkTracing measures what tracing adds to a request answered at
// once in-process (no network and no pacing, so that the figures are the
// gateway's own): three gateways over the same policy, asked in turn in
// each iteration so that they share the machine's state, report their
// time per request. base has no Traces; off is what `llmgw start --otel
// off` builds (tracing.Start returns no provider); on samples every
// request and exports its spans over OTLP/HTTP, in batches, to an
// in-process receiver that discards them. It reports each one's wall
// time per request (base-ns/req, then off-extra-ns/req and
// on-extra-ns/req over base, and on/base), then the process's CPU time per
// request, export included (base-cpu-ns/req, off-extra-cpu-ns/req,
// on-extra-cpu-ns/req). The off figures should be noise around 0.
func BenchmarkTracing(b *testing.B) {
	dir := b.TempDir()
	src := "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	tp := discardingTracerProvider(b)
	off, err := tracing.Start(context.Background(), tracing.Config{Mode: tracing.Off})
	if err != nil {
		b.Fatal(err)
	}
	dm := cannedUpstream(providertest.Fixture(b, "openai_cassette_chat-tools.response.200.json"))
	gws := []*Server{
		New(Config{Policies: eng, Log: &memRecorder{}, Demo: dm}),
		New(Config{Policies: eng, Log: &memRecorder{}, Demo: dm, Traces: off.TracerProvider()}),
		New(Config{Policies: eng, Log: &memRecorder{}, Demo: dm, Traces: tp}),
	}
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, how are you?"}]}`
	serve := func(gw *Server) {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01")
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	// Wall time per request, from requests asked of the three gateways in
	// turn, so that they share the machine's state (its load, the
	// collector's cycles).
	var spent [3]time.Duration
	for b.Loop() {
		for i, gw := range gws {
			start := time.Now()
			serve(gw)
			spent[i] += time.Since(start)
		}
	}
	n := float64(b.N)
	base, offNs, onNs := float64(spent[0])/n, float64(spent[1])/n, float64(spent[2])/n
	b.ReportMetric(base, "base-ns/req")
	b.ReportMetric(offNs-base, "off-extra-ns/req")
	b.ReportMetric(onNs-base, "on-extra-ns/req")
	b.ReportMetric(onNs/base, "on/base")

	// CPU time of the whole process per request, the export's included
	// (on's spans are flushed before its clock stops): on a shared machine
	// it varies less with the neighbours' load than wall time does. The
	// three gateways take turns in short rounds, many of them, so that a
	// neighbour's burst or a collection falls on each alike. The
	// in-process receiver's reading of the exports is counted too: a
	// slight overstatement.
	var cpu [3]time.Duration
	const rounds, perRound = 12, 1000
	for range rounds {
		for i, gw := range gws {
			before := processCPU()
			for range perRound {
				serve(gw)
			}
			if i == 2 {
				_ = tp.ForceFlush(context.Background())
			}
			cpu[i] += processCPU() - before
		}
	}
	per := func(d time.Duration) float64 { return float64(d) / (rounds * perRound) }
	b.ReportMetric(per(cpu[0]), "base-cpu-ns/req")
	b.ReportMetric(per(cpu[1])-per(cpu[0]), "off-extra-cpu-ns/req")
	b.ReportMetric(per(cpu[2])-per(cpu[0]), "on-extra-cpu-ns/req")
}

// BenchmarkTraceSpans is tracing's own work for one request, without the
// request: the request span (continuing a client's traceparent), one
// attempt span, the upstream traceparent, and both spans' attributes and
// ends, sampled, with the attributes of a served request. otlp exports
// them over OTLP/HTTP as in BenchmarkTracing; sdk hands them to an
// exporter that drops them, which leaves the SDK's bookkeeping (on the
// request's goroutine, but for the batcher's queue): the difference is
// the OTLP exporter's encoding and sending, on the batcher's goroutine;
// unsampled records nothing, which leaves llmgw's own part.
// It isolates what on-extra-ns/req measures amid the noise of a whole
// request.
func BenchmarkTraceSpans(b *testing.B) {
	dir := b.TempDir()
	src := "a = provider(\"a\", kind = \"openai\", api_key = \"k\")\ndef route(req, ctx):\n    return [a]\n"
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	for _, exp := range []string{"otlp", "sdk", "unsampled"} {
		b.Run(exp, func(b *testing.B) {
			var tp *sdktrace.TracerProvider
			switch exp {
			case "otlp":
				tp = discardingTracerProvider(b)
			case "sdk":
				tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(droppingExporter{}, sdktrace.WithBlocking()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			case "unsampled":
				// Spans that record nothing: llmgw's own part (the
				// traceparent read and written, the answer's members)
				// with the SDK's least.
				tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
			}
			if exp != "otlp" {
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			}
			s := &Server{tracer: tp.Tracer(tracerName)}
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r.Header.Set("traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01")
			cost := int64(1234)
			rec := &requestlog.Record{Model: "gpt-4o", Provider: "a", Status: 200, PolicyHash: "0123456789ab", CostMicros: &cost,
				Usage: llm.Usage{InputTokens: 162, OutputTokens: 287, ReasoningTokens: 256}}
			// The answer's members, as the gateway's pass over the body
			// (which an untraced request makes too) collects them.
			var members answerMembers
			_ = inspectBody(providertest.Fixture(b, "openai_cassette_chat-tools.response.200.json"), "usage", &members)
			up := http.Header{}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				x := &exchange{s: s, r: r, id: "req_0123456789abcdef01234567", start: time.Now(), ep: endpoint{proto: llm.ProtocolOpenAI, name: "chat"}}
				x.pol = eng.Policy()
				x.startTrace(s.tracer)
				x.attempts = []requestlog.Attempt{{N: 1, Provider: "a", Model: "gpt-4o", Status: 200, FirstByte: true}}
				x.usage = rec.Usage
				x.tr.startAttempt(x, 1, "a", "openai", "gpt-4o")
				x.tr.inject(up)
				if x.tr.wantsAnswer() { // as relayBody asks
					x.tr.noteAnswer(&members)
				}
				rec.Attempts = x.attempts
				x.endTrace(rec)
			}
			_ = tp.ForceFlush(context.Background())
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// droppingExporter drops what it is given: the SDK's work without an
// exporter's.
type droppingExporter struct{}

func (droppingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (droppingExporter) Shutdown(context.Context) error                             { return nil }

// discardingTracerProvider samples every span and exports it over
// OTLP/HTTP, in batches, to an in-process receiver that discards it.
func discardingTracerProvider(b *testing.B) *sdktrace.TracerProvider {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(sink.Close)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	// Blocking: a span that finds the queue full waits instead of being
	// dropped, so that every span's export is paid for in the figures.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBlocking()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// cannedUpstream answers every request at once with body, in process: the
// transport of a demo-kind provider.
type cannedUpstream []byte

func (c cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c)), ContentLength: int64(len(c)), Request: r}, nil
}

func TestNoteResponse(t *testing.T) {
	tests := []struct {
		name, body            string
		model, id, finishWant string
	}{
		{"openai", `{"id":"c1","model":"gpt-4o-2024","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"},{"finish_reason":"length"}]}`, "gpt-4o-2024", "c1", "stop"},
		{"anthropic", `{"id":"msg_1","type":"message","model":"claude-x","content":[],"stop_reason":"end_turn"}`, "claude-x", "msg_1", "end_turn"},
		{"gemini", `{"candidates":[ {"content":{},"finishReason":"STOP"}],"modelVersion":"gemini-2.5-flash","responseId":"r9"}`, "gemini-2.5-flash", "r9", "STOP"},
		{"escaped", `{"model":"a\u002fb","choices":[]}`, "a/b", "", ""},
		{"nothing", `{"data":[]}`, "", "", ""},
	}
	for _, tt := range tests {
		var tr requestTrace
		tr.noteResponse([]byte(tt.body))
		if tr.respModel != tt.model || tr.respID != tt.id || tr.finish != tt.finishWant {
			t.Errorf("%s: noteResponse = %q, %q, %q, want %q, %q, %q", tt.name, tr.respModel, tr.respID, tr.finish, tt.model, tt.id, tt.finishWant)
		}
	}
}

// TestNoteStreamEvent: a stream's model and id come from its first event
// that names them, its finish reason from the event that gives it, in
// each protocol's shape and whatever the JSON's layout.
func TestNoteStreamEvent(t *testing.T) {
	tests := []struct {
		name                  string
		events                []string
		model, id, finishWant string
	}{
		{"openai", []string{
			`{"id":"c1","model":"gpt-4o-2024","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`,
			`{"id":"c1","model":"gpt-4o-2024","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
			`{"id":"c1","model":"gpt-4o-2024","choices":[],"usage":{"prompt_tokens":3}}`,
			`[DONE]`,
		}, "gpt-4o-2024", "c1", "length"},
		{"anthropic", []string{
			`{"type":"message_start","message":{"id":"msg_1","type":"message","model":"claude-x","stop_reason":null,"usage":{}}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"say \"stop_reason\""}}`,
			`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`,
			`{"type":"message_stop"}`,
		}, "claude-x", "msg_1", "tool_use"},
		{"responses", []string{
			`{"type":"response.created","response":{"id":"resp_1","model":"o3-2025","status":"in_progress"}}`,
			`{"type":"response.completed","response":{"id":"resp_1","model":"o3-2025","status":"completed"}}`,
		}, "o3-2025", "resp_1", ""},
		{"gemini, spaced", []string{
			`{ "candidates": [ { "content": { "parts": [ { "text": "hi" } ] } } ], "modelVersion": "gemini-2.5-flash", "responseId": "r9" }`,
			`{ "candidates": [ { "content": { "parts": [] }, "finishReason": "STOP" } ], "modelVersion": "gemini-2.5-flash", "responseId": "r9" }`,
		}, "gemini-2.5-flash", "r9", "STOP"},
		{"not json", []string{`[DONE]`, `: keep-alive`, ``}, "", "", ""},
	}
	for _, tt := range tests {
		var tr requestTrace
		for _, ev := range tt.events {
			tr.noteStreamEvent([]byte(ev))
		}
		if tr.respModel != tt.model || tr.respID != tt.id || tr.finish != tt.finishWant {
			t.Errorf("%s: noteStreamEvent = %q, %q, %q, want %q, %q, %q", tt.name, tr.respModel, tr.respID, tr.finish, tt.model, tt.id, tt.finishWant)
		}
	}
}

// TestTracesStreamResponse: a streamed answer's spans have its model and
// finish reason as the upstream named them, whether the stream is
// forwarded (an OpenAI client and upstream) or converted (an OpenAI client
// of an Anthropic or Gemini upstream).
func TestTracesStreamResponse(t *testing.T) {
	for _, tt := range []struct {
		kind, fixture, model, id, finish string
	}{
		{"openai", "openai_chat_stream_text_with_usage.sse", "gpt-4o-2024-08-06", "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL", "stop"},
		{"anthropic", "anthropic_stream_text_end_turn.sse", "fallback-model", "msg_end", "end_turn"},
		{"gemini", "gemini_stream_single_chunk.sse", "gemini-2.5-flash", "4HkhaaajEJaY0-kPyI_b2A4", "STOP"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			up := providertest.New(t, providertest.Reply{Body: providertest.Fixture(t, tt.fixture), SSE: true})
			h := newTracedHarness(t, providerDecl("a", tt.kind, up.URL, "")+"def route(req, ctx):\n    return [a]\n")
			body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			resp, b := h.post("/v1/chat/completions", body)
			if resp.StatusCode != 200 || !strings.Contains(string(b), "[DONE]") {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			_, atts := h.spans(resp.Header.Get("X-Request-Id"))
			if len(atts) != 1 {
				t.Fatalf("%d attempt spans, want 1", len(atts))
			}
			atts[0].checkAttrs(t, map[string]string{
				"gen_ai.response.model":          tt.model,
				"gen_ai.response.id":             tt.id,
				"gen_ai.response.finish_reasons": tt.finish,
				"error.type":                     "",
			})
		})
	}
}

// TestTracesStreams: a stream's answering attempt has its usage; a stream
// broken after its first byte (no failover possible) ends both spans with
// status Error.
func TestTracesStreams(t *testing.T) {
	stream := providertest.Fixture(t, "openai_chat_stream_text_with_usage.sse")
	up := providertest.New(t, providertest.Reply{Body: stream, SSE: true})
	h := newTracedHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	resp, b := h.post("/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	rec := h.rec.last(t)
	req, atts := h.spans(resp.Header.Get("X-Request-Id"))
	if len(atts) != 1 || rec.Usage.OutputTokens == 0 {
		t.Fatalf("%d attempt spans, usage %+v", len(atts), rec.Usage)
	}
	atts[0].checkAttrs(t, map[string]string{
		"gen_ai.usage.input_tokens":  strconv.FormatInt(rec.Usage.PromptTokens(), 10),
		"gen_ai.usage.output_tokens": strconv.FormatInt(rec.Usage.OutputTokens, 10),
		"error.type":                 "",
	})
	if req.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR || atts[0].Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("served stream: request status %v, attempt status %v", req.Status, atts[0].Status)
	}

	up.SetDefault(providertest.Reply{Body: stream, SSE: true, CutAfter: 3})
	resp, _ = h.post("/v1/chat/completions", body)
	req, atts = h.spans(resp.Header.Get("X-Request-Id"))
	if len(atts) != 1 {
		t.Fatalf("%d attempt spans for a broken stream, want 1 (no failover after the first byte)", len(atts))
	}
	if atts[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || req.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("broken stream: request status %v, attempt status %v, want Error for both", req.Status, atts[0].Status)
	}
	req.checkAttrs(t, map[string]string{"error.type": "stream", "llmgw.error_class": "stream"})
	atts[0].checkAttrs(t, map[string]string{"error.type": "stream"})
}
