package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeRequest converts a Gemini generateContent request body into a
// neutral request. The body carries no model: use DecodeRequestModel, or
// set Request.Model from the URL. Request.Stream is left false; the gateway
// sets it for :streamGenerateContent. Malformed input yields an *llm.Error
// with status 400.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(camelize(body), &top); err != nil {
		return nil, badRequest("", "invalid JSON body: %v", err)
	}
	if top == nil {
		return nil, badRequest("", "request body must be a JSON object")
	}
	var wr generateRequest
	for _, f := range []struct {
		key string
		dst any
	}{
		{"contents", &wr.Contents},
		{"systemInstruction", &wr.SystemInstruction},
		{"tools", &wr.Tools},
		{"toolConfig", &wr.ToolConfig},
	} {
		raw, ok := top[f.key]
		if !ok {
			continue
		}
		delete(top, f.key)
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return nil, badRequest(f.key, "invalid %s: %v", f.key, err)
		}
	}
	genExtra, err := splitGenerationConfig(top, &wr)
	if err != nil {
		return nil, err
	}
	req := &llm.Request{}
	if err := decodeGeneration(req, wr.GenerationConfig); err != nil {
		return nil, err
	}
	req.System = decodeSystem(wr.SystemInstruction)
	if req.Messages, err = decodeContents(wr.Contents); err != nil {
		return nil, err
	}
	req.Tools, req.ToolChoice = decodeTools(wr.Tools, wr.ToolConfig)
	if len(genExtra) > 0 {
		raw, _ := json.Marshal(genExtra)
		top["generationConfig"] = raw
	}
	if len(top) > 0 {
		req.Extra, req.ExtraProtocol = top, llm.ProtocolGemini
	}
	return req, nil
}

// DecodeRequestModel is DecodeRequest with the model taken from the URL
// path; a "models/" prefix is removed.
func DecodeRequestModel(model string, body []byte) (*llm.Request, error) {
	req, err := DecodeRequest(body)
	if err != nil {
		return nil, err
	}
	req.Model = strings.TrimPrefix(model, "models/")
	return req, nil
}

// Convertible reports whether a request decoded by DecodeRequest can be
// served by an upstream of another protocol: candidateCount > 1 (several
// answers) has no equivalent elsewhere, and cachedContent names content
// stored at Google that another provider never sees, so converting would
// silently answer without it. The gateway answers the returned
// *llm.Error (400) instead of converting.
func Convertible(req *llm.Request) error {
	if req.ExtraProtocol != llm.ProtocolGemini {
		return nil
	}
	if v, ok := req.Extra["candidateCount"]; ok {
		return badRequest("generationConfig.candidateCount", "candidateCount=%s (several candidates) is only supported by Gemini models; this model is served by another provider", v)
	}
	if v, ok := req.Extra["cachedContent"]; ok && string(v) != "null" && string(v) != `""` {
		return badRequest("cachedContent", "cachedContent %s is stored at Google and cannot be used with another provider; send its contents in the request instead", v)
	}
	return nil
}

// knownGeneration lists the generationConfig fields decodeGeneration maps;
// the others travel in Request.Extra["generationConfig"].
var knownGeneration = []string{
	"temperature", "topP", "topK", "candidateCount", "maxOutputTokens",
	"stopSequences", "seed", "responseMimeType", "responseSchema",
	"responseJsonSchema", "thinkingConfig",
}

// splitGenerationConfig decodes the known generationConfig fields into
// wr and returns the rest.
func splitGenerationConfig(top map[string]json.RawMessage, wr *generateRequest) (map[string]json.RawMessage, error) {
	raw, ok := top["generationConfig"]
	if !ok {
		return nil, nil
	}
	delete(top, "generationConfig")
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, badRequest("generationConfig", "invalid generationConfig: %v", err)
	}
	wr.GenerationConfig = &generationConfig{}
	if err := json.Unmarshal(raw, wr.GenerationConfig); err != nil {
		return nil, badRequest("generationConfig", "invalid generationConfig: %v", err)
	}
	for _, k := range knownGeneration {
		delete(fields, k)
	}
	return fields, nil
}

func decodeGeneration(req *llm.Request, g *generationConfig) error {
	if g == nil {
		return nil
	}
	if g.CandidateCount > 1 {
		// Kept for a Gemini upstream; other encoders refuse it.
		raw, _ := json.Marshal(g.CandidateCount)
		setExtra(req, "candidateCount", raw)
	}
	req.Temperature, req.TopP, req.MaxTokens, req.Seed = g.Temperature, g.TopP, g.MaxOutputTokens, g.Seed
	if g.TopK != nil {
		k := int(*g.TopK)
		req.TopK = &k
	}
	req.Stop = g.StopSequences
	switch {
	case len(g.ResponseJSONSchema) > 0:
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: g.ResponseJSONSchema}
	case len(g.ResponseSchema) > 0:
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: openAPIToJSONSchema(g.ResponseSchema)}
	case g.ResponseMimeType == "application/json":
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
	}
	if tc := g.ThinkingConfig; tc != nil {
		r := &llm.Reasoning{IncludeThoughts: tc.IncludeThoughts}
		if tc.ThinkingBudget != nil {
			switch b := *tc.ThinkingBudget; {
			case b == 0:
				r.Disabled = true
			default:
				r.BudgetTokens = b
				if b > 0 {
					r.Effort = EffortForBudget(b)
				}
			}
		}
		if tc.ThinkingLevel != "" {
			r.Effort = strings.ToLower(tc.ThinkingLevel)
		}
		req.Reasoning = r
	}
	return nil
}

func setExtra(req *llm.Request, key string, raw json.RawMessage) {
	if req.Extra == nil {
		req.Extra = map[string]json.RawMessage{}
	}
	req.Extra[key] = raw
	req.ExtraProtocol = llm.ProtocolGemini
}

func decodeSystem(c *content) []llm.Part {
	if c == nil {
		return nil
	}
	var out []llm.Part
	for _, p := range c.Parts {
		if p.Text != nil && *p.Text != "" {
			out = append(out, llm.Part{Kind: llm.PartText, Text: *p.Text})
		}
	}
	return out
}

// syntheticIDPrefix starts the ids synthesized for function calls that
// carry none (Gemini 2.x), so that encoders know not to send them back.
const syntheticIDPrefix = "llmgw_call_"

// callTracker synthesizes ids for id-less function calls and pairs
// function responses with them: by id when both carry one, otherwise by
// name in call order, never by name alone across turns.
type callTracker struct {
	n       int
	pending map[string][]string // name → ids of calls still awaiting a response
}

func (t *callTracker) call(id, name string) string {
	if id == "" {
		id = syntheticIDPrefix + strconv.Itoa(t.n)
	}
	t.n++
	if t.pending == nil {
		t.pending = map[string][]string{}
	}
	t.pending[name] = append(t.pending[name], id)
	return id
}

// response returns the id of the call a response answers, or "" for an
// orphan.
func (t *callTracker) response(id, name string) string {
	ids := t.pending[name]
	for i, pid := range ids {
		if id == "" || pid == id {
			t.pending[name] = append(ids[:i:i], ids[i+1:]...)
			return pid
		}
	}
	return id
}

func decodeContents(cs []content) ([]llm.Message, error) {
	var (
		out []llm.Message
		ct  callTracker
	)
	for i, c := range cs {
		role := llm.RoleUser
		switch c.Role {
		case "model", "assistant":
			role = llm.RoleAssistant
		case "", "user", "function", "tool":
		default:
			return nil, badRequest(fmt.Sprintf("contents[%d].role", i), "contents[%d]: unknown role %q", i, c.Role)
		}
		msg := llm.Message{Role: role}
		for j, p := range c.Parts {
			parts, err := decodeCarryingPart(p, &ct)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("contents[%d].parts[%d]", i, j), "contents[%d].parts[%d]: %v", i, j, err)
			}
			msg.Parts = append(msg.Parts, parts...)
		}
		if len(msg.Parts) > 0 {
			out = append(out, msg)
		}
	}
	return out, nil
}

func decodePart(p part, ct *callTracker) ([]llm.Part, error) {
	switch {
	case p.FunctionCall != nil:
		fc := p.FunctionCall
		if fc.Name == "" {
			return nil, fmt.Errorf("functionCall without name")
		}
		args, err := objectArgs(fc.Args)
		if err != nil {
			return nil, fmt.Errorf("functionCall.args: %w", err)
		}
		lp := llm.Part{Kind: llm.PartToolCall, ToolCallID: ct.call(fc.ID, fc.Name), ToolName: fc.Name, Arguments: args}
		signed(&lp, p.ThoughtSignature)
		return []llm.Part{lp}, nil
	case p.FunctionResponse != nil:
		return decodeFunctionResponse(p.FunctionResponse, ct), nil
	case p.InlineData != nil:
		return []llm.Part{{Kind: mediaKind(p.InlineData.MimeType), MediaType: p.InlineData.MimeType, Data: p.InlineData.Data}}, nil
	case p.FileData != nil:
		return []llm.Part{{Kind: mediaKind(p.FileData.MimeType), MediaType: p.FileData.MimeType, URL: p.FileData.FileURI}}, nil
	case p.Text != nil:
		kind := llm.PartText
		if p.Thought {
			kind = llm.PartThinking
		}
		if *p.Text == "" && p.ThoughtSignature == "" {
			return nil, nil
		}
		lp := llm.Part{Kind: kind, Text: *p.Text}
		signed(&lp, p.ThoughtSignature)
		return []llm.Part{lp}, nil
	case p.ThoughtSignature != "":
		lp := llm.Part{Kind: llm.PartText}
		signed(&lp, p.ThoughtSignature)
		return []llm.Part{lp}, nil
	}
	return nil, nil // executableCode and friends have no neutral form
}

func signed(p *llm.Part, sig string) {
	if sig != "" && sig != SkipSignatureSentinel {
		p.Signature, p.SignatureProtocol = sig, llm.ProtocolGemini
	}
}

func decodeFunctionResponse(fr *functionResponse, ct *callTracker) []llm.Part {
	text, isErr := responseText(fr.Response)
	res := []llm.Part{{Kind: llm.PartText, Text: text}}
	for _, p := range fr.Parts {
		if p.InlineData != nil {
			res = append(res, llm.Part{Kind: mediaKind(p.InlineData.MimeType), MediaType: p.InlineData.MimeType, Data: p.InlineData.Data})
		}
	}
	id := ct.response(fr.ID, fr.Name)
	if id == "" {
		// An orphan (its call is not in the history): plain text, since
		// no protocol accepts a result for an unknown call.
		return []llm.Part{{Kind: llm.PartText, Text: "Tool result (" + fr.Name + "): " + text}}
	}
	return []llm.Part{{Kind: llm.PartToolResult, ToolCallID: id, ToolName: fr.Name, Content: res, IsError: isErr}}
}

// responseText renders a functionResponse.response object as the text of
// a tool result: {"result": s} or {"output": s} unwrap to s, {"error": x}
// marks an error, anything else stays JSON.
func responseText(raw json.RawMessage) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil && len(m) == 1 {
		for k, v := range m {
			var s string
			isErr := k == "error"
			if (k == "result" || k == "output" || k == "content" || isErr) && json.Unmarshal(v, &s) == nil {
				return s, isErr
			}
			if isErr {
				return string(v), true
			}
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	return string(raw), false
}

func mediaKind(mime string) llm.PartKind {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return llm.PartImage
	case strings.HasPrefix(mime, "audio/"):
		return llm.PartAudio
	}
	return llm.PartDocument
}

// objectArgs checks that args is a JSON object (or absent, meaning {}).
func objectArgs(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] != '{' || !json.Valid(raw) {
		return nil, fmt.Errorf("must be a JSON object")
	}
	return raw, nil
}

func decodeTools(ts []tool, tc *toolConfig) ([]llm.Tool, *llm.ToolChoice) {
	var tools []llm.Tool
	for _, t := range ts {
		for _, fd := range t.FunctionDeclarations {
			lt := llm.Tool{Name: fd.Name, Description: fd.Description}
			switch {
			case len(fd.ParametersJSONSchema) > 0:
				lt.Parameters = fd.ParametersJSONSchema
			case len(fd.Parameters) > 0:
				lt.Parameters = openAPIToJSONSchema(fd.Parameters)
			}
			tools = append(tools, lt)
		}
	}
	if tc == nil || tc.FunctionCallingConfig == nil {
		return tools, nil
	}
	fcc := tc.FunctionCallingConfig
	switch strings.ToUpper(fcc.Mode) {
	case "NONE":
		return tools, &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	case "ANY", "VALIDATED":
		if len(fcc.AllowedFunctionNames) == 1 {
			return tools, &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: fcc.AllowedFunctionNames[0]}
		}
		if len(fcc.AllowedFunctionNames) > 1 {
			tools = allowedOnly(tools, fcc.AllowedFunctionNames)
		}
		return tools, &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	case "AUTO":
		return tools, &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
	}
	return tools, nil
}

// allowedOnly keeps the tools named in names: a neutral tool choice has
// no "any of these", and offering only them says the same.
func allowedOnly(tools []llm.Tool, names []string) []llm.Tool {
	var out []llm.Tool
	for _, t := range tools {
		for _, n := range names {
			if t.Name == n {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func badRequest(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(400, llm.ErrInvalidRequest, "gemini: "+format, args...)
	e.Param = param
	return e
}
