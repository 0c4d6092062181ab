package gateway

import (
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func TestUpstreamURL(t *testing.T) {
	tests := []struct {
		up     llm.Protocol
		op     operation
		model  string
		stream bool
		want   string
	}{
		{llm.ProtocolOpenAI, opGenerate, "gpt-4o", false, "B/chat/completions"},
		{llm.ProtocolOpenAI, opEmbed, "e", false, "B/embeddings"},
		{llm.ProtocolResponses, opGenerate, "gpt-5", true, "B/responses"},
		{llm.ProtocolAnthropic, opGenerate, "claude", true, "B/v1/messages"},
		{llm.ProtocolAnthropic, opCountTokens, "claude", false, "B/v1/messages/count_tokens"},
		{llm.ProtocolGemini, opGenerate, "models/gemini-2.5-flash", true, "B/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{llm.ProtocolGemini, opGenerate, "gemini-2.5-flash", false, "B/v1beta/models/gemini-2.5-flash:generateContent"},
		{llm.ProtocolGemini, opCountTokens, "g", false, "B/v1beta/models/g:countTokens"},
		{llm.ProtocolGemini, opEmbed, "g", false, "B/v1beta/models/g:embedContent"},
		{llm.ProtocolGemini, opBatchEmbed, "g", false, "B/v1beta/models/g:batchEmbedContents"},
		// A slash in a body's model name stays inside its path segment.
		{llm.ProtocolGemini, opGenerate, "google/gemini-2.5-flash", false, "B/v1beta/models/google%2Fgemini-2.5-flash:generateContent"},
	}
	for _, tt := range tests {
		if got := builtinAdapters()[tt.up].URL("B", tt.op, tt.model, tt.stream); got != tt.want {
			t.Errorf("upstreamURL(%s, %d, %q, %v) = %q, want %q", tt.up, tt.op, tt.model, tt.stream, got, tt.want)
		}
	}
}
