package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
)

// DecodeResponse converts a Gemini generateContent response body from an
// upstream into a neutral response. Only the first candidate is kept.
// Function calls without an id (Gemini 2.x) get synthesized ones that
// never repeat across turns (see DecodeResponseNonce).
func DecodeResponse(body []byte) (*llm.Response, error) {
	return DecodeResponseNonce(body, llm.NewNonce())
}

// DecodeResponseNonce is DecodeResponse with the random part of the
// synthesized call ids given, llmgw_call_<nonce>_<n>: Gemini may omit
// responseId or repeat it, and a client that sees one id twice in a
// conversation (Claude Code) drops the second call and its result, so
// each answer draws its own nonce. Tests pass a fixed one.
//
// A call's thoughtSignature becomes a thinking part with no text just
// before the call: that is the form every client encoder can carry back
// in its own protocol, and EncodeRequest puts it on the call again.
func DecodeResponseNonce(body []byte, nonce string) (*llm.Response, error) {
	var wr generateResponse
	if err := json.Unmarshal(body, &wr); err != nil {
		return nil, llm.Errorf(502, llm.ErrAPI, "gemini: invalid response body: %v", err)
	}
	if wr.Error != nil {
		return nil, wireErrorToLLM(wr.Error)
	}
	resp := &llm.Response{ID: wr.ResponseID, Model: wr.ModelVersion}
	if wr.UsageMetadata != nil {
		resp.Usage = wr.UsageMetadata.toLLM()
	}
	if len(wr.Candidates) == 0 {
		if wr.PromptFeedback != nil && wr.PromptFeedback.BlockReason != "" {
			resp.StopReason = llm.StopContentFilter
			return resp, nil
		}
		resp.StopReason = llm.StopEnd
		return resp, nil
	}
	c := wr.Candidates[0]
	calls := 0
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			lp, ok := responsePart(p, nonce, &calls)
			if !ok {
				continue
			}
			if lp.Kind == llm.PartToolCall && lp.Signature != "" {
				resp.Parts = append(resp.Parts, callSignature(lp))
				lp.Signature, lp.SignatureProtocol = "", ""
			}
			if lp.Kind == llm.PartText && lp.Text == "" && lp.Signature != "" && len(resp.Parts) > 0 {
				// A signature on an empty trailing part belongs to the
				// part before it.
				last := &resp.Parts[len(resp.Parts)-1]
				if last.Signature == "" {
					last.Signature, last.SignatureProtocol = lp.Signature, lp.SignatureProtocol
					continue
				}
			}
			resp.Parts = append(resp.Parts, lp)
		}
	}
	resp.StopReason = stopReason(c.FinishReason)
	if calls > 0 {
		resp.StopReason = llm.StopToolUse
	}
	return resp, nil
}

// responsePart converts one part of an upstream answer. Function calls
// without an id get llmgw_call_<nonce>_<n>.
func responsePart(p part, nonce string, calls *int) (llm.Part, bool) {
	var lp llm.Part
	switch {
	case p.FunctionCall != nil:
		args, err := objectArgs(p.FunctionCall.Args)
		if err != nil {
			args = argsObject(p.FunctionCall.Args)
		}
		id := p.FunctionCall.ID
		if id == "" {
			id = syntheticCallID(nonce, *calls)
		}
		*calls++
		lp = llm.Part{Kind: llm.PartToolCall, ToolCallID: id, ToolName: p.FunctionCall.Name, Arguments: args}
	case p.Text != nil:
		if *p.Text == "" && p.ThoughtSignature == "" {
			return lp, false
		}
		lp = llm.Part{Kind: llm.PartText, Text: *p.Text}
		if p.Thought {
			lp.Kind = llm.PartThinking
		}
	case p.ThoughtSignature != "":
		lp = llm.Part{Kind: llm.PartText}
	default:
		return lp, false
	}
	signed(&lp, p.ThoughtSignature)
	return lp, true
}

func syntheticCallID(nonce string, n int) string {
	return syntheticIDPrefix + sanitizeID(nonce) + "_" + strconv.Itoa(n)
}

// callSignature is the signature-only thinking part that stands for the
// thoughtSignature of call c in neutral form (see DecodeResponseNonce).
func callSignature(c llm.Part) llm.Part {
	return llm.Part{Kind: llm.PartThinking, Signature: c.Signature, SignatureProtocol: c.SignatureProtocol}
}

// sanitizeID keeps the characters every protocol accepts in a tool call
// id (Anthropic: ^[a-zA-Z0-9_-]+$).
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// stopReason maps a Gemini finishReason onto a neutral one (Gemini says
// STOP after tool calls too; the decoder's tool presence decides).
func stopReason(r string) llm.StopReason {
	switch r {
	case "MAX_TOKENS":
		return llm.StopLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return llm.StopContentFilter
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE":
		return llm.StopError
	}
	return llm.StopEnd
}

// finishReason maps a neutral stop reason onto Gemini's; tool calls end
// with STOP, as Gemini's own do.
func finishReason(r llm.StopReason) string {
	switch r {
	case llm.StopLength, llm.StopContextWindow:
		return "MAX_TOKENS"
	case llm.StopContentFilter, llm.StopRefusal:
		return "SAFETY"
	case llm.StopError:
		return "MALFORMED_FUNCTION_CALL"
	}
	return "STOP"
}

// toLLM converts Gemini usage into llm.Usage's convention. Thoughts are
// added to candidates unless the counts show they are already in
// (prompt + candidates == total, as some Vertex responses report).
func (u *usageMetadata) toLLM() llm.Usage {
	input := u.PromptTokenCount + u.ToolUsePromptTokenCount - u.CachedContentTokenCount
	if input < 0 {
		input = 0
	}
	out := u.CandidatesTokenCount + u.ThoughtsTokenCount
	if u.TotalTokenCount != 0 && u.ThoughtsTokenCount != 0 &&
		u.PromptTokenCount+u.ToolUsePromptTokenCount+u.CandidatesTokenCount == u.TotalTokenCount {
		out = u.CandidatesTokenCount
	}
	return llm.Usage{
		InputTokens:     input,
		OutputTokens:    out,
		CacheReadTokens: u.CachedContentTokenCount,
		ReasoningTokens: u.ThoughtsTokenCount,
	}
}

func usageFromLLM(u llm.Usage) *usageMetadata {
	cand := u.OutputTokens - u.ReasoningTokens
	if cand < 0 {
		cand = 0
	}
	return &usageMetadata{
		PromptTokenCount:        u.PromptTokens(),
		CandidatesTokenCount:    cand,
		CachedContentTokenCount: u.CacheReadTokens,
		ThoughtsTokenCount:      u.ReasoningTokens,
		TotalTokenCount:         u.TotalTokens(),
	}
}

// EncodeResponse converts a neutral response into a Gemini
// generateContent body for the client. Thinking is shown only when the
// client asked for thoughts (includeThoughts); req may be nil.
func EncodeResponse(resp *llm.Response, req *llm.Request) ([]byte, error) {
	thoughts := req != nil && req.Reasoning != nil && req.Reasoning.IncludeThoughts
	var (
		parts []part
		carry carrier // another provider's reasoning, for the next part
	)
	for _, p := range foldCallSignatures(resp.Parts) {
		if llm.Carries(p, llm.ProtocolGemini) {
			carry.pending = append(carry.pending, p)
			if thoughts && p.Kind == llm.PartThinking && p.Text != "" {
				tp := textPart(p.Text)
				tp.Thought = true
				parts = append(parts, tp)
			}
			continue
		}
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			if p.Text == "" && p.SignatureProtocol != llm.ProtocolGemini {
				continue
			}
			tp := textPart(p.Text)
			tp.ThoughtSignature = clientSignature(p, &carry)
			parts = append(parts, tp)
		case llm.PartThinking:
			if !thoughts && p.SignatureProtocol != llm.ProtocolGemini {
				continue
			}
			text := p.Text
			if !thoughts {
				text = ""
			}
			tp := textPart(text)
			tp.Thought, tp.ThoughtSignature = true, clientSignature(p, &carry)
			parts = append(parts, tp)
		case llm.PartToolCall:
			fc := part{FunctionCall: &functionCall{ID: geminiID(p.ToolCallID), Name: p.ToolName, Args: argsObject(p.Arguments)}}
			// No sentinel for foreign calls here: go-genai decodes
			// thoughtSignature as base64 bytes and fails on it. The
			// request encoder adds it when the history goes to Gemini.
			fc.ThoughtSignature = clientSignature(p, &carry)
			parts = append(parts, fc)
		}
	}
	if sig := carry.take(); sig != "" {
		// Nothing followed the reasoning: a thought part carries it.
		tp := textPart("")
		tp.Thought, tp.ThoughtSignature = true, sig
		parts = append(parts, tp)
	}
	if len(parts) == 0 {
		parts = []part{textPart("")}
	}
	wr := generateResponse{
		Candidates: []candidate{{
			Content:      &content{Role: "model", Parts: parts},
			FinishReason: finishReason(resp.StopReason),
		}},
		UsageMetadata: usageFromLLM(resp.Usage),
		ModelVersion:  resp.Model,
		ResponseID:    resp.ID,
	}
	body, err := json.Marshal(wr)
	if err != nil {
		return nil, fmt.Errorf("gemini: encode response: %w", err)
	}
	return body, nil
}

// clientSignature is the thoughtSignature a Gemini client gets on p: its
// own Gemini signature, else the reasoning another provider issued before
// it (see carrier).
func clientSignature(p llm.Part, c *carrier) string {
	if p.SignatureProtocol == llm.ProtocolGemini && p.Signature != "" {
		return p.Signature
	}
	return c.take()
}

// UsageMember is the top-level member of a generateContent body that
// carries its usage.
const UsageMember = "usageMetadata"

// ResponseUsage reads the usage of a same-protocol (pass-through)
// generateContent body; ok is false when it has none.
func ResponseUsage(body []byte) (llm.Usage, bool) {
	if !bytes.Contains(body, []byte(`"usageMetadata"`)) {
		return llm.Usage{}, false
	}
	return ParseUsage(wirejson.Member(body, UsageMember))
}

// ParseUsage reads the value of a body's UsageMember, for a caller that
// has already found it in its own pass over the body; ok is false when raw
// is nil or not a usage object.
func ParseUsage(raw []byte) (llm.Usage, bool) {
	var um usageMetadata
	if raw == nil || json.Unmarshal(raw, &um) != nil {
		return llm.Usage{}, false
	}
	return um.toLLM(), true
}
