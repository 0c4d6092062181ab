package openai

import (
	"encoding/json"
	"testing"

	recorded "github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/sse"
)

// usageOnlyOracle is isUsageOnlyChunk by decoding: an object whose
// "usage" is an object and whose "choices" is absent, null or empty.
func usageOnlyOracle(data []byte) bool {
	var c map[string]json.RawMessage
	if json.Unmarshal(data, &c) != nil {
		return false
	}
	var usage map[string]any
	if json.Unmarshal(c["usage"], &usage) != nil || usage == nil {
		return false
	}
	var choices []any
	return c["choices"] == nil || json.Unmarshal(c["choices"], &choices) == nil && len(choices) == 0
}

// TestUsageChunkHiddenInAnyLayout: the usage chunk llmgw asked for on a
// client's behalf is dropped however the upstream lays its JSON out
// (a Python server writes "choices": [], "usage": {...}), and no other
// chunk is.
func TestUsageChunkHiddenInAnyLayout(t *testing.T) {
	chunk := []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":3,"total_tokens":23}}`)
	text := []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\"choices\":[],\"usage\":{}"}}],"usage":null}`)
	for _, l := range recorded.Layouts {
		if _, _, send := (Adapter{}).RelayEvent(sse.Event{Data: recorded.Relayout(chunk, l)}, true); send {
			t.Errorf("%s layout: the usage-only chunk reached a client that did not ask for it", l)
		}
		if _, _, send := (Adapter{}).RelayEvent(sse.Event{Data: recorded.Relayout(text, l)}, true); !send {
			t.Errorf("%s layout: a content chunk was dropped", l)
		}
	}
}

// FuzzIsUsageOnlyChunk checks isUsageOnlyChunk against decoding, in every
// layout of the input.
func FuzzIsUsageOnlyChunk(f *testing.F) {
	f.Add(`{"choices":[],"usage":{"prompt_tokens":1}}`)
	f.Add(`{"choices": [ ], "usage": {}}`)
	f.Add(`{"choices":[{"index":0}],"usage":{"a":1}}`)
	f.Add(`{"usage":null,"choices":[]}`)
	f.Add(`{"x":"\"usage\":{","choices":null,"usage":{"b":[]}}`)
	f.Fuzz(func(t *testing.T, data string) {
		want := usageOnlyOracle([]byte(data))
		if json.Valid([]byte(data)) {
			for _, l := range recorded.Layouts {
				b := recorded.Relayout([]byte(data), l)
				if got := isUsageOnlyChunk(b); got != want {
					t.Fatalf("isUsageOnlyChunk(%q) = %v, decoding says %v", b, got, want)
				}
			}
			return
		}
		if isUsageOnlyChunk([]byte(data)) {
			t.Fatalf("isUsageOnlyChunk(%q) = true for invalid JSON", data)
		}
	})
}
