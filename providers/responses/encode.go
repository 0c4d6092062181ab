package responses

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// silentExtras are foreign fields that mean nothing to a Responses
// upstream and are dropped without a warning.
var silentExtras = map[string]bool{"stream_options": true, "anthropic_beta": true}

// openAIExtras are OpenAI chat fields a Responses upstream knows under the
// same name and meaning.
var openAIExtras = map[string]bool{
	"prompt_cache_key": true, "service_tier": true, "metadata": true, "safety_identifier": true,
	"store": true, "truncation": true, "include": true, "previous_response_id": true,
}

// EncodeRequest converts a neutral request into a Responses API body for
// an upstream (an OpenAI provider normally takes chat completions when
// converting; this serves Responses-only upstreams). It asks for
// store:false and encrypted reasoning so that every turn is
// self-contained.
func EncodeRequest(req *llm.Request) ([]byte, []string, error) {
	var warnings []string
	body := map[string]any{"model": req.Model, "store": false}
	var sys []string
	for _, p := range req.System {
		if p.Kind == llm.PartText {
			sys = append(sys, p.Text)
		}
	}
	if len(sys) > 0 {
		body["instructions"] = strings.Join(sys, "\n\n")
	}
	// Every function_call needs its function_call_output.
	input, dropped := encodeInput(llm.PairToolResults(req.Messages), freeFormTools(req), namespaces(req))
	body["input"] = input
	if dropped > 0 {
		warnings = append(warnings, fmt.Sprintf("responses: dropped %d thinking blocks from another provider", dropped))
	}
	if tools, w := encodeTools(req.Tools); len(tools) > 0 {
		body["tools"] = tools
		warnings = append(warnings, w...)
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceTool:
			body["tool_choice"] = map[string]string{"type": "function", "name": llm.ShortToolName(tc.Name)}
		default:
			body["tool_choice"] = string(tc.Mode)
		}
	}
	setIf(body, "parallel_tool_calls", req.ParallelToolCalls, req.ParallelToolCalls != nil)
	setIf(body, "max_output_tokens", req.MaxTokens, req.MaxTokens > 0)
	// A reasoning model refuses a client's sampling but the defaults.
	temp, topP, unset := llm.OpenAISampling(req.Model, req.Temperature, req.TopP)
	for _, d := range unset {
		warnings = append(warnings, "responses: dropped "+d+": "+req.Model+" takes only the default")
	}
	setIf(body, "temperature", temp, temp != nil)
	setIf(body, "top_p", topP, topP != nil)
	setIf(body, "user", req.User, req.User != "")
	setIf(body, "stream", true, req.Stream)
	if r := req.Reasoning; r != nil {
		rw := map[string]string{}
		effort := r.Effort
		if effort == "" && r.BudgetTokens > 0 {
			effort = effortForBudget(r.BudgetTokens)
		}
		if r.Disabled {
			effort = "none"
		}
		setIf(rw, "effort", effort, effort != "")
		summary := r.Summary
		if summary == "" && r.IncludeThoughts {
			summary = "auto"
		}
		setIf(rw, "summary", summary, summary != "")
		body["reasoning"] = rw
		body["include"] = []string{"reasoning.encrypted_content"}
	}
	if rf := req.ResponseFormat; rf != nil {
		body["text"] = map[string]any{"format": wireFormat{Type: rf.Type, Name: rf.Name, Schema: rf.Schema, Strict: rf.Strict}}
	}
	if req.TopK != nil {
		warnings = append(warnings, "responses: dropped top_k: OpenAI has no equivalent")
	}
	if len(req.Stop) > 0 {
		warnings = append(warnings, "responses: dropped stop sequences: the Responses API has none")
	}
	var unknown []string
	for k, v := range req.Extra {
		switch {
		case req.ExtraProtocol == llm.ProtocolResponses || req.ExtraProtocol == llm.ProtocolOpenAI && openAIExtras[k]:
			if k == "verbosity" {
				t, _ := body["text"].(map[string]any)
				if t == nil {
					t = map[string]any{}
				}
				t["verbosity"] = v
				body["text"] = t
				continue
			}
			body[k] = v
		case !silentExtras[k]:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		warnings = append(warnings, fmt.Sprintf("responses: dropped %s fields unknown to the Responses API: %s", req.ExtraProtocol, strings.Join(unknown, ", ")))
	}
	if _, ok := body["prompt_cache_key"]; !ok && req.CacheKey != "" {
		// As for chat completions: one key per session, one cache.
		body["prompt_cache_key"] = req.CacheKey
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, warnings, fmt.Errorf("responses: encode request: %w", err)
	}
	return b, warnings, nil
}

func setIf[M ~map[string]V, V any, T any](m M, k string, v T, ok bool) {
	if ok {
		m[k] = any(v).(V)
	}
}

func effortForBudget(b int) string {
	switch {
	case b >= 8192:
		return "xhigh"
	case b >= 4096:
		return "high"
	case b >= 2048:
		return "medium"
	case b >= 1024:
		return "low"
	}
	return "minimal"
}

// encodeInput converts the history into input items; calls of the
// free-form tools in custom become custom_tool_call items again.
func encodeInput(msgs []llm.Message, custom map[string]bool, ns map[string]string) (items []any, dropped int) {
	customCalls := map[string]bool{}
	items = []any{}
	for _, m := range msgs {
		var content []any
		flush := func() {
			if len(content) == 0 {
				return
			}
			role := string(m.Role)
			if m.Role == llm.RoleSystem {
				role = "developer"
			}
			items = append(items, map[string]any{"type": "message", "role": role, "content": content})
			content = nil
		}
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText, llm.PartRefusal:
				typ := "input_text"
				if m.Role == llm.RoleAssistant {
					typ = "output_text"
				}
				content = append(content, map[string]string{"type": typ, "text": p.Text})
			case llm.PartImage:
				url := p.URL
				if p.Data != "" {
					url = llm.DataURL(p.MediaType, p.Data)
				}
				content = append(content, map[string]string{"type": "input_image", "image_url": url, "detail": orAuto(p.Detail)})
			case llm.PartDocument:
				c := map[string]string{"type": "input_file", "filename": p.Name}
				if p.Data != "" {
					c["file_data"] = llm.DataURL(p.MediaType, p.Data)
				} else {
					c["file_url"] = p.URL
				}
				content = append(content, c)
			case llm.PartToolCall:
				flush()
				call := map[string]any{"type": "function_call", "call_id": p.ToolCallID, "name": llm.ShortToolName(p.ToolName), "arguments": string(p.Arguments)}
				if custom[p.ToolName] {
					customCalls[p.ToolCallID] = true
					call = map[string]any{"type": "custom_tool_call", "call_id": p.ToolCallID, "name": llm.ShortToolName(p.ToolName), "input": customInput(string(p.Arguments))}
				}
				if n := ns[p.ToolName]; n != "" {
					call["namespace"], call["name"] = n, strings.TrimPrefix(p.ToolName, n+llm.NamespaceSep)
				}
				items = append(items, call)
			case llm.PartToolResult:
				flush()
				var texts []string
				for _, c := range p.Content {
					if c.Kind == llm.PartText {
						texts = append(texts, c.Text)
					}
				}
				typ := "function_call_output"
				if customCalls[p.ToolCallID] {
					typ = "custom_tool_call_output"
				}
				items = append(items, map[string]any{"type": typ, "call_id": p.ToolCallID, "output": strings.Join(texts, "\n")})
			case llm.PartThinking, llm.PartRedactedThinking:
				if p.SignatureProtocol == "" {
					// Unsigned text (a thought summary a client shows
					// and replays): nothing to continue, as for Claude.
					continue
				}
				if p.SignatureProtocol != llm.ProtocolResponses {
					dropped++
					continue
				}
				flush()
				enc := p.Signature
				if p.Kind == llm.PartRedactedThinking {
					enc = p.Data
				}
				summary := []summaryPart{}
				if p.Text != "" {
					summary = append(summary, summaryPart{Type: "summary_text", Text: p.Text})
				}
				items = append(items, map[string]any{"type": "reasoning", "summary": summary, "encrypted_content": enc})
			}
		}
		flush()
	}
	return items, dropped
}

// namespaceMember is the member of a namespace tool that t, flattened by
// DecodeRequest, was declared as.
func namespaceMember(t llm.Tool) json.RawMessage {
	name := strings.TrimPrefix(t.Name, t.Namespace+llm.NamespaceSep)
	if t.FreeForm {
		return mustJSON(map[string]any{"type": "custom", "name": name, "description": t.Description})
	}
	params := t.Parameters
	if len(params) == 0 {
		params = json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return mustJSON(wireTool{Type: "function", Name: name, Description: t.Description, Parameters: params, Strict: t.Strict})
}

func orAuto(s string) string {
	if s == "" {
		return "auto"
	}
	return s
}

func encodeTools(ts []llm.Tool) ([]any, []string) {
	var out []any
	var warnings []string
	nested := map[string]*wireTool{} // namespace tools being built
	for _, t := range ts {
		if t.Namespace != "" && len(t.Raw) == 0 {
			// Nested again, as the client declared it.
			member := namespaceMember(t)
			if n := nested[t.Namespace]; n != nil {
				n.Tools = append(n.Tools, member)
				continue
			}
			n := &wireTool{Type: "namespace", Name: t.Namespace, Description: t.Namespace, Tools: []json.RawMessage{member}}
			nested[t.Namespace] = n
			out = append(out, n)
			continue
		}
		switch {
		case t.FreeForm:
			out = append(out, map[string]any{"type": "custom", "name": llm.ShortToolName(t.Name), "description": t.Description})
		case len(t.Raw) > 0:
			if t.RawProtocol == llm.ProtocolResponses {
				out = append(out, t.Raw)
			} else {
				warnings = append(warnings, fmt.Sprintf("responses: dropped %s tool %q: no Responses equivalent", t.RawProtocol, t.Name))
			}
		default:
			params := t.Parameters
			if len(params) == 0 {
				params = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			out = append(out, wireTool{Type: "function", Name: llm.ShortToolName(t.Name), Description: t.Description, Parameters: params, Strict: t.Strict})
		}
	}
	return out, warnings
}
