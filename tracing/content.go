package tracing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// ContentEnvVar is the variable OpenTelemetry's GenAI instrumentations
// read to capture message content; llmgw honours it when no flag says
// otherwise.
const ContentEnvVar = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

// ContentEnabled reports whether prompts and completions go on the spans:
// flag ("true" or "false", as `llmgw start --otel-content` is written)
// decides when set; "" leaves it to ContentEnvVar, off unless it says
// true. Content is never exported by default: prompts hold what users
// typed and what tools returned.
func ContentEnabled(flag string, getenv func(string) string) (bool, error) {
	if flag = strings.TrimSpace(flag); flag != "" {
		on, err := strconv.ParseBool(flag)
		if err != nil {
			return false, fmt.Errorf("tracing: content export %q: want true or false", flag)
		}
		return on, nil
	}
	if getenv == nil {
		return false, nil
	}
	on, _ := strconv.ParseBool(strings.TrimSpace(getenv(ContentEnvVar)))
	return on, nil
}

// msgPart is one part of a message in the conventions' schema: text,
// reasoning, tool_call, tool_call_response, blob (inline data) or uri.
type msgPart struct {
	Type      string          `json:"type"`
	Content   *string         `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  any             `json:"response,omitempty"`
	MIMEType  string          `json:"mime_type,omitempty"`
	Modality  string          `json:"modality,omitempty"`
	URI       string          `json:"uri,omitempty"`
}

type chatMessage struct {
	Role         string    `json:"role"`
	Name         string    `json:"name,omitempty"`
	Parts        []msgPart `json:"parts"`
	FinishReason string    `json:"finish_reason,omitempty"`
}

// RequestContent is a request's system instructions and input messages
// as the values of SystemInstructions and InputMessages ("" for none).
func RequestContent(req *llm.Request) (system, messages string) {
	if len(req.System) > 0 {
		system = marshal(contentParts(req.System))
	}
	msgs := make([]chatMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		role := string(m.Role)
		if allToolResults(m.Parts) {
			role = string(llm.RoleTool) // the conventions' role for tool results, whichever role the wire used
		}
		msgs = append(msgs, chatMessage{Role: role, Name: m.Name, Parts: contentParts(m.Parts)})
	}
	return system, marshal(msgs)
}

// Output collects the answer of one model call for OutputMessages, from a
// whole response (Response) or a stream's neutral events (Events). The
// zero value is empty.
type Output struct {
	parts []llm.Part
	// texts are a stream's parts' texts as they grow, one per part
	// (appending delta by delta to a string would copy a long answer once
	// per delta).
	texts [][]byte
	open  map[int]int // a stream's block index → its part in parts
	stop  llm.StopReason
	seen  bool
}

// Response takes a whole answer.
func (o *Output) Response(r *llm.Response) {
	o.parts, o.texts, o.open = append(o.parts[:0], r.Parts...), nil, nil
	o.stop, o.seen = r.StopReason, true
}

// Events takes a stream's next neutral events: each block becomes a part,
// its deltas its text (a tool call's, its arguments).
func (o *Output) Events(evs []llm.Event) {
	for i := range evs {
		e := &evs[i]
		switch e.Kind {
		case llm.EventBlockStart:
			if o.open == nil {
				o.open = map[int]int{}
			}
			o.open[e.Index] = len(o.parts)
			o.parts = append(o.parts, llm.Part{Kind: e.Block, ToolCallID: e.ToolCallID, ToolName: e.ToolName})
			o.texts = append(o.texts, nil)
			o.seen = true
		case llm.EventDelta:
			j, ok := o.open[e.Index]
			if !ok {
				continue
			}
			if p := &o.parts[j]; p.Kind == llm.PartToolCall {
				p.Arguments = append(p.Arguments, e.Text...)
			} else {
				o.texts[j] = append(o.texts[j], e.Text...)
			}
		case llm.EventFinish:
			o.stop, o.seen = e.StopReason, true
		}
	}
}

// JSON is the value of OutputMessages: one assistant message with the
// answer's parts and its finish reason; "" when nothing was collected.
func (o *Output) JSON() string {
	if o == nil || !o.seen {
		return ""
	}
	for j, t := range o.texts {
		if len(t) > 0 {
			o.parts[j].Text = string(t)
		}
	}
	return marshal([]chatMessage{{Role: string(llm.RoleAssistant), Parts: contentParts(o.parts), FinishReason: FinishReason(o.stop)}})
}

// FinishReason maps a neutral stop reason to the conventions' finish
// reasons (stop, length, content_filter, tool_call, error).
func FinishReason(s llm.StopReason) string {
	switch s {
	case llm.StopLength, llm.StopContextWindow:
		return "length"
	case llm.StopToolUse:
		return "tool_call"
	case llm.StopContentFilter, llm.StopRefusal:
		return "content_filter"
	case llm.StopError:
		return "error"
	}
	return "stop"
}

// contentParts converts neutral parts to the conventions' parts. Redacted
// thinking (opaque to anyone but its issuer) is left out.
func contentParts(ps []llm.Part) []msgPart {
	out := make([]msgPart, 0, len(ps))
	for i := range ps {
		p := &ps[i]
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			out = append(out, msgPart{Type: "text", Content: &p.Text})
		case llm.PartThinking:
			out = append(out, msgPart{Type: "reasoning", Content: &p.Text})
		case llm.PartToolCall:
			args := p.Arguments
			if !json.Valid(args) {
				args, _ = json.Marshal(string(args)) // a fragment: kept, as a string
			}
			out = append(out, msgPart{Type: "tool_call", ID: p.ToolCallID, Name: p.ToolName, Arguments: args})
		case llm.PartToolResult:
			out = append(out, msgPart{Type: "tool_call_response", ID: p.ToolCallID, Response: toolResponse(p.Content)})
		case llm.PartImage, llm.PartDocument, llm.PartAudio:
			out = append(out, media(p))
		}
	}
	return out
}

// toolResponse is a tool result's content: its text when it is all text,
// else its parts.
func toolResponse(ps []llm.Part) any {
	var b strings.Builder
	for i := range ps {
		if ps[i].Kind != llm.PartText {
			return contentParts(ps)
		}
		b.WriteString(ps[i].Text)
	}
	return b.String()
}

// media is an image, document or audio part: a blob with its base64 bytes
// when inline, a uri part when referenced.
func media(p *llm.Part) msgPart {
	modality := "image"
	switch p.Kind {
	case llm.PartDocument:
		modality = "document"
	case llm.PartAudio:
		modality = "audio"
	}
	mime := p.MediaType
	if p.Kind == llm.PartAudio && mime != "" && !strings.Contains(mime, "/") {
		mime = "audio/" + mime // the neutral form keeps the wire's format name
	}
	if p.Data == "" && p.URL != "" {
		if mt, data, ok := llm.ParseDataURL(p.URL); ok {
			return msgPart{Type: "blob", MIMEType: mt, Modality: modality, Content: &data}
		}
		return msgPart{Type: "uri", MIMEType: mime, Modality: modality, URI: p.URL}
	}
	data := p.Data
	return msgPart{Type: "blob", MIMEType: mime, Modality: modality, Content: &data}
}

// allToolResults reports parts that are tool results only.
func allToolResults(ps []llm.Part) bool {
	for i := range ps {
		if ps[i].Kind != llm.PartToolResult {
			return false
		}
	}
	return len(ps) > 0
}

// marshal is v as JSON; the values here always marshal.
func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
