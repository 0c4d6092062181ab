package responses

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeRequest converts a Responses API request body into a neutral
// request. It never rejects a well-formed request for being unportable
// (same-protocol traffic is decoded too, for the policy); malformed input
// yields an *llm.Error with status 400.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, badRequest("", "invalid JSON body: %v", err)
	}
	if top == nil {
		return nil, badRequest("", "request body must be a JSON object")
	}
	var wr wireRequest
	for _, f := range []struct {
		key string
		dst any
	}{
		{"model", &wr.Model}, {"instructions", &wr.Instructions}, {"input", &wr.Input},
		{"tools", &wr.Tools}, {"tool_choice", &wr.ToolChoice}, {"parallel_tool_calls", &wr.ParallelToolCalls},
		{"max_output_tokens", &wr.MaxOutputTokens}, {"temperature", &wr.Temperature}, {"top_p", &wr.TopP},
		{"reasoning", &wr.Reasoning}, {"text", &wr.Text}, {"stream", &wr.Stream}, {"user", &wr.User},
	} {
		raw, ok := top[f.key]
		if !ok {
			continue
		}
		delete(top, f.key)
		if string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return nil, badRequest(f.key, "invalid request: %s: %v", f.key, err)
		}
	}
	req := &llm.Request{
		Model: wr.Model, ParallelToolCalls: wr.ParallelToolCalls, MaxTokens: wr.MaxOutputTokens,
		Temperature: wr.Temperature, TopP: wr.TopP, Stream: wr.Stream, User: wr.User,
		// Responses streams always end with usage.
		IncludeUsage: wr.Stream,
	}
	if len(wr.Instructions) > 0 && string(wr.Instructions) != "null" {
		var s string
		if err := json.Unmarshal(wr.Instructions, &s); err != nil {
			return nil, badRequest("instructions", "instructions must be a string")
		}
		if s != "" {
			req.System = []llm.Part{{Kind: llm.PartText, Text: s}}
		}
	}
	if err := decodeInput(req, wr.Input); err != nil {
		return nil, err
	}
	var err error
	if req.Tools, err = decodeTools(wr.Tools); err != nil {
		return nil, err
	}
	if req.ToolChoice, err = decodeToolChoice(wr.ToolChoice); err != nil {
		return nil, err
	}
	if r := wr.Reasoning; r != nil && (r.Effort != "" || r.Summary != "") {
		req.Reasoning = &llm.Reasoning{Effort: r.Effort, Summary: r.Summary, Disabled: r.Effort == "none",
			IncludeThoughts: r.Summary != "" && r.Summary != "none"}
	}
	if wr.Text != nil && wr.Text.Format != nil && wr.Text.Format.Type != "text" {
		f := wr.Text.Format
		req.ResponseFormat = &llm.ResponseFormat{Type: f.Type, Name: f.Name, Schema: f.Schema, Strict: f.Strict}
	}
	if wr.Text != nil && wr.Text.Verbosity != "" {
		top["verbosity"], _ = json.Marshal(wr.Text.Verbosity)
	}
	if len(top) > 0 {
		req.Extra, req.ExtraProtocol = top, llm.ProtocolResponses
	}
	return req, nil
}

// Convertible reports whether a request decoded by DecodeRequest can be
// served by an upstream of another protocol. previous_response_id refers
// to state only OpenAI holds, so converting it would silently lose the
// conversation: the gateway should answer the returned *llm.Error (400)
// instead of converting.
func Convertible(req *llm.Request) error {
	if req.ExtraProtocol != llm.ProtocolResponses {
		return nil
	}
	if v, ok := req.Extra["previous_response_id"]; ok && string(v) != "null" && string(v) != `""` {
		e := badRequest("previous_response_id", "previous_response_id needs an OpenAI upstream that stored the response; this model is served by another provider, so send the full conversation in input (store=false) instead")
		return e
	}
	if v, ok := req.Extra["conversation"]; ok && string(v) != "null" {
		return badRequest("conversation", "conversation state lives at OpenAI and cannot be used with another provider; send the full conversation in input instead")
	}
	return nil
}

func decodeInput(req *llm.Request, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return badRequest("input", "invalid input: %v", err)
		}
		req.Messages = []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: s}}}}
		return nil
	}
	var items []item
	if err := json.Unmarshal(raw, &items); err != nil {
		return badRequest("input", "input must be a string or an array of items: %v", err)
	}
	d := inputDecoder{req: req, custom: map[string]bool{}}
	for i, it := range items {
		if err := d.item(it); err != nil {
			return badRequest(fmt.Sprintf("input[%d]", i), "input[%d]: %v", i, err)
		}
	}
	return nil
}

type inputDecoder struct {
	req    *llm.Request
	names  map[string]string // call_id → function name
	custom map[string]bool   // call_ids of custom tool calls
}

// assistant returns the assistant message to add parts to: the last one
// when it is the last message, else a new one.
func (d *inputDecoder) assistant() *llm.Message {
	msgs := d.req.Messages
	if n := len(msgs); n > 0 && msgs[n-1].Role == llm.RoleAssistant {
		return &d.req.Messages[n-1]
	}
	d.req.Messages = append(d.req.Messages, llm.Message{Role: llm.RoleAssistant})
	return &d.req.Messages[len(d.req.Messages)-1]
}

func (d *inputDecoder) item(it item) error {
	switch it.Type {
	case "message", "":
		return d.message(it)
	case "function_call", "custom_tool_call":
		args, err := callArguments(it)
		if err != nil {
			return err
		}
		if it.CallID == "" {
			return fmt.Errorf("%s without call_id", it.Type)
		}
		if d.names == nil {
			d.names = map[string]string{}
		}
		name := llm.QualifiedToolName(it.Namespace, it.Name)
		d.names[it.CallID] = name
		m := d.assistant()
		m.Parts = append(m.Parts, llm.Part{Kind: llm.PartToolCall, ToolCallID: it.CallID, ToolName: name, Arguments: args})
	case "function_call_output", "custom_tool_call_output":
		content, err := outputContent(it.Output)
		if err != nil {
			return err
		}
		d.req.Messages = append(d.req.Messages, llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{
			Kind: llm.PartToolResult, ToolCallID: it.CallID, ToolName: d.names[it.CallID], Content: content,
		}}})
	case "reasoning":
		if carried, ok := llm.Uncarry(it.EncryptedContent); ok {
			// Another provider's reasoning that llmgw gave the client
			// to carry (see EncodeResponse).
			m := d.assistant()
			m.Parts = append(m.Parts, carried...)
			return nil
		}
		var texts []string
		for _, s := range it.Summary {
			texts = append(texts, s.Text)
		}
		p := llm.Part{Kind: llm.PartThinking, Text: strings.Join(texts, "\n\n"), Signature: it.EncryptedContent, SignatureProtocol: llm.ProtocolResponses}
		if p.Text == "" && p.Signature != "" {
			p = llm.Part{Kind: llm.PartRedactedThinking, Data: it.EncryptedContent, SignatureProtocol: llm.ProtocolResponses}
		}
		if p.Text == "" && p.Data == "" {
			return nil
		}
		m := d.assistant()
		m.Parts = append(m.Parts, p)
	}
	// item_reference, local_shell_call, web_search_call… have no neutral
	// form; a same-protocol upstream gets them in the forwarded bytes.
	return nil
}

func callArguments(it item) (json.RawMessage, error) {
	if it.Type == "custom_tool_call" {
		in := ""
		if it.Input != nil {
			in = *it.Input
		}
		b, _ := json.Marshal(map[string]string{"input": in})
		return b, nil
	}
	if it.Arguments == nil || strings.TrimSpace(*it.Arguments) == "" {
		return json.RawMessage("{}"), nil
	}
	s := *it.Arguments
	if json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimSpace(s), "{") {
		return json.RawMessage(s), nil
	}
	b, _ := json.Marshal(map[string]string{"raw_input": s})
	return b, nil
}

func outputContent(raw json.RawMessage) ([]llm.Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '"' {
		var s string
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
		}
		return []llm.Part{{Kind: llm.PartText, Text: s}}, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("output must be a string or content parts: %w", err)
	}
	return decodeParts(parts), nil
}

func (d *inputDecoder) message(it item) error {
	role := llm.Role(it.Role)
	switch it.Role {
	case "system", "developer":
		role = llm.RoleSystem
	case "user", "assistant":
	default:
		return fmt.Errorf("unknown message role %q", it.Role)
	}
	var parts []llm.Part
	raw := bytes.TrimSpace(it.Content)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		parts = []llm.Part{{Kind: llm.PartText, Text: s}}
	} else if len(raw) > 0 && string(raw) != "null" {
		var cps []contentPart
		if err := json.Unmarshal(raw, &cps); err != nil {
			return fmt.Errorf("content must be a string or parts: %w", err)
		}
		parts = decodeParts(cps)
	}
	if role == llm.RoleSystem && len(d.req.Messages) == 0 {
		// Leading system/developer messages join the instructions.
		d.req.System = append(d.req.System, parts...)
		return nil
	}
	if role == llm.RoleAssistant {
		m := d.assistant()
		m.Parts = append(m.Parts, parts...)
		return nil
	}
	d.req.Messages = append(d.req.Messages, llm.Message{Role: role, Parts: parts})
	return nil
}

func decodeParts(cps []contentPart) []llm.Part {
	var out []llm.Part
	for _, c := range cps {
		switch c.Type {
		case "input_text", "output_text", "text", "summary_text":
			out = append(out, llm.Part{Kind: llm.PartText, Text: c.Text})
		case "refusal":
			out = append(out, llm.Part{Kind: llm.PartRefusal, Text: c.Refusal})
		case "input_image":
			p := llm.Part{Kind: llm.PartImage, Detail: c.Detail}
			if mt, data, ok := llm.ParseDataURL(c.ImageURL); ok {
				p.MediaType, p.Data = mt, data
			} else {
				p.URL = c.ImageURL
			}
			if p.URL == "" && p.Data == "" {
				continue // a file_id image: OpenAI-only, forwarded as bytes
			}
			out = append(out, p)
		case "input_file":
			p := llm.Part{Kind: llm.PartDocument, Name: c.Filename, URL: c.FileURL}
			if mt, data, ok := llm.ParseDataURL(c.FileData); ok {
				p.MediaType, p.Data = mt, data
			} else if c.FileData != "" {
				p.MediaType, p.Data = mediaTypeFromName(c.Filename), c.FileData
			}
			if p.URL == "" && p.Data == "" {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

func decodeTools(raws []json.RawMessage) ([]llm.Tool, error) {
	var out []llm.Tool
	for i, raw := range raws {
		var t wireTool
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "tools[%d]: %v", i, err)
		}
		switch t.Type {
		case "function":
			if t.Name == "" {
				return nil, badRequest(fmt.Sprintf("tools[%d].name", i), "tools[%d]: function without name", i)
			}
			out = append(out, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict})
		case "custom":
			// No Raw: other protocols must see a plain function.
			out = append(out, llm.Tool{
				Name: t.Name, Description: t.Description, FreeForm: true,
				Parameters: json.RawMessage(customParameters),
			})
		case "namespace":
			members, err := namespaceTools(t)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("tools[%d]", i), "tools[%d]: %v", i, err)
			}
			out = append(out, members...)
		default:
			name := t.Name
			if name == "" {
				name = t.Type
			}
			out = append(out, llm.Tool{Name: name, Raw: raw, RawProtocol: llm.ProtocolResponses})
		}
	}
	return out, nil
}

// namespaceTools flattens a namespace tool into its function and custom
// tools, named llm.QualifiedToolName(namespace, name) so that a call
// finds its way back (see llm.Tool.Namespace).
func namespaceTools(ns wireTool) ([]llm.Tool, error) {
	if ns.Name == "" {
		return nil, fmt.Errorf("namespace without name")
	}
	var out []llm.Tool
	for j, raw := range ns.Tools {
		var t wireTool
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("namespace %s tool %d: %w", ns.Name, j, err)
		}
		if t.Name == "" {
			return nil, fmt.Errorf("namespace %s tool %d without name", ns.Name, j)
		}
		lt := llm.Tool{Name: llm.QualifiedToolName(ns.Name, t.Name), Namespace: ns.Name, Description: t.Description,
			Parameters: t.Parameters, Strict: t.Strict}
		if t.Type == "custom" {
			lt.FreeForm, lt.Parameters, lt.Strict = true, json.RawMessage(customParameters), nil
		}
		out = append(out, lt)
	}
	return out, nil
}

// customParameters is the function schema a free-form (custom) tool is
// offered as to protocols without free-form tools.
const customParameters = `{"type":"object","properties":{"input":{"type":"string","description":"The raw input of the tool."}},"required":["input"]}`

func decodeToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return &llm.ToolChoice{Mode: llm.ToolChoiceMode(s)}, nil
		}
		return nil, badRequest("tool_choice", "unknown tool_choice %q", s)
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, badRequest("tool_choice", "invalid tool_choice: %v", err)
	}
	switch obj.Type {
	case "function", "custom":
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: obj.Name}, nil
	case "allowed_tools":
		if obj.Mode == "required" {
			return &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil
		}
	}
	return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
}

func mediaTypeFromName(name string) string {
	if strings.HasSuffix(strings.ToLower(name), ".pdf") {
		return "application/pdf"
	}
	return "application/octet-stream"
}

func badRequest(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(400, llm.ErrInvalidRequest, "responses: "+format, args...)
	e.Param = param
	return e
}
