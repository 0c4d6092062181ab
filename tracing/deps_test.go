package tracing_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks the import direction: tracing imports llm and the
// OpenTelemetry modules, never the gateway or anything above llm; and the
// gateway's own code uses OpenTelemetry's API only (spans, attributes, the
// propagator): the SDK and its exporter are this package's business.
func TestDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	list := func(args ...string) []string {
		out, err := exec.Command(gobin, append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %q: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	for _, dep := range list("-deps", ".") {
		if strings.HasPrefix(dep, "github.com/llmgw/llmgw/") && dep != "github.com/llmgw/llmgw/tracing" && dep != "github.com/llmgw/llmgw/llm" {
			t.Errorf("tracing imports %s, want only llm of llmgw's packages", dep)
		}
	}
	imports := list("-f", `{{join .Imports " "}}`, "github.com/llmgw/llmgw/gateway")
	if len(imports) == 0 {
		t.Fatal("go list found no imports of the gateway: the check is broken")
	}
	for _, dep := range imports {
		if strings.HasPrefix(dep, "go.opentelemetry.io/") && !strings.HasPrefix(dep, "go.opentelemetry.io/otel/trace") &&
			dep != "go.opentelemetry.io/otel/attribute" && dep != "go.opentelemetry.io/otel/codes" && dep != "go.opentelemetry.io/otel/propagation" {
			t.Errorf("gateway imports %s, want OpenTelemetry's API only", dep)
		}
	}
}
