package main

import (
	"context"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/tracing/tracingtest"
)

// TestStartExportsTraces: with an OTLP endpoint in the environment (auto
// mode), `llmgw start` exports a span per request and per attempt, and
// flushes them when it stops (the batcher would otherwise hold them for
// seconds). With --otel off the same environment exports nothing.
func TestStartExportsTraces(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	// The SDK reads its variables from the process environment; the
	// command reads the mode's from its own.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL}

	g := startGateway(t, env, "--policy", examplePolicy(t))
	resp, b := postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	var names []string
	for _, s := range recv.Spans() {
		names = append(names, s.Name)
	}
	if len(names) != 2 || names[0] != "chat gpt-4o-mini" || names[1] != "chat gpt-4o-mini" {
		t.Fatalf("spans after stop = %q, want the attempt's and the request's", names)
	}
	if got := recv.Resource(0)["service.name"]; got != "llmgw" {
		t.Errorf("service.name = %q, want llmgw", got)
	}
	for _, s := range recv.Spans() {
		if at := tracingtest.Attributes(s.Attributes); at["gen_ai.input.messages"] != "" || at["gen_ai.output.messages"] != "" {
			t.Errorf("span %q carries content without --otel-content: %v", s.Name, at)
		}
	}

	// --otel-endpoint alone (no variable in the command's environment)
	// names the collector.
	recv.Reset()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	g = startGateway(t, map[string]string{}, "--policy", examplePolicy(t), "--otel-endpoint", recv.URL)
	postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
	if err := g.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := len(recv.Spans()); n != 2 {
		t.Errorf("--otel-endpoint: the collector got %d spans, want 2", n)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)

	// The GenAI instrumentations' variable turns content on; the flag
	// wins over it.
	for _, tt := range []struct {
		flag string
		want bool
	}{{"", true}, {"false", false}} {
		recv.Reset()
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
		args := []string{"--policy", examplePolicy(t)}
		if tt.flag != "" {
			args = append(args, "--otel-content", tt.flag)
		}
		g = startGateway(t, env, args...)
		postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
		if err := g.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		var input, output string
		for _, s := range recv.Spans() {
			at := tracingtest.Attributes(s.Attributes)
			input, output = input+at["gen_ai.input.messages"], output+at["gen_ai.output.messages"]
		}
		if got := strings.Contains(input, `"content":"Hello!"`) && strings.Contains(output, `"role":"assistant"`); got != tt.want {
			t.Errorf("--otel-content %q with the variable set: content exported %v, want %v (input %s, output %s)", tt.flag, got, tt.want, input, output)
		}
	}

	recv.Reset()
	g = startGateway(t, env, "--policy", examplePolicy(t), "--otel", "off")
	postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
	if err := g.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := len(recv.Spans()); n != 0 {
		t.Errorf("--otel off exported %d spans", n)
	}
}

func TestStartRefusesUnknownOtelMode(t *testing.T) {
	for _, flag := range []string{"--otel", "--otel-content"} {
		err := run(context.Background(), []string{"start", flag, "sometimes", "--policy", examplePolicy(t), "--db", t.TempDir() + "/x.db"},
			func(string) string { return "" }, strings.NewReader(""), &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), flag+":") {
			t.Errorf("start %s sometimes = %v, want an error naming %s", flag, err, flag)
		}
	}
}
