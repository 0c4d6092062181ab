package openai

import (
	"bytes"

	"github.com/llmgw/llmgw/llm"
)

// ReplaysCarriedReasoning reports whether a chat completions body replays
// tool call ids that carry another provider's reasoning (llm.CarryInID):
// OpenAI refuses ids that long, so a conversation that an earlier turn
// served from Claude or Gemini is re-encoded, which restores the ids the
// calls were issued with, instead of forwarded as it is.
func ReplaysCarriedReasoning(body []byte) bool {
	return bytes.Contains(body, []byte("~"+llm.CarryPrefix))
}
