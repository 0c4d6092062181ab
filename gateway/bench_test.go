package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/providers/providertest"
)

// benchGateway serves a one-provider policy in front of up, with the
// handler called directly (no client socket), so that the figures are the
// gateway's own cost plus one loopback round trip upstream.
func benchGateway(b *testing.B, kind, upURL string) *Server {
	b.Helper()
	dir := b.TempDir()
	src := providerDecl("p", kind, upURL, "") + "def route(req, ctx):\n    return [p]\n"
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	return New(Config{Policies: eng, Log: &memRecorder{}})
}

// BenchmarkPassThroughChat is a same-protocol, non-streaming chat request
// through the whole pipeline; BenchmarkUpstreamDirect is the same request
// sent straight to the fake upstream, the baseline to compare it with.
func BenchmarkPassThroughChat(b *testing.B) {
	up := providertest.New(b, providertest.FixtureReply(b, "openai_cassette_chat-tools.response.200.json"))
	gw := benchGateway(b, "openai", up.URL)
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, how are you?"}]}`
	benchRequests(b, gw, "/v1/chat/completions", body, "Content-Type", "application/json")
}

// benchRequests posts body to path through gw's handler in the benchmark
// loop, with the given header name-value pairs, and fails on any status
// but 200.
func benchRequests(b *testing.B, gw http.Handler, path, body string, header ...string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkPassThroughStream(b *testing.B) {
	up := providertest.New(b, providertest.FixtureReply(b, "openai_chat_stream_text_with_usage.sse"))
	gw := benchGateway(b, "openai", up.URL)
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	benchRequests(b, gw, "/v1/chat/completions", body)
}

func BenchmarkConvertAnthropicToOpenAIStream(b *testing.B) {
	up := providertest.New(b, providertest.FixtureReply(b, "openai_chat_stream_text_with_usage.sse"))
	gw := benchGateway(b, "openai", up.URL)
	body := `{"model":"gpt-4o","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	benchRequests(b, gw, "/v1/messages", body)
}

func BenchmarkUpstreamDirect(b *testing.B) {
	up := providertest.New(b, providertest.FixtureReply(b, "openai_cassette_chat-tools.response.200.json"))
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, how are you?"}]}`
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(up.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkPassThroughAgentBody is an Anthropic request of
// providertest.AgentBody's size through the whole pipeline to an Anthropic upstream.
// The upstream discards the body as it reads it, so that the figures are
// the gateway's.
func BenchmarkPassThroughAgentBody(b *testing.B) {
	reply := providertest.Fixture(b, "anthropic_nonstream_tool_use_response.json")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}))
	b.Cleanup(up.Close)
	gw := benchGateway(b, "anthropic", up.URL)
	body := providertest.AgentBody(false)
	b.SetBytes(int64(len(body)))
	benchRequests(b, gw, "/v1/messages", body, "anthropic-version", "2023-06-01")
}
