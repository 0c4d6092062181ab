package openai

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// maxStop is the most stop sequences chat completions accepts.
const maxStop = 4

// keepFromResponses lists Responses API fields that mean the same in chat
// completions.
var keepFromResponses = map[string]bool{
	"service_tier": true, "prompt_cache_key": true, "prompt_cache_retention": true,
	"safety_identifier": true, "metadata": true, "store": true, "top_logprobs": true,
}

// EncodeRequest encodes req for an OpenAI chat completions upstream.
// Streaming requests always ask for the usage chunk. Warnings name what
// the target cannot express and was dropped; a feature whose loss would
// change the meaning of the request is an *llm.Error (400).
func EncodeRequest(req *llm.Request) ([]byte, []string, error) {
	e := requestEncoder{}
	out := make(map[string]any, 16)
	if req.ExtraProtocol == llm.ProtocolOpenAI || req.ExtraProtocol == llm.ProtocolResponses {
		for k, v := range req.Extra {
			if req.ExtraProtocol == llm.ProtocolOpenAI || keepFromResponses[k] {
				out[k] = v
				continue
			}
			e.warnf("dropped %q: not a chat completions field", k)
		}
	} else {
		for k := range req.Extra {
			e.warnf("dropped %q: no chat completions equivalent", k)
		}
	}
	out["model"] = req.Model
	msgs, err := e.messages(req)
	if err != nil {
		return nil, e.warnings, err
	}
	out["messages"] = msgs
	if req.MaxTokens > 0 {
		out["max_completion_tokens"] = req.MaxTokens
	}
	// A reasoning model refuses a client's sampling but the defaults.
	temp, topP, unset := llm.OpenAISampling(req.Model, req.Temperature, req.TopP)
	for _, d := range unset {
		e.warnf("dropped %s: %s takes only the default", d, req.Model)
	}
	setPtr(out, "temperature", temp)
	setPtr(out, "top_p", topP)
	setPtr(out, "seed", req.Seed)
	if req.TopK != nil {
		e.warnf("dropped top_k: chat completions has no equivalent")
	}
	if stop := req.Stop; len(stop) > 0 {
		if len(stop) > maxStop {
			e.warnf("dropped %d stop sequences: chat completions takes at most %d", len(stop)-maxStop, maxStop)
			stop = stop[:maxStop]
		}
		out["stop"] = stop
	}
	if tools := e.tools(req.Tools); len(tools) > 0 {
		out["tools"] = tools
		if req.ParallelToolCalls != nil {
			out["parallel_tool_calls"] = *req.ParallelToolCalls
		}
		// tool_choice is rejected without tools.
		if tc := req.ToolChoice; tc != nil && tc.Mode == llm.ToolChoiceTool {
			out["tool_choice"] = map[string]any{"type": "function", "function": map[string]string{"name": llm.ShortToolName(tc.Name)}}
		} else if tc != nil {
			out["tool_choice"] = string(tc.Mode)
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		out["response_format"] = encodeResponseFormat(rf)
	}
	if r := req.Reasoning; r != nil {
		switch {
		case r.Disabled || r.Effort == "none":
			// Omitted: non-reasoning models reject the field, and
			// reasoning models that cannot disable it reject "none".
		case r.Effort != "":
			out["reasoning_effort"] = effortOf(r.Effort)
		case r.BudgetTokens != 0:
			out["reasoning_effort"] = effortForBudget(r.BudgetTokens)
		}
	}
	if req.Stream {
		out["stream"] = true
		out["stream_options"] = wireStreamOptions{IncludeUsage: true}
	}
	if req.User != "" {
		out["user"] = req.User
	}
	if _, ok := out["prompt_cache_key"]; !ok && req.CacheKey != "" {
		// OpenAI routes requests with one key to the same cache: a
		// converted session's turns hit the prefix the last one wrote.
		out["prompt_cache_key"] = req.CacheKey
	}
	body, err := marshal(out)
	if err != nil {
		return nil, e.warnings, fmt.Errorf("openai: encode request: %w", err)
	}
	return body, e.warnings, nil
}

func setPtr[T any](out map[string]any, key string, v *T) {
	if v != nil {
		out[key] = *v
	}
}

func encodeResponseFormat(rf *llm.ResponseFormat) map[string]any {
	if rf.Type != "json_schema" {
		return map[string]any{"type": rf.Type}
	}
	name := rf.Name
	if name == "" {
		name = "structured_output"
	}
	js := map[string]any{"name": name}
	if rf.Schema != nil {
		js["schema"] = rf.Schema
	}
	if rf.Strict != nil {
		js["strict"] = *rf.Strict
	}
	return map[string]any{"type": "json_schema", "json_schema": js}
}

type requestEncoder struct {
	warnings []string
	seen     map[string]bool // warnings already given
}

func (e *requestEncoder) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if e.seen[w] {
		return
	}
	if e.seen == nil {
		e.seen = make(map[string]bool)
	}
	e.seen[w] = true
	e.warnings = append(e.warnings, "openai: "+w)
}

func (e *requestEncoder) tools(tools []llm.Tool) []any {
	var out []any
	for _, t := range tools {
		if t.Raw != nil {
			if t.RawProtocol == llm.ProtocolOpenAI {
				out = append(out, t.Raw)
			} else {
				e.warnf("dropped tool %q: %s built-in tools have no chat completions equivalent", t.Name, t.RawProtocol)
			}
			continue
		}
		params := t.Parameters
		if params == nil {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out = append(out, wireTool{Type: "function", Function: wireFunctionDef{
			Name: llm.ShortToolName(t.Name), Description: t.Description, Parameters: params, Strict: t.Strict,
		}})
	}
	return out
}

// messages builds the messages array: system first, tool results as tool
// messages ahead of the user content they arrived with.
func (e *requestEncoder) messages(req *llm.Request) ([]any, error) {
	out := make([]any, 0, len(req.Messages)+1)
	if sys := joinText(req.System); sys != "" {
		out = append(out, map[string]any{"role": "system", "content": sys})
	}
	// Each assistant message's tool_calls need their tool messages right
	// after it, one per call; OpenAI answers anything else with a 400.
	for _, m := range llm.PairToolResults(req.Messages) {
		var err error
		switch m.Role {
		case llm.RoleSystem:
			if s := joinText(m.Parts); s != "" {
				out = append(out, map[string]any{"role": "system", "content": s})
			}
		case llm.RoleAssistant:
			out = append(out, e.assistant(m))
		default: // user and tool
			out, err = e.user(out, m)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func joinText(parts []llm.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Kind != llm.PartText || p.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

func (e *requestEncoder) assistant(m llm.Message) map[string]any {
	msg := map[string]any{"role": "assistant"}
	if m.Name != "" {
		msg["name"] = m.Name
	}
	var text strings.Builder
	var calls []wireToolCall
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartRefusal:
			msg["refusal"] = p.Text
		case llm.PartToolCall:
			args := string(p.Arguments)
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			calls = append(calls, wireToolCall{ID: p.ToolCallID, Type: "function",
				Function: wireFunction{Name: llm.ShortToolName(p.ToolName), Arguments: args}})
		}
		// Thinking is provider-bound and chat completions takes none back.
	}
	if text.Len() > 0 || len(calls) == 0 {
		msg["content"] = text.String()
	} else {
		msg["content"] = nil
	}
	if len(calls) > 0 {
		msg["tool_calls"] = calls
	}
	return msg
}

// user appends a user (or tool) turn: one tool message per tool result,
// then the remaining content as a user message.
func (e *requestEncoder) user(out []any, m llm.Message) ([]any, error) {
	var content []map[string]any
	results := 0
	for _, p := range m.Parts {
		if p.Kind == llm.PartToolResult {
			out = append(out, map[string]any{
				"role": "tool", "tool_call_id": p.ToolCallID, "content": e.toolResultText(p),
			})
			results++
			continue
		}
		c, err := e.part(p)
		if err != nil {
			return nil, err
		}
		if c != nil {
			content = append(content, c)
		}
	}
	if len(content) == 0 && results > 0 {
		return out, nil
	}
	msg := map[string]any{"role": "user", "content": ""}
	if m.Name != "" {
		msg["name"] = m.Name
	}
	switch {
	case len(content) == 1 && content[0]["type"] == "text":
		msg["content"] = content[0]["text"]
	case len(content) > 0:
		msg["content"] = content
	}
	return append(out, msg), nil
}

// toolResultText flattens a tool result to text: tool messages take text
// only.
func (e *requestEncoder) toolResultText(p llm.Part) string {
	var b strings.Builder
	if p.IsError {
		b.WriteString("Error: ")
	}
	for _, c := range p.Content {
		switch c.Kind {
		case llm.PartText:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), ": ") {
				b.WriteString("\n")
			}
			b.WriteString(c.Text)
		default:
			e.warnf("dropped %s content of a tool result: tool messages take text only", c.Kind)
		}
	}
	return b.String()
}

func (e *requestEncoder) part(p llm.Part) (map[string]any, error) {
	switch p.Kind {
	case llm.PartText:
		if p.Text == "" {
			return nil, nil
		}
		return map[string]any{"type": "text", "text": p.Text}, nil
	case llm.PartImage:
		img := wireImageURL{URL: p.URL, Detail: p.Detail}
		if p.Data != "" {
			img.URL = llm.DataURL(p.MediaType, p.Data)
		}
		return map[string]any{"type": "image_url", "image_url": img}, nil
	case llm.PartDocument:
		if p.Data == "" {
			return nil, unsupported("a document by URL cannot be sent to chat completions (only inline file data)")
		}
		if strings.HasPrefix(p.MediaType, "text/") {
			// File parts take PDFs only; plain text travels as text.
			text, err := base64.StdEncoding.DecodeString(p.Data)
			if err != nil {
				return nil, unsupported("document %q: invalid base64 data", p.Name)
			}
			return map[string]any{"type": "text", "text": documentText(p.Name, string(text))}, nil
		}
		f := wireFile{FileData: llm.DataURL(p.MediaType, p.Data), Filename: p.Name}
		if f.Filename == "" {
			f.Filename = "document"
		}
		return map[string]any{"type": "file", "file": f}, nil
	case llm.PartAudio:
		return map[string]any{"type": "input_audio", "input_audio": wireInputAudio{
			Data: p.Data, Format: strings.TrimPrefix(p.MediaType, "audio/"),
		}}, nil
	case llm.PartRefusal:
		return map[string]any{"type": "text", "text": p.Text}, nil
	}
	e.warnf("dropped a %s part in a user message", p.Kind)
	return nil, nil
}

// documentText presents a plain-text document as message text.
func documentText(name, text string) string {
	if name == "" {
		return "<document>\n" + text + "\n</document>"
	}
	return "<document name=\"" + name + "\">\n" + text + "\n</document>"
}
