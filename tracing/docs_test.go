package tracing_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sdkVariables are the variables the OpenTelemetry SDK and its OTLP/HTTP
// exporter read themselves in the pipeline Start builds (each exporter
// variable also has an OTEL_EXPORTER_OTLP_TRACES_ form, which the docs
// name as such).
var sdkVariables = []string{
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_INSECURE",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
	"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
	"OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
}

// TestOperationsDocumentsVariables: docs/operations.md names every OTEL_
// variable this package reads and every one the SDK and the exporter read
// for it, so that an operator finds each setting in one place.
func TestOperationsDocumentsVariables(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(OTEL_[A-Z_]+)"`).FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if !names["OTEL_EXPORTER_OTLP_ENDPOINT"] || !names["OTEL_SDK_DISABLED"] {
		t.Fatalf("found %v in the package's sources: the scan is broken", names)
	}
	for _, n := range sdkVariables {
		names[n] = true
	}
	for n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/operations.md does not name %s", n)
		}
	}
}
