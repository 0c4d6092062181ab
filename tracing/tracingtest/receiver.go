// Package tracingtest is test support for traces: an in-process OTLP/HTTP
// receiver that keeps the spans it is sent, and a tracer provider that
// exports to it. Tests import it; the binary does not.
package tracingtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Receiver is an OTLP/HTTP trace receiver on 127.0.0.1: it accepts POST
// /v1/traces in protobuf, the exporter's default encoding, and keeps
// every span with its resource.
type Receiver struct {
	// URL is the receiver's base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string
	t   testing.TB

	mu sync.Mutex
	// guards the following
	spans     []*tracepb.Span
	resources []map[string]string // the resource attributes of each span
	bad       []string            // what it refused
	header    http.Header         // the last export's request headers
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		r.refuse(w, req.Method+" "+req.URL.Path+" "+req.Header.Get("Content-Type"))
		return
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		r.refuse(w, "read: "+err.Error())
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &msg); err != nil {
		r.refuse(w, "decode: "+err.Error())
		return
	}
	r.mu.Lock()
	r.header = req.Header.Clone()
	for _, rs := range msg.ResourceSpans {
		res := Attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, s)
				r.resources = append(r.resources, res)
			}
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) refuse(w http.ResponseWriter, why string) {
	r.mu.Lock()
	r.bad = append(r.bad, why)
	r.mu.Unlock()
	http.Error(w, "bad export", http.StatusBadRequest)
}

// Spans returns the spans received so far, in arrival order, and fails
// the test if the receiver refused an export.
func (r *Receiver) Spans() []*tracepb.Span {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Errorf("the OTLP receiver refused exports: %q", r.bad)
	}
	return append([]*tracepb.Span(nil), r.spans...)
}

// Resource returns the resource attributes the i-th span came with.
func (r *Receiver) Resource(i int) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resources[i]
}

// Header returns the request headers of the last export received.
func (r *Receiver) Header() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.header
}

// Reset forgets the spans received so far.
func (r *Receiver) Reset() {
	r.mu.Lock()
	r.spans, r.resources = nil, nil
	r.mu.Unlock()
}

// Provider is an SDK tracer provider sampling every span and exporting to
// the receiver in batches: its Flush sends what it holds.
type Provider struct {
	*sdktrace.TracerProvider
	t testing.TB
}

// NewProvider returns a tracer provider exporting to r, shut down when
// the test ends.
func (r *Receiver) NewProvider() *Provider {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(r.URL+"/v1/traces"))
	if err != nil {
		r.t.Fatalf("otlptracehttp.New: %v", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	r.t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &Provider{TracerProvider: tp, t: r.t}
}

// Flush exports the spans that have ended.
func (p *Provider) Flush() {
	p.t.Helper()
	if err := p.ForceFlush(context.Background()); err != nil {
		p.t.Fatalf("ForceFlush: %v", err)
	}
}

// Attributes flattens OTLP attributes into strings (ints in decimal,
// arrays as their values joined with ","), for comparisons.
func Attributes(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = value(kv.Value)
	}
	return m
}

func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	case *commonpb.AnyValue_ArrayValue:
		s := ""
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				s += ","
			}
			s += value(e)
		}
		return s
	}
	return v.String()
}
