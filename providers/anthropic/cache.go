package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
)

// maxBreakpoints is how many cache_control breakpoints the Messages API
// accepts in one request.
const maxBreakpoints = 4

// ephemeralCache is the cache_control value of an automatic breakpoint:
// the default five-minute cache.
const ephemeralCache = `{"type":"ephemeral"}`

// placesCacheHints reports whether the client marked any cache
// breakpoint itself (an Anthropic client's cache_control, kept verbatim),
// in which case its placement is kept as it is.
func placesCacheHints(req *llm.Request) bool {
	for _, p := range req.System {
		if p.CacheControl != nil {
			return true
		}
	}
	for _, t := range req.Tools {
		if t.CacheControl != nil || bytes.Contains(t.Raw, []byte(`"cache_control"`)) {
			return true
		}
	}
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			if p.CacheControl != nil {
				return true
			}
			for _, c := range p.Content {
				if c.CacheControl != nil {
					return true
				}
			}
		}
	}
	return false
}

// autoCache marks prompt-cache breakpoints in an encoded request whose
// client placed none (an OpenAI, Responses or Gemini client, whose
// providers cache prefixes without being asked, while Anthropic caches
// only up to a marked block): the last tool, the system prompt and the
// last block of the two latest user turns, at most maxBreakpoints. Agent
// traffic resends a long, growing prefix on every turn; the breakpoint on
// the previous user turn reads what the previous request wrote, the one on
// the latest writes for the next. Thinking blocks cannot be marked and are
// skipped.
func autoCache(out map[string]any) {
	left := maxBreakpoints
	mark := func() json.RawMessage {
		left--
		return json.RawMessage(ephemeralCache)
	}
	if tools, ok := out["tools"].([]any); ok && len(tools) > 0 {
		if t, ok := tools[len(tools)-1].(wireTool); ok {
			t.CacheControl = mark()
			tools[len(tools)-1] = t
		}
	}
	switch s := out["system"].(type) {
	case string:
		out["system"] = []map[string]any{{"type": "text", "text": s, "cache_control": mark()}}
	case []map[string]any:
		if len(s) > 0 {
			s[len(s)-1]["cache_control"] = mark()
		}
	}
	msgs, _ := out["messages"].([]any)
	for i, turns := len(msgs)-1, 0; i >= 0 && turns < 2 && left > 0; i-- {
		m, _ := msgs[i].(map[string]any)
		if m == nil || m["role"] != "user" {
			continue
		}
		turns++
		blocks, _ := m["content"].([]any)
		for j := len(blocks) - 1; j >= 0; j-- {
			b, _ := blocks[j].(map[string]any)
			if b == nil || b["type"] == "thinking" || b["type"] == "redacted_thinking" {
				continue
			}
			b["cache_control"] = mark()
			break
		}
	}
}
