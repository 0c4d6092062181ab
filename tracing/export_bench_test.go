package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/tracing"
)

// BenchmarkOTLPExport is the official OTLP exporter's own share of a
// traced request, without the request and without the SDK's recording:
// what its ExportSpans costs for the two spans a served request ends with
// (the request span and its attempt span, with the attributes the gateway
// gives them), exported in batches of 256 requests as the batcher hands
// them over. transform stops after the exporter's conversion to OTLP's
// protobuf messages; marshal also encodes them, as the HTTP client does
// before sending; http is otlptracehttp's whole export to a loopback
// collector that discards the body. It reports ns/req, the time per
// request's spans: the floor under any figure for tracing with this
// exporter, whatever the gateway does.
func BenchmarkOTLPExport(b *testing.B) {
	const perBatch = 256
	spans := servedRequestSpans(perBatch)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	for _, tt := range []struct {
		name   string
		client func() otlptrace.Client // a new one per run: Shutdown stops it
	}{
		{"transform", func() otlptrace.Client { return uploadFunc(func([]*tracepb.ResourceSpans) error { return nil }) }},
		{"marshal", func() otlptrace.Client {
			return uploadFunc(func(rs []*tracepb.ResourceSpans) error {
				_, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
				return err
			})
		}},
		{"http", func() otlptrace.Client {
			return otlptracehttp.NewClient(otlptracehttp.WithEndpointURL(sink.URL + "/v1/traces"))
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			exp, err := otlptrace.New(context.Background(), tt.client())
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = exp.Shutdown(context.Background()) }()
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.ExportSpans(context.Background(), spans); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/req")
		})
	}
}

// uploadFunc is an otlptrace.Client that hands each batch to a function
// instead of sending it.
type uploadFunc func([]*tracepb.ResourceSpans) error

func (uploadFunc) Start(context.Context) error { return nil }
func (uploadFunc) Stop(context.Context) error  { return nil }
func (f uploadFunc) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	return f(rs)
}

// servedRequestSpans records the spans of n served chat requests as the
// gateway ends them: a server span with llmgw's attributes and a client
// span with the GenAI conventions' (usage with reasoning tokens, the
// answer's model, id and finish reason).
func servedRequestSpans(n int) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer("bench")
	for range n {
		ctx, req := tr.Start(context.Background(), "chat", trace.WithSpanKind(trace.SpanKindServer))
		_, att := tr.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient))
		kv := []attribute.KeyValue{
			tracing.OperationName.String("chat"), tracing.ProviderName.String("openai"),
			tracing.RequestModel.String("gpt-4o"), tracing.ProviderKey.String("a"),
			tracing.AttemptKey.Int(1), tracing.StatusKey.Int(200),
		}
		kv = tracing.AppendUsage(kv, llm.Usage{InputTokens: 162, OutputTokens: 287, ReasoningTokens: 256})
		kv = append(kv, tracing.ResponseModel.String("gpt-4o-2024-08-06"), tracing.ResponseID.String("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"),
			tracing.FinishReasons.StringSlice([]string{"tool_calls"}))
		att.SetAttributes(kv...)
		att.End()
		req.SetName("chat gpt-4o")
		req.SetAttributes(tracing.RequestIDKey.String("req_0123456789abcdef01234567"), tracing.EndpointKey.String("chat"),
			tracing.StatusKey.Int(200), tracing.RequestModel.String("gpt-4o"), tracing.ProviderKey.String("a"),
			tracing.PolicyHashKey.String("0123456789ab"), tracing.CostKey.Int64(1234))
		req.End()
	}
	return rec.Ended()
}
