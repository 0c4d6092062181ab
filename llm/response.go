package llm

// StopReason is why generation stopped, in neutral terms. Converters map
// each wire's reasons onto these and back, so that a client only ever sees
// values of its own protocol's enum.
type StopReason string

// Stop reasons.
const (
	StopEnd           StopReason = "end"            // natural end (OpenAI stop, Anthropic end_turn, Gemini STOP)
	StopLength        StopReason = "length"         // output token cap
	StopSequence      StopReason = "stop_sequence"  // a stop sequence matched (Response.StopSequence says which)
	StopToolUse       StopReason = "tool_use"       // the model called tools; forced whenever a tool call is present
	StopContentFilter StopReason = "content_filter" // safety / content filtering
	StopRefusal       StopReason = "refusal"        // the model refused
	StopPause         StopReason = "pause"          // Anthropic pause_turn
	StopContextWindow StopReason = "context_window" // Anthropic model_context_window_exceeded
	StopError         StopReason = "error"          // the upstream reported a malformed result (Gemini MALFORMED_FUNCTION_CALL)
)

// Response is a complete (non-streaming) generation result.
type Response struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	// Parts is the assistant output in order: thinking, text, refusal and
	// tool call parts.
	Parts        []Part     `json:"parts"`
	StopReason   StopReason `json:"stop_reason"`
	StopSequence string     `json:"stop_sequence,omitempty"`
	Usage        Usage      `json:"usage"`
	// Created is the creation time in Unix seconds, 0 when unknown.
	Created int64 `json:"created,omitempty"`
}

// HasToolCalls reports whether the response contains a tool call.
func (r *Response) HasToolCalls() bool {
	for _, p := range r.Parts {
		if p.Kind == PartToolCall {
			return true
		}
	}
	return false
}
