package openai

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
)

// DecodeResponse decodes an upstream chat completion body. Only the first
// choice is used.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("openai: decode response: %w", err)
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, Created: w.Created, StopReason: llm.StopEnd}
	if w.Usage != nil {
		resp.Usage = w.Usage.neutral()
	}
	if len(w.Choices) == 0 {
		return resp, nil
	}
	c := w.Choices[0]
	msg, err := decodeAssistant("choices[0].message", c.Message)
	if err != nil {
		return nil, fmt.Errorf("openai: decode response: %w", err)
	}
	resp.Parts = msg.Parts
	resp.StopReason = stopReason(c.FinishReason)
	switch {
	case resp.HasToolCalls():
		resp.StopReason = llm.StopToolUse
	case c.Message.Refusal != nil && *c.Message.Refusal != "" && resp.StopReason == llm.StopEnd:
		resp.StopReason = llm.StopRefusal // a refusal ends with finish_reason "stop"
	}
	return resp, nil
}

// neutral converts usage to the llm convention: prompt_tokens includes
// cached tokens, llm.Usage.InputTokens does not.
func (u *wireUsage) neutral() llm.Usage {
	n := llm.Usage{OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		n.CacheReadTokens = d.CachedTokens
		n.CacheWriteTokens = max(d.CacheWriteTokens, d.CacheCreationTokens)
	}
	if d := u.CompletionTokensDetails; d != nil {
		n.ReasoningTokens = d.ReasoningTokens
	}
	n.InputTokens = max(u.PromptTokens-n.CacheReadTokens-n.CacheWriteTokens, 0)
	return n
}

// appendUsage appends the wire usage object for u.
func appendUsage(dst []byte, u llm.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = appendInt(dst, u.PromptTokens())
	dst = append(dst, `,"completion_tokens":`...)
	dst = appendInt(dst, u.OutputTokens)
	dst = append(dst, `,"total_tokens":`...)
	dst = appendInt(dst, u.TotalTokens())
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = appendInt(dst, u.CacheReadTokens)
	if u.CacheWriteTokens > 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = appendInt(dst, u.CacheWriteTokens)
	}
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = appendInt(dst, u.ReasoningTokens)
	return append(dst, "}}"...)
}

// stopReason maps a finish_reason onto a neutral one; an unknown reason
// is a natural end.
func stopReason(finish string) llm.StopReason {
	switch finish {
	case "length":
		return llm.StopLength
	case "tool_calls", "function_call":
		return llm.StopToolUse
	case "content_filter":
		return llm.StopContentFilter
	}
	return llm.StopEnd
}

// finishReason maps a neutral stop reason onto the finish_reason enum. A
// refusal the client sees as message.refusal ends with "stop", as OpenAI's
// own refusals do; one without refusal text is a content filter.
func finishReason(r llm.StopReason, toolCalls, refusalText bool) string {
	switch {
	case toolCalls:
		return "tool_calls"
	case r == llm.StopRefusal && refusalText:
		return "stop"
	}
	switch r {
	case llm.StopLength, llm.StopContextWindow:
		return "length"
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopContentFilter, llm.StopRefusal:
		return "content_filter"
	}
	return "stop"
}

// EncodeResponse encodes resp as a chat completion for the client whose
// request was req. Thinking text travels in the de-facto
// message.reasoning_content field, which the SDKs ignore.
func EncodeResponse(resp *llm.Response, req *llm.Request) ([]byte, error) {
	var text, reasoning, refusal strings.Builder
	var calls []wireToolCall
	var carry []llm.Part // another provider's reasoning, for the next call's id
	for _, p := range resp.Parts {
		if llm.Carries(p, llm.ProtocolOpenAI) {
			carry = append(carry, p)
		}
		switch p.Kind {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartThinking:
			reasoning.WriteString(p.Text)
		case llm.PartRefusal:
			refusal.WriteString(p.Text)
		case llm.PartToolCall:
			calls = append(calls, wireToolCall{ID: llm.CarryInID(p.ToolCallID, carry), Type: "function",
				Function: wireFunction{Name: p.ToolName, Arguments: argumentsText(p.Arguments)}})
			carry = nil
		}
	}
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if text.Len() > 0 || len(calls) == 0 && refusal.Len() == 0 {
		msg["content"] = text.String()
	}
	if refusal.Len() > 0 {
		msg["refusal"] = refusal.String()
	}
	if reasoning.Len() > 0 {
		msg["reasoning_content"] = reasoning.String()
	}
	if len(calls) > 0 {
		msg["tool_calls"] = calls
	}
	created := resp.Created
	if created == 0 {
		created = time.Now().Unix()
	}
	out := map[string]any{
		"id":      completionID(resp.ID),
		"object":  "chat.completion",
		"created": created,
		"model":   modelName(resp.Model, req),
		"choices": []any{map[string]any{
			"index":         0,
			"message":       msg,
			"finish_reason": finishReason(resp.StopReason, len(calls) > 0, refusal.Len() > 0),
			"logprobs":      nil,
		}},
		"usage": json.RawMessage(appendUsage(nil, resp.Usage)),
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("openai: encode response: %w", err)
	}
	return body, nil
}

// argumentsText is the arguments string of a tool call: "{}" when the
// model gave none.
func argumentsText(args json.RawMessage) string {
	if len(args) == 0 {
		return "{}"
	}
	return string(args)
}

func completionID(id string) string {
	if strings.HasPrefix(id, "chatcmpl-") {
		return id
	}
	return "chatcmpl-" + id
}

func modelName(model string, req *llm.Request) string {
	if model == "" && req != nil {
		return req.Model
	}
	return model
}

// UsageMember is the top-level member of a chat completion body that
// carries its usage.
const UsageMember = "usage"

// ResponseUsage returns the usage of a chat completion body forwarded
// unchanged; ok is false when the body carries none.
func ResponseUsage(body []byte) (llm.Usage, bool) {
	return ParseUsage(wirejson.Member(body, UsageMember))
}

// ParseUsage reads the value of a body's UsageMember, for a caller that
// has already found it in its own pass over the body; ok is false when raw
// is nil or not a usage object.
func ParseUsage(raw []byte) (llm.Usage, bool) {
	if raw == nil {
		return llm.Usage{}, false
	}
	return scanUsage(raw)
}

// scanUsage reads an OpenAI usage object with the scanner instead of
// encoding/json: it runs on every non-streaming pass-through response,
// where reflection cost more than the rest of the usage accounting. It
// computes what wireUsage.neutral does.
func scanUsage(raw []byte) (llm.Usage, bool) {
	var n llm.Usage
	var prompt, cacheWrite, cacheCreation int64
	err := wirejson.Fields(raw, func(k, v []byte) bool {
		switch string(k) {
		case "prompt_tokens":
			prompt = wirejson.Int(v)
		case "completion_tokens":
			n.OutputTokens = wirejson.Int(v)
		case "prompt_tokens_details":
			_ = wirejson.Fields(v, func(k, v []byte) bool {
				switch string(k) {
				case "cached_tokens":
					n.CacheReadTokens = wirejson.Int(v)
				case "cache_write_tokens":
					cacheWrite = wirejson.Int(v)
				case "cache_creation_tokens":
					cacheCreation = wirejson.Int(v)
				}
				return true
			})
		case "completion_tokens_details":
			_ = wirejson.Fields(v, func(k, v []byte) bool {
				if string(k) == "reasoning_tokens" {
					n.ReasoningTokens = wirejson.Int(v)
				}
				return true
			})
		}
		return true
	})
	if err != nil {
		return llm.Usage{}, false
	}
	n.CacheWriteTokens = max(cacheWrite, cacheCreation)
	n.InputTokens = max(prompt-n.CacheReadTokens-n.CacheWriteTokens, 0)
	return n, true
}
