package llm

// Usage is token accounting in one convention, whatever the wire said:
//
//   - InputTokens excludes cache reads and cache writes (Anthropic's
//     convention; OpenAI's prompt_tokens and Gemini's promptTokenCount
//     include cached tokens and are reduced accordingly).
//   - OutputTokens includes reasoning tokens (Gemini's candidatesTokenCount
//     excludes thoughts and is increased accordingly).
//
// So the billable total is InputTokens + CacheReadTokens +
// CacheWriteTokens + OutputTokens.
type Usage struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// CacheWrite5mTokens and CacheWrite1hTokens split CacheWriteTokens by
	// TTL where the provider reports it (Anthropic cache_creation).
	CacheWrite5mTokens int64 `json:"cache_write_5m_tokens,omitempty"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	// ReasoningTokens is the part of OutputTokens spent thinking.
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// PromptTokens is the input including cache reads and writes (OpenAI's
// prompt_tokens, Gemini's promptTokenCount).
func (u Usage) PromptTokens() int64 {
	return u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens
}

// TotalTokens is every token counted.
func (u Usage) TotalTokens() int64 { return u.PromptTokens() + u.OutputTokens }

// IsZero reports whether nothing was counted.
func (u Usage) IsZero() bool { return u == Usage{} }
