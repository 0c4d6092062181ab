package tracing

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Mode says whether traces are exported.
type Mode string

// The modes.
const (
	// Off never exports traces, whatever the environment says.
	Off Mode = "off"
	// On exports traces: to OTEL_EXPORTER_OTLP_ENDPOINT (or the
	// traces-only OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) when set, else to
	// the exporter's default, http://localhost:4318.
	On Mode = "on"
	// Auto exports traces when an OTLP endpoint variable is set, so that
	// an environment configured for OpenTelemetry is enough. It is
	// llmgw's default: without those variables it is Off.
	Auto Mode = "auto"
)

// ParseMode parses a Mode as written on the command line.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Off, On, Auto:
		return m, nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("tracing: unknown mode %q (want off, on or auto)", s)
}

// Enabled reports whether m exports traces in the environment getenv
// reads. OTEL_SDK_DISABLED=true turns every mode off, as the
// OpenTelemetry specification asks of SDKs.
func (m Mode) Enabled(getenv func(string) string) bool {
	if disabled, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); disabled {
		return false
	}
	switch m {
	case On:
		return true
	case Auto:
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	}
	return false
}

// Config configures Start. The zero value is Auto mode, with the process
// environment read through os.Getenv by the SDK.
type Config struct {
	// Mode says whether to export; "" means Auto.
	Mode Mode
	// Getenv reads the variables Mode.Enabled looks at. Nil means the
	// process environment is not consulted and Auto is Off. The SDK and
	// the exporter read their own variables from the process
	// environment.
	Getenv func(string) string
	// ServiceVersion is the service.version resource attribute; "" leaves
	// it out.
	ServiceVersion string
	// Endpoint is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
	// gives it (spans go to /v1/traces under it), over the variables; it
	// turns Auto on. "" leaves the endpoint to the variables.
	Endpoint string
}

// Provider is a running trace pipeline. Its zero value and a nil
// *Provider are off.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Start builds the trace pipeline cfg asks for. It returns a nil
// *Provider and no error when tracing is off. Nothing is sent before the
// first span ends; an unreachable collector is reported by the SDK's
// error handler, never to the requests being traced.
func Start(ctx context.Context, cfg Config) (*Provider, error) {
	mode := cfg.Mode
	if mode == "" {
		mode = Auto
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		u, err := tracesURL(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u))
		if mode == Auto {
			mode = On
		}
	}
	if !mode.Enabled(getenv) {
		return nil, nil
	}
	// The exporter reads the protocol itself (http/protobuf, its default,
	// or http/json); OTLP over gRPC would need another exporter, so it is
	// refused rather than sent over HTTP to a gRPC port.
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto == "grpc" {
		return nil, fmt.Errorf("tracing: OTLP protocol %q: llmgw exports over HTTP only (http/protobuf or http/json; the collector's HTTP port is usually 4318)", proto)
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", "llmgw")}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override llmgw's own name.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler is the SDK's default (parent-based, always on) unless
	// OTEL_TRACES_SAMPLER says otherwise; the SDK reads it itself.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{tp: tp}, nil
}

// tracesURL is the traces URL of a collector's base URL: /v1/traces
// under its path, as the exporter treats OTEL_EXPORTER_OTLP_ENDPOINT.
func tracesURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tracing: collector endpoint %q: want an http:// or https:// URL such as http://otel-collector:4318", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	return u.String(), nil
}

// TracerProvider is the provider to create spans with, nil when p is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp
}

// Shutdown exports the spans still buffered and stops the pipeline; ctx
// bounds the wait. Call it after the server stopped serving. It is a
// no-op when p is off.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.tp == nil {
		return nil
	}
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}
