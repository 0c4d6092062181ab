package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeRequest decodes a client's chat completions request body. Leading
// system and developer messages become Request.System; later ones stay in
// place with llm.RoleSystem. Fields it does not map are kept in Extra.
// Malformed input returns an *llm.Error with status 400.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, badRequest("", "invalid JSON body: %v", err)
	}
	if fields == nil {
		return nil, badRequest("", "request body must be a JSON object")
	}
	req := &llm.Request{}
	for key, raw := range fields {
		if err := decodeField(req, key, raw); err != nil {
			return nil, err
		}
	}
	if req.Model == "" {
		return nil, badRequest("model", "model is required")
	}
	if _, ok := fields["messages"]; !ok {
		return nil, badRequest("messages", "messages is required")
	}
	return req, nil
}

// decodeField maps one top-level request field onto req.
func decodeField(req *llm.Request, key string, raw json.RawMessage) error {
	field := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return badRequest(key, "%s: expected %s, got %s", key, kindOf(v), jsonKind(raw))
		}
		return nil
	}
	switch key {
	case "model":
		return field(&req.Model)
	case "messages":
		var msgs []wireMessage
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return badRequest(key, "messages: %v", err)
		}
		return decodeMessages(req, msgs)
	case "max_tokens", "max_completion_tokens":
		if isNull(raw) {
			return nil
		}
		var n int
		if err := field(&n); err != nil {
			return err
		}
		// max_completion_tokens wins over the deprecated max_tokens.
		if key == "max_completion_tokens" || req.MaxTokens == 0 {
			req.MaxTokens = n
		}
	case "temperature":
		return field(&req.Temperature)
	case "top_p":
		return field(&req.TopP)
	case "seed":
		return field(&req.Seed)
	case "stop":
		return decodeStop(req, raw)
	case "tools":
		return decodeTools(req, raw)
	case "tool_choice":
		return decodeToolChoice(req, raw)
	case "parallel_tool_calls":
		return field(&req.ParallelToolCalls)
	case "response_format":
		return decodeResponseFormat(req, raw)
	case "reasoning_effort":
		var effort *string
		if err := field(&effort); err != nil || effort == nil {
			return err
		}
		req.Reasoning = &llm.Reasoning{Effort: *effort, Disabled: *effort == "none"}
	case "stream":
		return field(&req.Stream)
	case "stream_options":
		var so *wireStreamOptions
		if err := field(&so); err != nil || so == nil {
			return err
		}
		req.IncludeUsage = so.IncludeUsage
	case "user":
		return field(&req.User)
	default:
		if req.Extra == nil {
			req.Extra = make(map[string]json.RawMessage)
			req.ExtraProtocol = llm.ProtocolOpenAI
		}
		req.Extra[key] = raw
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case *string:
		return "a string"
	case *bool, **bool:
		return "a boolean"
	case **wireStreamOptions:
		return "an object"
	}
	return "a number"
}

func decodeStop(req *llm.Request, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		req.Stop = []string{one}
		return nil
	}
	if err := json.Unmarshal(raw, &req.Stop); err != nil {
		return badRequest("stop", "stop: expected a string or an array of strings, got %s", jsonKind(raw))
	}
	return nil
}

func decodeTools(req *llm.Request, raw json.RawMessage) error {
	var tools []json.RawMessage
	if err := json.Unmarshal(raw, &tools); err != nil {
		return badRequest("tools", "tools: expected an array, got %s", jsonKind(raw))
	}
	for i, t := range tools {
		var w wireTool
		if err := json.Unmarshal(t, &w); err != nil {
			return badRequest("tools", "tools[%d]: %v", i, err)
		}
		if w.Type != "function" {
			req.Tools = append(req.Tools, llm.Tool{Name: w.Type, Raw: t, RawProtocol: llm.ProtocolOpenAI})
			continue
		}
		if w.Function.Name == "" {
			return badRequest("tools", "tools[%d].function.name is required", i)
		}
		params := w.Function.Parameters
		if isNull(params) {
			params = nil
		}
		req.Tools = append(req.Tools, llm.Tool{
			Name:        w.Function.Name,
			Description: w.Function.Description,
			Parameters:  params,
			Strict:      w.Function.Strict,
		})
	}
	return nil
}

func decodeToolChoice(req *llm.Request, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var mode string
	if err := json.Unmarshal(raw, &mode); err == nil {
		switch mode {
		case "auto", "none", "required":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceMode(mode)}
			return nil
		}
		return badRequest("tool_choice", "tool_choice: unknown value %q", mode)
	}
	var obj wireToolChoiceObject
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return badRequest("tool_choice", `tool_choice: expected "auto", "none", "required" or {"type":"function","function":{"name":...}}`)
	}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: obj.Function.Name}
	return nil
}

func decodeResponseFormat(req *llm.Request, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var w wireResponseFormat
	if err := json.Unmarshal(raw, &w); err != nil {
		return badRequest("response_format", "response_format: %v", err)
	}
	rf := &llm.ResponseFormat{Type: w.Type}
	switch w.Type {
	case "text", "json_object":
	case "json_schema":
		if w.JSONSchema == nil {
			return badRequest("response_format", "response_format.json_schema is required with type json_schema")
		}
		rf.Name, rf.Schema, rf.Strict = w.JSONSchema.Name, w.JSONSchema.Schema, w.JSONSchema.Strict
	default:
		return badRequest("response_format", "response_format: unknown type %q", w.Type)
	}
	req.ResponseFormat = rf
	return nil
}

// decodeMessages converts the messages array. Tool messages become
// llm.RoleTool messages with one tool result part each, named after the
// call they answer.
func decodeMessages(req *llm.Request, msgs []wireMessage) error {
	toolNames := make(map[string]string)
	for i, m := range msgs {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			parts, err := decodeContent(param, m.Content, false)
			if err != nil {
				return err
			}
			if len(req.Messages) == 0 {
				req.System = append(req.System, parts...)
				continue
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Parts: parts})
		case "user":
			parts, err := decodeContent(param, m.Content, true)
			if err != nil {
				return err
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Parts: parts, Name: m.Name})
		case "assistant":
			msg, err := decodeAssistant(param, m)
			if err != nil {
				return err
			}
			for _, tc := range m.ToolCalls {
				toolNames[tc.ID] = tc.Function.Name
			}
			req.Messages = append(req.Messages, msg)
		case "tool", "function":
			parts, err := decodeContent(param, m.Content, false)
			if err != nil {
				return err
			}
			name := toolNames[m.ToolCallID]
			if m.Role == "function" {
				name = m.Name
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{
				Kind: llm.PartToolResult, ToolCallID: m.ToolCallID, ToolName: name, Content: parts,
			}}})
		default:
			return badRequest(param+".role", "%s.role: unknown role %q", param, m.Role)
		}
	}
	return nil
}

func decodeAssistant(param string, m wireMessage) (llm.Message, error) {
	msg := llm.Message{Role: llm.RoleAssistant, Name: m.Name}
	if m.ReasoningContent != "" {
		msg.Parts = append(msg.Parts, llm.Part{Kind: llm.PartThinking, Text: m.ReasoningContent})
	}
	parts, err := decodeContent(param, m.Content, false)
	if err != nil {
		return msg, err
	}
	msg.Parts = append(msg.Parts, parts...)
	if m.Refusal != nil && *m.Refusal != "" {
		msg.Parts = append(msg.Parts, llm.Part{Kind: llm.PartRefusal, Text: *m.Refusal})
	}
	for _, tc := range m.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			return msg, badRequest(param+".tool_calls", "%s.tool_calls: unsupported tool call type %q", param, tc.Type)
		}
		msg.Parts = append(msg.Parts, llm.Part{
			Kind:       llm.PartToolCall,
			ToolCallID: tc.ID,
			ToolName:   tc.Function.Name,
			Arguments:  json.RawMessage(tc.Function.Arguments),
		})
	}
	return msg, nil
}

// decodeContent decodes a message content: a string, an array of parts or
// null. media says whether images, audio and files are allowed.
func decodeContent(param string, raw json.RawMessage, media bool) ([]llm.Part, error) {
	if isNull(raw) {
		return nil, nil
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param+".content", "%s.content: %v", param, err)
		}
		if s == "" {
			return nil, nil
		}
		return []llm.Part{{Kind: llm.PartText, Text: s}}, nil
	}
	var wparts []wireContentPart
	if err := json.Unmarshal(raw, &wparts); err != nil {
		return nil, badRequest(param+".content", "%s.content: expected a string or an array of parts, got %s", param, jsonKind(raw))
	}
	parts := make([]llm.Part, 0, len(wparts))
	for j, wp := range wparts {
		p, err := decodePart(fmt.Sprintf("%s.content[%d]", param, j), wp, media)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func decodePart(param string, wp wireContentPart, media bool) (llm.Part, error) {
	switch wp.Type {
	case "text":
		return llm.Part{Kind: llm.PartText, Text: wp.Text}, nil
	case "refusal":
		return llm.Part{Kind: llm.PartRefusal, Text: wp.Refusal}, nil
	}
	if !media {
		return llm.Part{}, badRequest(param, "%s: part type %q is not allowed here", param, wp.Type)
	}
	switch wp.Type {
	case "image_url":
		if wp.ImageURL == nil || wp.ImageURL.URL == "" {
			return llm.Part{}, badRequest(param, "%s.image_url.url is required", param)
		}
		p := llm.Part{Kind: llm.PartImage, Detail: wp.ImageURL.Detail}
		if mt, data, ok := parseDataURL(wp.ImageURL.URL); ok {
			p.MediaType, p.Data = mt, data
		} else {
			p.URL = wp.ImageURL.URL
		}
		return p, nil
	case "input_audio":
		if wp.InputAudio == nil {
			return llm.Part{}, badRequest(param, "%s.input_audio is required", param)
		}
		return llm.Part{Kind: llm.PartAudio, MediaType: wp.InputAudio.Format, Data: wp.InputAudio.Data}, nil
	case "file":
		if wp.File == nil || wp.File.FileData == "" {
			return llm.Part{}, badRequest(param, "%s.file: only inline file_data is supported (file_id needs the OpenAI Files API)", param)
		}
		mt, data, ok := parseDataURL(wp.File.FileData)
		if !ok {
			return llm.Part{}, badRequest(param, "%s.file.file_data: expected a base64 data URL", param)
		}
		return llm.Part{Kind: llm.PartDocument, MediaType: mt, Data: data, Name: wp.File.Filename}, nil
	}
	return llm.Part{}, badRequest(param, "%s: unknown part type %q", param, wp.Type)
}

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
	setPtr(out, "temperature", req.Temperature)
	setPtr(out, "top_p", req.TopP)
	setPtr(out, "seed", req.Seed)
	if req.TopK != nil {
		e.warnf("dropped top_k: chat completions has no equivalent")
	}
	if len(req.Stop) > 0 {
		out["stop"] = req.Stop
	}
	if tools := e.tools(req.Tools); len(tools) > 0 {
		out["tools"] = tools
		if req.ParallelToolCalls != nil {
			out["parallel_tool_calls"] = *req.ParallelToolCalls
		}
	}
	if tc := req.ToolChoice; tc != nil {
		if tc.Mode == llm.ToolChoiceTool {
			out["tool_choice"] = map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}}
		} else {
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
	body, err := json.Marshal(out)
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
				e.warnf("dropped tool %q: a %s server tool has no chat completions equivalent", t.Name, t.RawProtocol)
			}
			continue
		}
		params := t.Parameters
		if params == nil {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out = append(out, wireTool{Type: "function", Function: wireFunctionDef{
			Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict,
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
	for _, m := range req.Messages {
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
				Function: wireFunction{Name: p.ToolName, Arguments: args}})
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
	for _, p := range m.Parts {
		if p.Kind == llm.PartToolResult {
			out = append(out, map[string]any{
				"role": "tool", "tool_call_id": p.ToolCallID, "content": e.toolResultText(p),
			})
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
	if len(content) == 0 {
		return out, nil
	}
	msg := map[string]any{"role": "user"}
	if m.Name != "" {
		msg["name"] = m.Name
	}
	if len(content) == 1 && content[0]["type"] == "text" {
		msg["content"] = content[0]["text"]
	} else {
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
			img.URL = dataURL(p.MediaType, p.Data)
		}
		return map[string]any{"type": "image_url", "image_url": img}, nil
	case llm.PartDocument:
		if p.Data == "" {
			return nil, unsupported("a document by URL cannot be sent to chat completions (only inline file data)")
		}
		f := wireFile{FileData: dataURL(p.MediaType, p.Data), Filename: p.Name}
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
