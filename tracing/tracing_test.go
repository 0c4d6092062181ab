package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/tracing"
	"github.com/llmgw/llmgw/tracing/tracingtest"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    tracing.Mode
		wantErr bool
	}{
		{"off", tracing.Off, false},
		{"ON", tracing.On, false},
		{" auto ", tracing.Auto, false},
		{"", tracing.Auto, false},
		{"yes", "", true},
	}
	for _, tt := range tests {
		got, err := tracing.ParseMode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseMode(%q) = %q, %v, want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestModeEnabled(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name   string
		mode   tracing.Mode
		getenv func(string) string
		want   bool
	}{
		{"off ignores an endpoint", tracing.Off, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), false},
		{"on without an endpoint", tracing.On, env(), true},
		{"auto without an endpoint", tracing.Auto, env(), false},
		{"auto with an endpoint", tracing.Auto, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), true},
		{"auto with a traces endpoint", tracing.Auto, env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces"), true},
		{"sdk disabled beats on", tracing.On, env("OTEL_SDK_DISABLED", "true"), false},
		{"sdk disabled beats auto", tracing.Auto, env("OTEL_SDK_DISABLED", "true", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), false},
	}
	for _, tt := range tests {
		if got := tt.mode.Enabled(tt.getenv); got != tt.want {
			t.Errorf("%s: %q.Enabled = %v, want %v", tt.name, tt.mode, got, tt.want)
		}
	}
}

func TestStartOffIsNil(t *testing.T) {
	p, err := tracing.Start(context.Background(), tracing.Config{Mode: tracing.Off})
	if err != nil || p != nil {
		t.Fatalf("Start(off) = %v, %v, want nil, nil", p, err)
	}
	if tp := p.TracerProvider(); tp != nil {
		t.Errorf("off TracerProvider() = %v, want nil", tp)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("off Shutdown() = %v", err)
	}
}

// TestStartReadsOpenTelemetryVariables checks that the pipeline follows
// OpenTelemetry's own variables (endpoint, headers, service name,
// sampler) and that Shutdown flushes what is buffered.
func TestStartReadsOpenTelemetryVariables(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme")
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	getenv := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return recv.URL
		}
		return ""
	}
	p, err := tracing.Start(context.Background(), tracing.Config{Getenv: getenv, ServiceVersion: "v9"})
	if err != nil || p == nil {
		t.Fatalf("Start(auto, endpoint set) = %v, %v", p, err)
	}
	_, span := p.TracerProvider().Tracer("test").Start(context.Background(), "chat gpt-4o")
	span.End()
	if n := len(recv.Spans()); n != 0 {
		t.Fatalf("%d spans exported before Shutdown: the batcher should hold them", n)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	spans := recv.Spans()
	if len(spans) != 1 || spans[0].Name != "chat gpt-4o" {
		t.Fatalf("after Shutdown the receiver has %v, want the one span", spans)
	}
	res := recv.Resource(0)
	if res["service.name"] != "llmgw" || res["service.version"] != "v9" {
		t.Errorf("resource = %v, want service.name llmgw, service.version v9", res)
	}
	if got := recv.Header().Get("X-Tenant"); got != "acme" {
		t.Errorf("export header x-tenant = %q, want acme (OTEL_EXPORTER_OTLP_HEADERS)", got)
	}

	// The service name and the sampler come from their variables.
	recv.Reset()
	t.Setenv("OTEL_SERVICE_NAME", "edge-gw")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	p, err = tracing.Start(context.Background(), tracing.Config{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	_, span = p.TracerProvider().Tracer("test").Start(context.Background(), "dropped")
	span.End()
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	p2, err := tracing.Start(context.Background(), tracing.Config{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	_, span = p2.TracerProvider().Tracer("test").Start(context.Background(), "kept")
	span.End()
	_ = p.Shutdown(context.Background())
	_ = p2.Shutdown(context.Background())
	spans = recv.Spans()
	if len(spans) != 1 || spans[0].Name != "kept" {
		t.Fatalf("spans = %v, want only the always_on one", spans)
	}
	if got := recv.Resource(0)["service.name"]; got != "edge-gw" {
		t.Errorf("service.name = %q, want OTEL_SERVICE_NAME's edge-gw", got)
	}
}

func TestVocabulary(t *testing.T) {
	for kind, want := range map[string]string{"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "demo": "llmgw.demo", "mistral": "mistral"} {
		if got := tracing.ProviderNameOf(kind); got != want {
			t.Errorf("ProviderNameOf(%q) = %q, want %q", kind, got, want)
		}
	}
	ops := []struct {
		op    llm.Operation
		proto llm.Protocol
		want  string
	}{
		{llm.OpGenerate, llm.ProtocolOpenAI, "chat"},
		{llm.OpGenerate, llm.ProtocolAnthropic, "chat"},
		{llm.OpGenerate, llm.ProtocolGemini, "generate_content"},
		{llm.OpEmbed, llm.ProtocolOpenAI, "embeddings"},
		{llm.OpBatchEmbed, llm.ProtocolGemini, "embeddings"},
		{llm.OpCountTokens, llm.ProtocolAnthropic, "count_tokens"},
	}
	for _, tt := range ops {
		if got := tracing.OperationOf(tt.op, tt.proto); got != tt.want {
			t.Errorf("OperationOf(%v, %s) = %q, want %q", tt.op, tt.proto, got, tt.want)
		}
	}
	if got := tracing.SpanName("chat", "gpt-4o"); got != "chat gpt-4o" {
		t.Errorf("SpanName = %q", got)
	}
	kv := tracing.AppendUsage(nil, llm.Usage{InputTokens: 10, CacheReadTokens: 5, CacheWriteTokens: 2, OutputTokens: 7, ReasoningTokens: 3})
	got := map[string]int64{}
	for _, a := range kv {
		got[string(a.Key)] = a.Value.AsInt64()
	}
	want := map[string]int64{"gen_ai.usage.input_tokens": 17, "gen_ai.usage.output_tokens": 7,
		"gen_ai.usage.cache_read.input_tokens": 5, "gen_ai.usage.cache_creation.input_tokens": 2, "gen_ai.usage.reasoning.output_tokens": 3}
	if len(got) != len(want) {
		t.Errorf("AppendUsage = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("AppendUsage: %s = %d, want %d", k, got[k], v)
		}
	}
}

func TestStartRefusesGRPC(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		getenv := func(name string) string {
			if name == k {
				return "grpc"
			}
			return ""
		}
		p, err := tracing.Start(context.Background(), tracing.Config{Mode: tracing.On, Getenv: getenv})
		if err == nil || p != nil || !strings.Contains(err.Error(), "HTTP only") {
			t.Errorf("Start with %s=grpc = %v, %v, want an error saying HTTP only", k, p, err)
		}
	}
	// The traces-only variable wins over the general one.
	getenv := func(name string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}[name]
	}
	p, err := tracing.Start(context.Background(), tracing.Config{Mode: tracing.On, Getenv: getenv})
	if err != nil {
		t.Fatalf("Start with traces protocol http/protobuf = %v", err)
	}
	_ = p.Shutdown(context.Background())
}

// TestStartEndpoint: Config.Endpoint (--otel-endpoint) is the collector's
// base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is: it turns auto on and the
// spans go to /v1/traces under it; --otel off still wins; a URL that is no
// collector's is refused at start.
func TestStartEndpoint(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	for _, base := range []string{recv.URL, recv.URL + "/"} {
		recv.Reset()
		p, err := tracing.Start(context.Background(), tracing.Config{Endpoint: base})
		if err != nil || p == nil {
			t.Fatalf("Start(endpoint %s) = %v, %v, want a pipeline", base, p, err)
		}
		_, span := p.TracerProvider().Tracer("test").Start(context.Background(), "chat gpt-4o")
		span.End()
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(recv.Spans()); n != 1 {
			t.Errorf("endpoint %s: the receiver got %d spans, want 1", base, n)
		}
	}
	if p, err := tracing.Start(context.Background(), tracing.Config{Mode: tracing.Off, Endpoint: recv.URL}); p != nil || err != nil {
		t.Errorf("Start(off, endpoint) = %v, %v, want off", p, err)
	}
	for _, bad := range []string{"otel-collector:4318", "ftp://c:21", "http://"} {
		if p, err := tracing.Start(context.Background(), tracing.Config{Endpoint: bad}); p != nil || err == nil || !strings.Contains(err.Error(), "collector endpoint") {
			t.Errorf("Start(endpoint %q) = %v, %v, want an error", bad, p, err)
		}
	}
}
