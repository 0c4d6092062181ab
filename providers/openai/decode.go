package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

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
				id, _ := llm.SplitID(tc.ID)
				toolNames[id] = tc.Function.Name
			}
			req.Messages = append(req.Messages, msg)
		case "tool", "function":
			parts, err := decodeContent(param, m.Content, false)
			if err != nil {
				return err
			}
			id, _ := llm.SplitID(m.ToolCallID)
			name := toolNames[id]
			if m.Role == "function" {
				name = m.Name
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{
				Kind: llm.PartToolResult, ToolCallID: id, ToolName: name, Content: parts,
			}}})
		default:
			return badRequest(param+".role", "%s.role: unknown role %q", param, m.Role)
		}
	}
	return nil
}

func decodeAssistant(param string, m wireMessage) (llm.Message, error) {
	msg := llm.Message{Role: llm.RoleAssistant, Name: m.Name}
	// Reasoning another provider issued comes back in the tool call ids
	// (see EncodeResponse) and goes first, where it was; it covers the
	// reasoning_content text.
	for _, tc := range m.ToolCalls {
		_, carried := llm.SplitID(tc.ID)
		msg.Parts = append(msg.Parts, carried...)
	}
	if m.ReasoningContent != "" && len(msg.Parts) == 0 {
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
		id, _ := llm.SplitID(tc.ID)
		msg.Parts = append(msg.Parts, llm.Part{
			Kind:       llm.PartToolCall,
			ToolCallID: id,
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
