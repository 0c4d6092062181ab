package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeRequest decodes a client's Messages request body, or a
// count_tokens body (the same without max_tokens). Fields it does not map
// (service_tier, top-level cache_control, container, …) are kept in Extra.
// Malformed input returns an *llm.Error with status 400.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, badRequest("", "invalid JSON body: %v", err)
	}
	if fields == nil {
		return nil, badRequest("", "request body must be a JSON object")
	}
	// The client places its own cache breakpoints, or none on purpose.
	req := &llm.Request{NoAutoCache: true}
	var effort string
	for key, raw := range fields {
		if err := decodeField(req, key, raw, &effort); err != nil {
			return nil, err
		}
	}
	if effort != "" {
		if req.Reasoning == nil {
			req.Reasoning = &llm.Reasoning{}
		}
		req.Reasoning.Effort = effort
	}
	if req.Model == "" {
		return nil, badRequest("model", "model: field required")
	}
	if _, ok := fields["messages"]; !ok {
		return nil, badRequest("messages", "messages: field required")
	}
	return req, nil
}

func decodeField(req *llm.Request, key string, raw json.RawMessage, effort *string) error {
	field := func(v any, want string) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return badRequest(key, "%s: expected %s, got %s", key, want, jsonKind(raw))
		}
		return nil
	}
	switch key {
	case "model":
		return field(&req.Model, "a string")
	case "max_tokens":
		return field(&req.MaxTokens, "an integer")
	case "messages":
		var msgs []wireMessage
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return badRequest(key, "messages: %v", err)
		}
		return decodeMessages(req, msgs)
	case "system":
		parts, err := decodeContent("system", raw)
		if err != nil {
			return err
		}
		req.System = parts
	case "stop_sequences":
		return field(&req.Stop, "an array of strings")
	case "temperature":
		return field(&req.Temperature, "a number")
	case "top_p":
		return field(&req.TopP, "a number")
	case "top_k":
		return field(&req.TopK, "an integer")
	case "stream":
		return field(&req.Stream, "a boolean")
	case "metadata":
		var md struct {
			UserID string `json:"user_id"`
		}
		if err := field(&md, "an object"); err != nil {
			return err
		}
		req.User = md.UserID
	case "tools":
		return decodeTools(req, raw)
	case "tool_choice":
		return decodeToolChoice(req, raw)
	case "thinking":
		return decodeThinking(req, raw)
	case "output_config", "output_format":
		var oc wireOutputConfig
		if key == "output_format" {
			oc.Format = &wireFormat{}
			if err := field(oc.Format, "an object"); err != nil {
				return err
			}
		} else if err := field(&oc, "an object"); err != nil {
			return err
		}
		if oc.Effort != "" {
			*effort = oc.Effort
		}
		if f := oc.Format; f != nil && f.Type == "json_schema" {
			req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Schema: f.Schema}
		}
	default:
		if req.Extra == nil {
			req.Extra = make(map[string]json.RawMessage)
			req.ExtraProtocol = llm.ProtocolAnthropic
		}
		req.Extra[key] = raw
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
			return badRequest("tools", "tools.%d: %v", i, err)
		}
		if w.Type != "" && w.Type != "custom" {
			// A server tool (web_search_…, bash_…): Anthropic only.
			req.Tools = append(req.Tools, llm.Tool{Name: w.Name, Raw: t, RawProtocol: llm.ProtocolAnthropic})
			continue
		}
		if w.Name == "" {
			return badRequest("tools", "tools.%d.name: field required", i)
		}
		req.Tools = append(req.Tools, llm.Tool{
			Name: w.Name, Description: w.Description, Parameters: w.InputSchema,
			Strict: w.Strict, CacheControl: w.CacheControl,
		})
	}
	return nil
}

func decodeToolChoice(req *llm.Request, raw json.RawMessage) error {
	var w wireToolChoice
	if err := json.Unmarshal(raw, &w); err != nil {
		return badRequest("tool_choice", "tool_choice: expected an object, got %s", jsonKind(raw))
	}
	switch w.Type {
	case "auto":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
	case "any":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	case "none":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	case "tool":
		if w.Name == "" {
			return badRequest("tool_choice", "tool_choice.name: field required")
		}
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: w.Name}
	default:
		return badRequest("tool_choice", "tool_choice.type: unknown value %q", w.Type)
	}
	if w.DisableParallelToolUse != nil && *w.DisableParallelToolUse {
		f := false
		req.ParallelToolCalls = &f
	}
	return nil
}

func decodeThinking(req *llm.Request, raw json.RawMessage) error {
	var w wireThinking
	if err := json.Unmarshal(raw, &w); err != nil {
		return badRequest("thinking", "thinking: expected an object, got %s", jsonKind(raw))
	}
	r := &llm.Reasoning{IncludeThoughts: w.Display != "omitted"}
	switch w.Type {
	case "enabled":
		r.BudgetTokens = w.BudgetTokens
	case "adaptive":
		r.BudgetTokens = -1 // the model decides: dynamic
	case "disabled":
		r = &llm.Reasoning{Disabled: true}
	default:
		return badRequest("thinking", "thinking.type: unknown value %q", w.Type)
	}
	if req.Reasoning != nil {
		r.Effort = req.Reasoning.Effort
	}
	req.Reasoning = r
	return nil
}

func decodeMessages(req *llm.Request, msgs []wireMessage) error {
	toolNames := make(map[string]string)
	for i, m := range msgs {
		param := fmt.Sprintf("messages.%d", i)
		var role llm.Role
		switch m.Role {
		case "user":
			role = llm.RoleUser
		case "assistant":
			role = llm.RoleAssistant
		case "system":
			role = llm.RoleSystem
		default:
			return badRequest(param+".role", "%s.role: unknown role %q", param, m.Role)
		}
		parts, err := decodeContent(param+".content", m.Content)
		if err != nil {
			return err
		}
		for j := range parts {
			p := &parts[j]
			switch p.Kind {
			case llm.PartToolCall:
				toolNames[p.ToolCallID] = p.ToolName
			case llm.PartToolResult:
				p.ToolName = toolNames[p.ToolCallID]
			}
		}
		req.Messages = append(req.Messages, llm.Message{Role: role, Parts: parts})
	}
	return nil
}

// decodeContent decodes a content value: a string or an array of blocks.
func decodeContent(param string, raw json.RawMessage) ([]llm.Part, error) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, "%s: %v", param, err)
		}
		return []llm.Part{{Kind: llm.PartText, Text: s}}, nil
	}
	var blocks []wireBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, badRequest(param, "%s: expected a string or an array of content blocks, got %s", param, jsonKind(raw))
	}
	parts := make([]llm.Part, 0, len(blocks))
	for j := range blocks {
		p, ok, err := decodeBlock(fmt.Sprintf("%s.%d", param, j), &blocks[j])
		if err != nil {
			return nil, err
		}
		if ok {
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// decodeBlock converts one request content block. Blocks with no neutral
// form (server tool blocks, search results, file references) are skipped:
// ok is false.
func decodeBlock(param string, b *wireBlock) (p llm.Part, ok bool, err error) {
	p.CacheControl = b.CacheControl
	switch b.Type {
	case "text":
		p.Kind, p.Text = llm.PartText, b.Text
	case "image", "document":
		p.Kind = llm.PartImage
		if b.Type == "document" {
			p.Kind, p.Name = llm.PartDocument, b.Title
		}
		if b.Source == nil {
			return p, false, badRequest(param, "%s.source: field required", param)
		}
		switch b.Source.Type {
		case "base64":
			p.MediaType, p.Data = b.Source.MediaType, b.Source.Data
		case "url":
			p.URL = b.Source.URL
		case "text":
			p.MediaType = b.Source.MediaType
			if p.MediaType == "" {
				p.MediaType = "text/plain"
			}
			p.Data = base64.StdEncoding.EncodeToString([]byte(b.Source.Data))
		default:
			return p, false, nil // file ids and nested content are Anthropic-only
		}
	case "tool_use":
		p.Kind, p.ToolCallID, p.ToolName = llm.PartToolCall, b.ID, b.Name
		p.Arguments = b.Input
		if len(p.Arguments) == 0 {
			p.Arguments = json.RawMessage("{}")
		}
	case "tool_result":
		p.Kind, p.ToolCallID, p.IsError = llm.PartToolResult, b.ToolUseID, b.IsError
		if p.Content, err = decodeContent(param+".content", b.Content); err != nil {
			return p, false, err
		}
	case "thinking":
		p.Kind, p.Text = llm.PartThinking, b.Thinking
		p.Signature, p.SignatureProtocol = splitSignature(b.Signature)
	case "redacted_thinking":
		p.Kind, p.Data, p.SignatureProtocol = llm.PartRedactedThinking, b.Data, llm.ProtocolAnthropic
	case "":
		return p, false, badRequest(param+".type", "%s.type: field required", param)
	default:
		return p, false, nil
	}
	return p, true, nil
}

// splitSignature undoes signatureFor: a signature another protocol issued
// travels as "<protocol>:<signature>".
func splitSignature(sig string) (string, llm.Protocol) {
	if proto, rest, ok := strings.Cut(sig, ":"); ok {
		if p := llm.Protocol(proto); p.Valid() && p != llm.ProtocolAnthropic {
			return rest, p
		}
	}
	return sig, llm.ProtocolAnthropic
}

// signatureFor is the signature an Anthropic client sees for a thinking
// part (see the package comment).
func signatureFor(sig string, proto llm.Protocol) string {
	if sig == "" || proto == "" || proto == llm.ProtocolAnthropic {
		return sig
	}
	return string(proto) + ":" + sig
}

// ReplaysForeignThinking reports whether an Anthropic request body may
// replay a thinking block that llmgw served from another provider's answer:
// one whose signature carries that protocol's prefix ("gemini:…", see the
// package comment) or no signature at all. The Anthropic API refuses both
// ("Invalid signature in thinking block"), so a client whose conversation
// was served by another provider for a turn (failover, a mixed route) would
// be refused on its next turn to Claude. The gateway re-encodes such a body
// (which drops those blocks) instead of forwarding it.
//
// It looks at the value of every "signature" member without parsing the
// body: Claude Code's histories are hundreds of kilobytes, and this runs on
// every request. A "signature" member of a tool's input that happens to look
// foreign costs only a re-encoded body.
func ReplaysForeignThinking(body []byte) bool {
	const key = `"signature"`
	// Find each key by its rarest letter, 'g' (key[3]): in English and
	// code it is several times rarer than '"' or 's', so the vectorised
	// IndexByte skips further per call (measured: about twice bytes.Index).
	for off := 0; ; {
		g := bytes.IndexByte(body[off:], 'g')
		if g < 0 {
			return false
		}
		g += off
		off = g + 1
		if g < 3 || len(body)-(g-3) < len(key) || string(body[g-3:g-3+len(key)]) != key {
			continue
		}
		if foreignSignature(body[g-3+len(key):]) {
			return true
		}
	}
}

// foreignSignature reports whether rest, what follows a "signature" key,
// is a string value that Claude would refuse: empty, or carrying another
// protocol's prefix.
func foreignSignature(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return false
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, '"')
	if end == 0 {
		return true // no signature
	}
	// Anthropic's own are base64: only a colon can mark another's.
	if end < 0 || bytes.IndexByte(rest[:end], ':') <= 0 {
		return false
	}
	_, proto := splitSignature(string(rest[:end]))
	return proto != llm.ProtocolAnthropic
}
