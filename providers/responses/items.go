package responses

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// Output item shapes, shared by EncodeResponse and StreamEncoder.

type outputText struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

type refusalPart struct {
	Type    string `json:"type"`
	Refusal string `json:"refusal"`
}

type messageItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Role    string `json:"role"`
	Content []any  `json:"content"`
}

type reasoningItem struct {
	ID               string        `json:"id"`
	Type             string        `json:"type"`
	Summary          []summaryPart `json:"summary"`
	EncryptedContent string        `json:"encrypted_content,omitempty"`
}

type callItem struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	Status    string  `json:"status"`
	CallID    string  `json:"call_id"`
	Name      string  `json:"name"`
	Namespace string  `json:"namespace,omitempty"`
	Arguments *string `json:"arguments,omitempty"`
	Input     *string `json:"input,omitempty"`
}

func textContent(kind llm.PartKind, s string) any {
	if kind == llm.PartRefusal {
		return refusalPart{Type: "refusal", Refusal: s}
	}
	return outputText{Type: "output_text", Text: s, Annotations: []any{}, Logprobs: []any{}}
}

func newMessage(id, status string) *messageItem {
	return &messageItem{ID: id, Type: "message", Status: status, Role: "assistant", Content: []any{}}
}

func newReasoning(id, text, sig string) *reasoningItem {
	it := &reasoningItem{ID: id, Type: "reasoning", Summary: []summaryPart{}}
	if text != "" {
		it.Summary = append(it.Summary, summaryPart{Type: "summary_text", Text: text})
	}
	it.EncryptedContent = sig
	return it
}

// newCall builds a function_call item, or a custom_tool_call item for a
// free-form tool, whose input is the "input" member of the arguments. A
// call of a tool declared in namespace ns names it as declared, with its
// namespace.
func newCall(id, callID, name, args, status string, custom bool, ns string) *callItem {
	c := &callItem{ID: id, Type: "function_call", Status: status, CallID: callID, Name: name, Arguments: &args}
	if custom {
		in := customInput(args)
		c = &callItem{ID: id, Type: "custom_tool_call", Status: status, CallID: callID, Name: name, Input: &in}
	}
	if ns != "" {
		c.Namespace, c.Name = ns, strings.TrimPrefix(name, ns+llm.NamespaceSep)
	}
	return c
}

// namespaces maps the qualified names of the client's namespaced tools to
// their namespace.
func namespaces(req *llm.Request) map[string]string {
	if req == nil {
		return nil
	}
	var m map[string]string
	for _, t := range req.Tools {
		if t.Namespace != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[t.Name] = t.Namespace
		}
	}
	return m
}

func customInput(args string) string {
	var v struct {
		Input string `json:"input"`
	}
	if json.Unmarshal([]byte(args), &v) == nil {
		return v.Input
	}
	return args
}

// freeFormTools returns the names of the client's custom tools.
func freeFormTools(req *llm.Request) map[string]bool {
	if req == nil {
		return nil
	}
	var m map[string]bool
	for _, t := range req.Tools {
		if t.FreeForm {
			if m == nil {
				m = map[string]bool{}
			}
			m[t.Name] = true
		}
	}
	return m
}

// idBase derives the stem of the response and item ids from the
// upstream's id, or a random one.
func idBase(upstream string) string {
	s := upstream
	for _, p := range []string{"resp_", "chatcmpl-", "msg_"} {
		s = strings.TrimPrefix(s, p)
	}
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		var r [12]byte
		_, _ = rand.Read(r[:])
		return hex.EncodeToString(r[:])
	}
	return string(b)
}

func usageToWire(u llm.Usage) *wireUsage {
	w := &wireUsage{InputTokens: u.PromptTokens(), OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens()}
	w.InputTokensDetails.CachedTokens = u.CacheReadTokens
	w.InputTokensDetails.CacheWriteTokens = u.CacheWriteTokens
	w.OutputTokensDetails.ReasoningTokens = u.ReasoningTokens
	return w
}

func (w *wireUsage) toLLM() llm.Usage {
	d := w.InputTokensDetails
	in := w.InputTokens - d.CachedTokens - d.CacheWriteTokens
	if in < 0 {
		in = 0
	}
	return llm.Usage{InputTokens: in, CacheReadTokens: d.CachedTokens, CacheWriteTokens: d.CacheWriteTokens,
		OutputTokens: w.OutputTokens, ReasoningTokens: w.OutputTokensDetails.ReasoningTokens}
}

// statusFor maps a stop reason onto the response status and incomplete
// details. refused says the output holds refusal
// text: a model that refused in words (OpenAI's refusal content part)
// completed its answer, as OpenAI reports it, while a refusal without
// words (Anthropic's stop_reason "refusal", a safety classifier cutting
// the output) is a content filter, as the chat encoder's
// finish_reason "content_filter" says too.
func statusFor(r llm.StopReason, refused bool) (string, *incompleteDetails) {
	switch r {
	case llm.StopLength, llm.StopContextWindow:
		return "incomplete", &incompleteDetails{Reason: "max_output_tokens"}
	case llm.StopContentFilter:
		return "incomplete", &incompleteDetails{Reason: "content_filter"}
	case llm.StopRefusal:
		if !refused {
			return "incomplete", &incompleteDetails{Reason: "content_filter"}
		}
	}
	return "completed", nil
}

// hasRefusal reports whether parts hold refusal text.
func hasRefusal(parts []llm.Part) bool {
	for _, p := range parts {
		if p.Kind == llm.PartRefusal && p.Text != "" {
			return true
		}
	}
	return false
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
