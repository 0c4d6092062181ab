package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
	"github.com/llmgw/llmgw/sse"
	"github.com/llmgw/llmgw/tracing"
)

// tracerName is the instrumentation scope of the gateway's spans.
const tracerName = "github.com/llmgw/llmgw/gateway"

// requestTrace is a traced request's spans: a server span for the request,
// continuing the client's W3C traceparent, and a client span for each
// upstream attempt, whose context the upstream request carries. An
// exchange has one only when Config.Traces is set, so that tracing off
// costs a nil check.
//
// The GenAI conventions' attributes of a model call (operation, provider
// family, usage, the answer's model, id and finish reason) are the
// attempts': the answering attempt's span is the model call the
// conventions describe, and tools that take each span with them for a
// model call count each call once. The request span has what the request
// log has beside them: the model asked for, the provider that answered,
// the policy, the sticky session, the cost, the error class. Every
// attribute costs the SDK and the exporter about as much as a span's
// bookkeeping divided by ten, so none is set twice.
//
// An attempt span ends when the next attempt starts or the request
// finishes, whichever comes first, with the end time its latency gives:
// by then its log entry (requestlog.Attempt) holds everything the span
// reports (status, the walk's action, the error), so that the walk needs
// no hook of its own.
type requestTrace struct {
	ctx  context.Context // carries the request span
	span trace.Span
	op   string // gen_ai.operation.name

	// the attempt in progress
	att      trace.Span
	attCtx   context.Context
	attN     int // its index in the exchange's attempts, from 1
	attStart time.Time
	attKind  string // its failure's kind (timeout, connect, http...), "" until it failed
	// attProvider is its provider, attFamily the provider's
	// gen_ai.provider.name.
	attProvider, attFamily string
	// attIdle is set when the attempt's span records nothing (the sampler
	// left the trace out): its answer's model, id and finish reason are
	// then not read.
	attIdle bool

	// what the answering attempt's body said (noteResponse)
	respModel, respID, finish string

	// content is Config.TraceContent: the attempt spans carry the
	// request's system instructions and messages (system, input: their
	// attributes' values, made once) and the answer collected in out
	// (from a pass-through stream's events by outDec).
	content       bool
	system, input string
	out           *tracing.Output
	outDec        StreamDecoder

	// kv is room for a span's attributes, one allocation for both spans
	// rather than one per span; made at the first span that records, so
	// that a request the sampler left out does without it.
	kv *[20]attribute.KeyValue
}

// attrs is tr's room for a span's attributes, empty.
func (tr *requestTrace) attrs() []attribute.KeyValue {
	if tr.kv == nil {
		tr.kv = new([20]attribute.KeyValue)
	}
	return tr.kv[:0]
}

// answerMembers are the top-level members of an upstream's non-streaming
// answer that name its model, id and finish reason, in every protocol
// (OpenAI's and Anthropic's model and id, Gemini's modelVersion and
// responseId; Anthropic's stop_reason, OpenAI's choices and Gemini's
// candidates, whose first element has the others'). The gateway's one
// pass over the answer's top level (inspectBody) collects them for a
// traced request, so that tracing adds no pass of its own.
type answerMembers struct {
	model, id, fin, choices, candidates []byte
}

// note keeps the member k if it is one of them.
func (m *answerMembers) note(k, v []byte) {
	switch string(k) {
	case "model", "modelVersion":
		m.model = v
	case "id", "responseId":
		m.id = v
	case "stop_reason":
		m.fin = v
	case "choices":
		m.choices = v
	case "candidates":
		m.candidates = v
	}
}

// noteResponse reads the model, id and finish reason of an upstream's
// non-streaming answer b, for the spans, found by the scanner without
// decoding the body. A stream's are read event by event
// (noteStreamEvent).
func (tr *requestTrace) noteResponse(b []byte) {
	var m answerMembers
	_ = wirejson.Fields(b, func(k, v []byte) bool { m.note(k, v); return true })
	tr.noteAnswer(&m)
}

// noteAnswer sets what m holds as the answer's model, id and finish
// reason (the first of OpenAI's choices' finish_reason or of Gemini's
// candidates' finishReason when there is no stop_reason). Its caller
// collects m only when wantsAnswer.
func (tr *requestTrace) noteAnswer(m *answerMembers) {
	fin := m.fin
	if fin == nil && m.choices != nil {
		fin = wirejson.Member(firstElement(m.choices), "finish_reason")
	}
	if fin == nil && m.candidates != nil {
		fin = wirejson.Member(firstElement(m.candidates), "finishReason")
	}
	tr.respModel, tr.respID, tr.finish = jsonString(m.model), jsonString(m.id), jsonString(fin)
}

// noteStreamEvent reads the model, id and finish reason of a streamed
// answer from one of the upstream's events, in the upstream's own
// protocol, whether the stream is forwarded or converted: the model and id
// from the first event that names them (OpenAI's and Gemini's chunks at
// their top level, Anthropic's message_start in its message, a Responses
// response.created in its response), the finish reason from the event
// that gives it (the first of OpenAI's choices' finish_reason, Anthropic's
// message_delta's delta.stop_reason, Gemini's candidates' finishReason;
// Responses streams have none, as Responses answers have none). An event
// is scanned only while the model is unknown or when its bytes name a
// finish reason, so that most of a long stream's events cost a few
// comparisons; it runs only for traced requests.
func (tr *requestTrace) noteStreamEvent(data []byte) {
	if tr.attIdle {
		return
	}
	d := bytes.TrimLeft(data, " \t\r\n")
	if len(d) == 0 || d[0] != '{' {
		return // [DONE], or not JSON
	}
	wantModel := tr.respModel == ""
	hasFinish := bytes.Contains(d, []byte(`"finish_reason"`)) || bytes.Contains(d, []byte(`"stop_reason"`)) || bytes.Contains(d, []byte(`"finishReason"`))
	if !wantModel && !hasFinish {
		return
	}
	var model, id, choices, candidates, inner, delta []byte
	_ = wirejson.Fields(d, func(k, v []byte) bool {
		switch string(k) {
		case "model", "modelVersion":
			model = v
		case "id", "responseId":
			id = v
		case "choices":
			choices = v
		case "candidates":
			candidates = v
		case "message", "response":
			inner = v
		case "delta":
			delta = v
		}
		return true
	})
	if wantModel {
		if model == nil && len(inner) > 0 && inner[0] == '{' {
			model, id = wirejson.Member(inner, "model"), wirejson.Member(inner, "id")
		}
		if m := jsonString(model); m != "" {
			tr.respModel = m
			if tr.respID == "" {
				tr.respID = jsonString(id)
			}
		}
	}
	if !hasFinish {
		return
	}
	var fin []byte
	switch {
	case choices != nil:
		fin = wirejson.Member(firstElement(choices), "finish_reason")
	case candidates != nil:
		fin = wirejson.Member(firstElement(candidates), "finishReason")
	case len(delta) > 0 && delta[0] == '{':
		fin = wirejson.Member(delta, "stop_reason")
	}
	if f := jsonString(fin); f != "" {
		tr.finish = f
	}
}

// firstElement is the JSON array raw from its first element on (nil when
// raw is no array or an empty one): wirejson.Member reads that element's
// members, stopping at the one it finds.
func firstElement(raw []byte) []byte {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	raw = bytes.TrimLeft(raw[1:], " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	return raw
}

// jsonString is the JSON string raw decoded, "" when it is not a string.
func jsonString(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// traceHeaders carries W3C trace context in HTTP headers, as
// propagation.HeaderCarrier does, but finds the two headers of the
// TraceContext propagator by their canonical names without computing
// them: http.Header's Get and Set canonicalise the lower-case names the
// propagator asks for by allocating a string each time, four times per
// traced request.
type traceHeaders http.Header

var _ propagation.TextMapCarrier = traceHeaders(nil)

// canonicalTraceKey is key in canonical header form.
func canonicalTraceKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	}
	return http.CanonicalHeaderKey(key)
}

func (h traceHeaders) Get(key string) string {
	if v := h[canonicalTraceKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h traceHeaders) Set(key, value string) { h[canonicalTraceKey(key)] = []string{value} }

func (h traceHeaders) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

// wantsAnswer reports whether the attempt in progress records what its
// answer says (noteAnswer): a request the sampler left out skips reading
// it.
func (tr *requestTrace) wantsAnswer() bool { return !tr.attIdle }

// The span kinds' start options, made once: each call of
// trace.WithSpanKind allocates.
var (
	serverSpan = trace.WithSpanKind(trace.SpanKindServer)
	clientSpan = trace.WithSpanKind(trace.SpanKindClient)
)

// startTrace starts the request span of x, the child of the client's
// traceparent when it sent one.
func (x *exchange) startTrace(tracer trace.Tracer) {
	tr := &requestTrace{op: tracing.OperationOf(x.ep.op, x.ep.proto), content: x.s.cfg.TraceContent && x.ep.op == opGenerate}
	ctx := propagation.TraceContext{}.Extract(x.r.Context(), traceHeaders(x.r.Header))
	// The name gets its model, and the span its attributes, when the
	// request finishes: the body is not read yet, and one call to
	// SetAttributes costs the SDK less than several.
	tr.ctx, tr.span = tracer.Start(ctx, tr.op, serverSpan)
	x.tr = tr
}

// startAttempt starts the span of the n-th attempt, to provider p of
// kind, with model, ending the previous attempt's. Its attributes are set
// when it ends (endAttempt), from its log entry.
func (tr *requestTrace) startAttempt(x *exchange, n int, p, kind, model string) {
	tr.endAttempt(x)
	tr.attN, tr.attStart, tr.attKind = n, time.Now(), ""
	tr.attProvider, tr.attFamily = p, tracing.ProviderNameOf(kind)
	tr.respModel, tr.respID, tr.finish = "", "", ""
	tr.attCtx, tr.att = x.s.tracer.Start(tr.ctx, tracing.SpanName(tr.op, model), clientSpan)
	tr.attIdle = !tr.att.IsRecording()
	tr.out, tr.outDec = nil, nil
	if tr.content && !tr.attIdle {
		tr.out = &tracing.Output{}
		if tr.input == "" {
			// The client's request, decoded once (a converted request
			// already is): what every attempt sends, in its own
			// protocol.
			if req, err := x.decodeClient(); err == nil {
				tr.system, tr.input = tracing.RequestContent(req)
			}
		}
	}
}

// capturing reports whether the attempt in progress collects its answer
// for gen_ai.output.messages.
func (tr *requestTrace) capturing() bool { return tr.out != nil }

// noteEvents collects an answer's neutral stream events (a converted
// stream's) when capturing.
func (tr *requestTrace) noteEvents(evs []llm.Event) {
	if tr.out != nil {
		tr.out.Events(evs)
	}
}

// notePassEvent collects an answer from a forwarded stream's event,
// decoding it with the stream's protocol (a's), when capturing.
func (tr *requestTrace) notePassEvent(a Adapter, ev sse.Event) {
	if tr.out == nil {
		return
	}
	if tr.outDec == nil {
		tr.outDec = a.NewStreamDecoder()
	}
	if evs, err := tr.outDec.Decode(ev); err == nil {
		tr.out.Events(evs)
	}
}

// noteResponseParts collects a whole answer when capturing.
func (tr *requestTrace) noteResponseParts(r *llm.Response) {
	if tr.out != nil && r != nil {
		tr.out.Response(r)
	}
}

// appendContent appends the request's content and, for an attempt that
// answered, the answer's, when content export is on.
func (tr *requestTrace) appendContent(kv []attribute.KeyValue, served bool) []attribute.KeyValue {
	if tr.out == nil {
		return kv
	}
	if tr.system != "" {
		kv = append(kv, tracing.SystemInstructions.String(tr.system))
	}
	if tr.input != "" {
		kv = append(kv, tracing.InputMessages.String(tr.input))
	}
	if !served {
		return kv
	}
	if tr.outDec != nil {
		tr.out.Events(tr.outDec.Close())
		tr.outDec = nil
	}
	if out := tr.out.JSON(); out != "" {
		kv = append(kv, tracing.OutputMessages.String(out))
	}
	return kv
}

// inject puts the attempt span's context on an upstream request.
func (tr *requestTrace) inject(h http.Header) {
	if tr.attCtx != nil {
		propagation.TraceContext{}.Inject(tr.attCtx, traceHeaders(h))
	}
}

// failed notes the kind of the attempt's failure (llm.UpstreamError.Kind),
// its error.type when the upstream gave no status.
func (tr *requestTrace) failed(kind string) { tr.attKind = kind }

// endAttempt ends the attempt span in progress, if any, from its log
// entry. A failure the walk moved on from is also an event of the request
// span.
func (tr *requestTrace) endAttempt(x *exchange) {
	if tr.att == nil {
		return
	}
	span := tr.att
	tr.att, tr.attCtx = nil, nil
	if tr.attN < 1 || tr.attN > len(x.attempts) {
		span.End()
		return
	}
	a := &x.attempts[tr.attN-1]
	end := tr.attStart.Add(a.Latency)
	if span.IsRecording() {
		kv := append(tr.attrs(),
			tracing.OperationName.String(tr.op),
			tracing.ProviderName.String(tr.attFamily),
			tracing.RequestModel.String(a.Model),
			tracing.ProviderKey.String(tr.attProvider),
			tracing.AttemptKey.Int(a.N),
		)
		if a.Status != 0 {
			kv = append(kv, tracing.StatusKey.Int(a.Status))
		}
		if a.Class != "" {
			kv = append(kv, tracing.ActionKey.String(a.Class))
		}
		served := a.FirstByte && a.Status < 400
		if served {
			kv = tracing.AppendUsage(kv, x.usage)
			kv = tr.appendResponse(kv)
		}
		kv = tr.appendContent(kv, served)
		if et := attemptErrorType(a, tr.attKind); et != "" {
			kv = append(kv, tracing.ErrorType.String(et))
			span.SetStatus(codes.Error, a.Error)
		}
		span.SetAttributes(kv...)
	}
	span.End(trace.WithTimestamp(end))
	switch route.Action(a.Class) {
	case route.Retry, route.Failover, route.Cooldown:
		tr.span.AddEvent(tracing.FailoverEvent, trace.WithTimestamp(end), trace.WithAttributes(
			tracing.ProviderKey.String(a.Provider), tracing.AttemptKey.Int(a.N), tracing.ActionKey.String(a.Class),
			tracing.ErrorType.String(attemptErrorType(a, tr.attKind))))
	}
}

// appendResponse appends what noteResponse read.
func (tr *requestTrace) appendResponse(kv []attribute.KeyValue) []attribute.KeyValue {
	if tr.respModel != "" {
		kv = append(kv, tracing.ResponseModel.String(tr.respModel))
	}
	if tr.respID != "" {
		kv = append(kv, tracing.ResponseID.String(tr.respID))
	}
	if tr.finish != "" {
		kv = append(kv, tracing.FinishReasons.StringSlice([]string{tr.finish}))
	}
	return kv
}

// attemptErrorType is an attempt's error.type: its upstream status, else
// its failure's kind, or "stream" for a stream broken after it started;
// "" for an attempt that answered, or that failed through nobody's fault
// (a skipped candidate, a client gone).
func attemptErrorType(a *requestlog.Attempt, kind string) string {
	switch route.Action(a.Class) {
	case route.Skip, route.Cancelled:
		return ""
	}
	if a.Error == "" && a.Status < 400 {
		return ""
	}
	if a.Status >= 400 {
		return strconv.Itoa(a.Status)
	}
	switch {
	case kind != "":
		return kind
	case a.FirstByte:
		return "stream" // broken after it started: no failure to classify
	}
	return "error"
}

// endTrace ends the request's spans from its log record.
func (x *exchange) endTrace(rec *requestlog.Record) {
	tr := x.tr
	tr.endAttempt(x)
	span := tr.span
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetName(tracing.SpanName(tr.op, rec.Model))
	kv := append(tr.attrs(),
		tracing.RequestIDKey.String(x.id),
		tracing.EndpointKey.String(x.ep.name),
		tracing.StatusKey.Int(rec.Status),
	)
	if rec.Model != "" {
		kv = append(kv, tracing.RequestModel.String(rec.Model))
	}
	if rec.Provider != "" {
		kv = append(kv, tracing.ProviderKey.String(rec.Provider))
	}
	if rec.PolicyHash != "" {
		kv = append(kv, tracing.PolicyHashKey.String(rec.PolicyHash))
	}
	if rec.Sticky != "" {
		kv = append(kv, tracing.StickyKey.String(rec.Sticky))
	}
	if rec.CostMicros != nil {
		kv = append(kv, tracing.CostKey.Int64(*rec.CostMicros))
	}
	if rec.ErrorClass != "" {
		kv = append(kv, tracing.ErrorClassKey.String(rec.ErrorClass), tracing.ErrorType.String(rec.ErrorClass))
		span.SetStatus(codes.Error, rec.ErrorMessage)
	}
	span.SetAttributes(kv...)
	span.End()
}
