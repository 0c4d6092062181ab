package crosstest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

// TestStopReasonsStayInEnum: every neutral stop reason, pause_turn and
// refusal included, becomes a value of the client protocol's own enum
// (copying an unknown reason through, or Gemini's raw "MAX_TOKENS",
// breaks the SDKs that switch on it).
func TestStopReasonsStayInEnum(t *testing.T) {
	reasons := []llm.StopReason{llm.StopEnd, llm.StopLength, llm.StopToolUse, llm.StopSequence,
		llm.StopContentFilter, llm.StopRefusal, llm.StopPause, llm.StopContextWindow, llm.StopError}
	valid := map[llm.Protocol]struct {
		field string
		enum  []string
	}{
		llm.ProtocolOpenAI:    {"finish_reason", []string{"stop", "length", "tool_calls", "content_filter", "function_call"}},
		llm.ProtocolAnthropic: {"stop_reason", []string{"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"}},
		llm.ProtocolResponses: {"status", []string{"completed", "incomplete", "failed", "in_progress"}},
		llm.ProtocolGemini:    {"finishReason", []string{"STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL"}},
	}
	for _, to := range codecs {
		for _, r := range reasons {
			resp := &llm.Response{ID: "r1", Model: "m", Created: 1700000000, StopReason: r,
				Parts: []llm.Part{{Kind: llm.PartText, Text: "partial answer"}}}
			body, err := to.encodeResponse(resp, clientRequest())
			if err != nil {
				t.Errorf("%s: encode stop %q: %v", to.proto, r, err)
				continue
			}
			v := valid[to.proto]
			got := findString(body, v.field)
			if !slices.Contains(v.enum, got) {
				t.Errorf("%s: stop %q became %s %q, not in %v", to.proto, r, v.field, got, v.enum)
			}
		}
	}
}

// findString returns the first string value of key anywhere in a JSON
// document (depth first, objects and arrays).
func findString(body []byte, key string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var walk func(any) (string, bool)
	walk = func(v any) (string, bool) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x[key].(string); ok {
				return s, true
			}
			for _, c := range x {
				if s, ok := walk(c); ok {
					return s, true
				}
			}
		case []any:
			for _, c := range x {
				if s, ok := walk(c); ok {
					return s, true
				}
			}
		}
		return "", false
	}
	s, _ := walk(v)
	return s
}
