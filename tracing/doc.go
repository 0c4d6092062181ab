// Package tracing exports llmgw's traces over OTLP/HTTP, described with
// OpenTelemetry's GenAI semantic conventions.
//
// Start builds the trace pipeline (the OpenTelemetry SDK's tracer
// provider, a batching span processor and the OTLP/HTTP exporter) from
// OpenTelemetry's own environment variables, which the SDK and the
// exporter read themselves: OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_EXPORTER_OTLP_PROTOCOL's http/protobuf default, OTEL_TRACES_SAMPLER
// and its argument, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The
// package only decides whether to export at all (Mode), where to when
// the command line names the collector (Config.Endpoint), and names the
// service "llmgw" when OTEL_SERVICE_NAME does not.
//
// When tracing is off Start returns a nil *Provider, whose TracerProvider
// is nil: the gateway then skips tracing altogether, so that it costs
// nothing.
//
// genai.go holds the vocabulary of the spans: the GenAI attribute keys and
// their well-known values, which the gateway sets. content.go turns
// prompts and completions into the conventions' message schema, for the
// spans of a gateway whose operator asked for content (ContentEnabled):
// never by default. The package imports
// only the OpenTelemetry modules and llm; nothing of the gateway.
package tracing
