package responses

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// EncodeResponse converts a neutral response into a Responses API
// response object for the client. req is the client's decoded request
// (its custom tools get custom_tool_call items); it may be nil.
func EncodeResponse(resp *llm.Response, req *llm.Request) ([]byte, error) {
	base := idBase(resp.ID)
	custom, ns := freeFormTools(req), namespaces(req)
	var output []json.RawMessage
	for i, p := range resp.Parts {
		n := fmt.Sprintf("%s_%d", base, i)
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			if p.Text == "" {
				continue
			}
			m := newMessage("msg_"+n, "completed")
			m.Content = append(m.Content, textContent(p.Kind, p.Text))
			output = append(output, mustJSON(m))
		case llm.PartThinking, llm.PartRedactedThinking:
			sig := ""
			switch {
			case llm.Carries(p, llm.ProtocolResponses):
				// Another provider's reasoning comes back to it in
				// encrypted_content, the item's opaque field.
				sig = llm.Carry([]llm.Part{p})
			case p.SignatureProtocol == llm.ProtocolResponses:
				sig = p.Signature
			}
			if p.Kind == llm.PartRedactedThinking && sig == "" {
				continue
			}
			text := p.Text
			if p.Kind == llm.PartRedactedThinking {
				text = ""
			}
			output = append(output, mustJSON(newReasoning("rs_"+n, text, sig)))
		case llm.PartToolCall:
			args := string(p.Arguments)
			if args == "" {
				args = "{}"
			}
			prefix := "fc_"
			if custom[p.ToolName] {
				prefix = "ctc_"
			}
			output = append(output, mustJSON(newCall(prefix+n, p.ToolCallID, p.ToolName, args, "completed", custom[p.ToolName], ns[p.ToolName])))
		}
	}
	if output == nil {
		output = []json.RawMessage{}
	}
	created := resp.Created
	if created == 0 {
		created = time.Now().Unix()
	}
	status, details := statusFor(resp.StopReason, hasRefusal(resp.Parts))
	model := resp.Model
	if model == "" && req != nil {
		model = req.Model
	}
	w := wireResponse{
		ID: "resp_" + base, Object: "response", CreatedAt: created, Status: status, IncompleteDetails: details,
		Model: model, Output: output, ParallelToolCalls: true, ToolChoice: json.RawMessage(`"auto"`),
		Tools: []json.RawMessage{}, Usage: usageToWire(resp.Usage),
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("responses: encode response: %w", err)
	}
	return b, nil
}

// upstreamResponse is the part of a response object DecodeResponse reads.
type upstreamResponse struct {
	ID                string             `json:"id"`
	CreatedAt         int64              `json:"created_at"`
	Status            string             `json:"status"`
	Error             *wireError         `json:"error"`
	IncompleteDetails *incompleteDetails `json:"incomplete_details"`
	Model             string             `json:"model"`
	Output            []item             `json:"output"`
	Usage             *wireUsage         `json:"usage"`
}

// DecodeResponse converts a Responses API response body from an upstream
// into a neutral response.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w upstreamResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.Errorf(502, llm.ErrAPI, "responses: invalid response body: %v", err)
	}
	if w.Status == "failed" && w.Error != nil {
		return nil, &llm.Error{Status: 502, Type: llm.ErrAPI, Message: w.Error.Message, Code: w.Error.Code}
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, Created: w.CreatedAt}
	if w.Usage != nil {
		resp.Usage = w.Usage.toLLM()
	}
	for _, it := range w.Output {
		resp.Parts = append(resp.Parts, outputParts(it)...)
	}
	resp.StopReason = stopReason(w.Status, w.IncompleteDetails)
	switch {
	case resp.HasToolCalls():
		resp.StopReason = llm.StopToolUse
	case resp.StopReason == llm.StopEnd && len(resp.Parts) > 0 && resp.Parts[len(resp.Parts)-1].Kind == llm.PartRefusal:
		resp.StopReason = llm.StopRefusal
	}
	return resp, nil
}

// outputParts converts one output item.
func outputParts(it item) []llm.Part {
	switch it.Type {
	case "message":
		var cps []contentPart
		_ = json.Unmarshal(it.Content, &cps)
		return decodeParts(cps)
	case "reasoning":
		text := ""
		for i, s := range it.Summary {
			if i > 0 {
				text += "\n\n"
			}
			text += s.Text
		}
		if text == "" && it.EncryptedContent == "" {
			return nil
		}
		p := llm.Part{Kind: llm.PartThinking, Text: text}
		if it.EncryptedContent != "" {
			p.Signature, p.SignatureProtocol = it.EncryptedContent, llm.ProtocolResponses
		}
		return []llm.Part{p}
	case "function_call", "custom_tool_call":
		args, _ := callArguments(it)
		return []llm.Part{{Kind: llm.PartToolCall, ToolCallID: it.CallID, ToolName: llm.QualifiedToolName(it.Namespace, it.Name), Arguments: args}}
	}
	return nil
}

func stopReason(status string, d *incompleteDetails) llm.StopReason {
	if status == "incomplete" && d != nil {
		switch d.Reason {
		case "max_output_tokens":
			return llm.StopLength
		case "content_filter":
			return llm.StopContentFilter
		}
	}
	return llm.StopEnd
}

// UsageMember is the top-level member of a Responses body that carries
// its usage.
const UsageMember = "usage"

// ResponseUsage reads the usage of a same-protocol (pass-through)
// Responses body; ok is false when it has none.
func ResponseUsage(body []byte) (llm.Usage, bool) {
	if !bytes.Contains(body, []byte(`"usage"`)) {
		return llm.Usage{}, false
	}
	return ParseUsage(wirejson.Member(body, UsageMember))
}

// ParseUsage reads the value of a body's UsageMember, for a caller that
// has already found it in its own pass over the body; ok is false when raw
// is nil (absent or null) or not a usage object.
func ParseUsage(raw []byte) (llm.Usage, bool) {
	var u wireUsage
	if raw == nil || raw[0] != '{' || json.Unmarshal(raw, &u) != nil {
		return llm.Usage{}, false
	}
	return u.toLLM(), true
}

// UsageScanner reads usage from a same-protocol Responses stream
// forwarded as is: only the terminal response.completed / incomplete /
// failed events are decoded.
type UsageScanner struct {
	usage llm.Usage
	ok    bool
}

// usageMarker is the key, quotes included: no JSON layout changes it, and
// text content cannot contain it unescaped.
var usageMarker = []byte(`"usage"`)

// Observe looks at one forwarded event.
func (s *UsageScanner) Observe(ev sse.Event) {
	switch ev.Name {
	case "response.completed", "response.incomplete", "response.failed":
	case "":
		// An upstream without event: lines; fall back to the payload.
	default:
		return
	}
	if !bytes.Contains(ev.Data, usageMarker) {
		return
	}
	var w struct {
		Response struct {
			Usage *wireUsage `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(ev.Data, &w) == nil && w.Response.Usage != nil {
		s.usage, s.ok = w.Response.Usage.toLLM(), true
	}
}

// Usage returns the usage seen; ok is false when none was.
func (s *UsageScanner) Usage() (llm.Usage, bool) { return s.usage, s.ok }
