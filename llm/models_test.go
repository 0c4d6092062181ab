package llm

import "testing"

func TestOpenAIReasoningModel(t *testing.T) {
	for model, want := range map[string]bool{
		"o1": true, "o1-mini": true, "o3-mini-2025-01-31": true, "o4-mini": true,
		"gpt-5": true, "gpt-5-mini": true, "gpt-5.1": true, "gpt-5.4-pro": true, "GPT-6": true, "openai/gpt-5": true,
		"gpt-4o": false, "gpt-4.1-mini": false, "gpt-3.5-turbo": false, "o10x": false, "omni-moderation": false,
		"claude-sonnet-4-5": false, "gemini-2.5-pro": false, "": false, "gpt-": false,
	} {
		if got := OpenAIReasoningModel(model); got != want {
			t.Errorf("OpenAIReasoningModel(%q) = %v, want %v", model, got, want)
		}
	}
}
