package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
)

// DecodeResponse decodes an upstream Messages response body. Server tool
// blocks (web search calls and results) have no neutral form and are
// skipped.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("anthropic: decode response: %w", err)
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, StopSequence: w.StopSequence}
	for i := range w.Content {
		b := &w.Content[i]
		switch b.Type {
		case "text":
			resp.Parts = append(resp.Parts, llm.Part{Kind: llm.PartText, Text: b.Text})
		case "thinking":
			resp.Parts = append(resp.Parts, llm.Part{Kind: llm.PartThinking, Text: b.Thinking,
				Signature: b.Signature, SignatureProtocol: llm.ProtocolAnthropic})
		case "redacted_thinking":
			resp.Parts = append(resp.Parts, llm.Part{Kind: llm.PartRedactedThinking, Data: b.Data,
				SignatureProtocol: llm.ProtocolAnthropic})
		case "tool_use":
			args := b.Input
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			resp.Parts = append(resp.Parts, llm.Part{Kind: llm.PartToolCall, ToolCallID: b.ID,
				ToolName: b.Name, Arguments: args})
		}
	}
	resp.StopReason = stopReason(w.StopReason)
	if resp.HasToolCalls() {
		resp.StopReason = llm.StopToolUse
	}
	if w.Usage != nil {
		w.Usage.apply(&resp.Usage)
	}
	return resp, nil
}

// apply overwrites the fields of n that u carries: Anthropic's convention
// is llm's (input_tokens excludes cache reads and writes).
func (u *wireUsage) apply(n *llm.Usage) {
	if u.InputTokens != nil {
		n.InputTokens = *u.InputTokens
	}
	if u.OutputTokens != nil {
		n.OutputTokens = *u.OutputTokens
	}
	if u.CacheReadInputTokens != nil {
		n.CacheReadTokens = *u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens != nil {
		n.CacheWriteTokens = *u.CacheCreationInputTokens
	}
	if c := u.CacheCreation; c != nil {
		n.CacheWrite5mTokens, n.CacheWrite1hTokens = c.Ephemeral5m, c.Ephemeral1h
	}
	if d := u.OutputTokensDetails; d != nil {
		n.ReasoningTokens = d.ThinkingTokens
	}
}

// appendUsage appends the wire usage object for u. Output tokens are
// always present: the SDKs assign them unconditionally.
func appendUsage(dst []byte, u llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = appendInt(dst, u.InputTokens)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = appendInt(dst, u.CacheWriteTokens)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = appendInt(dst, u.CacheReadTokens)
	if u.CacheWrite5mTokens != 0 || u.CacheWrite1hTokens != 0 {
		dst = append(dst, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		dst = appendInt(dst, u.CacheWrite5mTokens)
		dst = append(dst, `,"ephemeral_1h_input_tokens":`...)
		dst = appendInt(dst, u.CacheWrite1hTokens)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"output_tokens":`...)
	dst = appendInt(dst, u.OutputTokens)
	if u.ReasoningTokens != 0 {
		dst = append(dst, `,"output_tokens_details":{"thinking_tokens":`...)
		dst = appendInt(dst, u.ReasoningTokens)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// stopReason maps a stop_reason onto a neutral one; an unknown reason is
// a natural end.
func stopReason(s string) llm.StopReason {
	switch s {
	case "max_tokens":
		return llm.StopLength
	case "stop_sequence":
		return llm.StopSequence
	case "tool_use":
		return llm.StopToolUse
	case "pause_turn":
		return llm.StopPause
	case "refusal":
		return llm.StopRefusal
	case "model_context_window_exceeded":
		return llm.StopContextWindow
	case "compaction":
		return llm.StopLength
	}
	return llm.StopEnd
}

// wireStopReason maps a neutral stop reason onto the stop_reason enum; a
// tool call forces tool_use.
func wireStopReason(r llm.StopReason, toolUse bool) string {
	if toolUse {
		return "tool_use"
	}
	switch r {
	case llm.StopLength:
		return "max_tokens"
	case llm.StopSequence:
		return "stop_sequence"
	case llm.StopToolUse:
		return "tool_use"
	case llm.StopContentFilter, llm.StopRefusal:
		return "refusal"
	case llm.StopPause:
		return "pause_turn"
	case llm.StopContextWindow:
		return "model_context_window_exceeded"
	}
	return "end_turn"
}

// messageID gives an id the Anthropic shape.
func messageID(id string) string {
	if strings.HasPrefix(id, "msg_") {
		return id
	}
	return "msg_" + sanitizeID(id)
}

// EncodeResponse encodes resp as a Messages response for the client whose
// request was req. Refusal text becomes a text block; thinking from other
// providers keeps its signature prefixed with its origin.
func EncodeResponse(resp *llm.Response, req *llm.Request) ([]byte, error) {
	content := make([]any, 0, len(resp.Parts))
	toolUse := false
	for _, p := range resp.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			if p.Text != "" {
				content = append(content, map[string]any{"type": "text", "text": p.Text})
			}
		case llm.PartThinking:
			content = append(content, map[string]any{"type": "thinking", "thinking": p.Text,
				"signature": signatureFor(p.Signature, p.SignatureProtocol)})
		case llm.PartRedactedThinking:
			if p.SignatureProtocol == llm.ProtocolAnthropic {
				content = append(content, map[string]any{"type": "redacted_thinking", "data": p.Data})
			}
		case llm.PartToolCall:
			toolUse = true
			var tools []llm.Tool
			if req != nil {
				tools = req.Tools
			}
			content = append(content, map[string]any{"type": "tool_use", "id": sanitizeID(p.ToolCallID),
				"name": llm.OriginalToolName(tools, p.ToolName), "input": objectArguments(p.Arguments)})
		}
	}
	var stopSeq any
	if resp.StopReason == llm.StopSequence && resp.StopSequence != "" && !toolUse {
		stopSeq = resp.StopSequence
	}
	model := resp.Model
	if model == "" && req != nil {
		model = req.Model
	}
	out := map[string]any{
		"id": messageID(resp.ID), "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": wireStopReason(resp.StopReason, toolUse),
		"stop_sequence": stopSeq, "usage": json.RawMessage(appendUsage(nil, resp.Usage)),
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode response: %w", err)
	}
	return body, nil
}

// UsageMember is the top-level member of a Messages response body that
// carries its usage.
const UsageMember = "usage"

// ResponseUsage returns the usage of a Messages response body forwarded
// unchanged; ok is false when the body carries none.
func ResponseUsage(body []byte) (llm.Usage, bool) {
	return ParseUsage(wirejson.Member(body, UsageMember))
}

// ParseUsage reads the value of a body's UsageMember, for a caller that
// has already found it in its own pass over the body; ok is false when raw
// is nil or not a usage object.
func ParseUsage(raw []byte) (llm.Usage, bool) {
	var wu wireUsage
	if raw == nil || json.Unmarshal(raw, &wu) != nil {
		return llm.Usage{}, false
	}
	var u llm.Usage
	wu.apply(&u)
	return u, true
}
