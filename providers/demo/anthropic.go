package demo

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// serveAnthropic dispatches the Anthropic surface: messages, count_tokens
// and models. The query string (?beta=true) is ignored and no header is
// required.
func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request) {
	const proto = llm.ProtocolAnthropic
	switch p := r.URL.Path; {
	case p == "/v1/messages":
		if method(w, r, proto, http.MethodPost) {
			s.messages(w, r)
		}
	case p == "/v1/messages/count_tokens":
		if method(w, r, proto, http.MethodPost) {
			s.countTokens(w, r)
		}
	case p == "/v1/models":
		if method(w, r, proto, http.MethodGet) {
			list := anthropicModelList{Data: anthropicModels()}
			list.FirstID, list.LastID = list.Data[0].ID, list.Data[len(list.Data)-1].ID
			s.writeJSON(w, r, 0, list)
		}
	case strings.HasPrefix(p, "/v1/models/"):
		if method(w, r, proto, http.MethodGet) {
			s.writeJSON(w, r, 0, anthropicModel(strings.TrimPrefix(p, "/v1/models/")))
		}
	default:
		notFound(w, r, proto)
	}
}

type anthropicModelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type anthropicModelList struct {
	Data    []anthropicModelInfo `json:"data"`
	HasMore bool                 `json:"has_more"`
	FirstID string               `json:"first_id"`
	LastID  string               `json:"last_id"`
}

func anthropicModel(id string) anthropicModelInfo {
	return anthropicModelInfo{Type: "model", ID: id, DisplayName: "llmgw demo (" + id + ")",
		CreatedAt: time.Unix(created, 0).UTC().Format(time.RFC3339)}
}

func anthropicModels() []anthropicModelInfo {
	out := make([]anthropicModelInfo, len(models))
	for i, id := range models {
		out[i] = anthropicModel(id)
	}
	return out
}

type anthropicError struct {
	Type  string             `json:"type"`
	Error anthropicErrorBody `json:"error"`
}

type anthropicErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func anthropicErrorType(e *llm.Error) string {
	switch e.Type {
	case llm.ErrInvalidRequest:
		return "invalid_request_error"
	case llm.ErrAuthentication:
		return "authentication_error"
	case llm.ErrPermission:
		return "permission_error"
	case llm.ErrNotFound:
		return "not_found_error"
	case llm.ErrTooLarge:
		return "request_too_large"
	case llm.ErrRateLimit:
		return "rate_limit_error"
	case llm.ErrOverloaded:
		return "overloaded_error"
	case llm.ErrTimeout:
		return "timeout_error"
	}
	return "api_error"
}

// messagesRequest is the part of a Messages (or count_tokens) request the
// demo reads.
type messagesRequest struct {
	Model    string          `json:"model"`
	System   json.RawMessage `json:"system"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	MaxTokens int  `json:"max_tokens"`
	Stream    bool `json:"stream"`
	Tools     []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice *choiceName `json:"tool_choice"`
}

func (m *messagesRequest) prompt() *prompt {
	p := &prompt{model: m.Model, maxTokens: m.MaxTokens, texts: texts(m.System)}
	for _, msg := range m.Messages {
		t := texts(msg.Content)
		p.texts = append(p.texts, t...)
		if msg.Role == "user" {
			p.last = join(t)
		}
		p.lastIsUser = msg.Role == "user" && !strings.Contains(string(msg.Content), `"tool_result"`)
	}
	for _, t := range m.Tools {
		p.tools = append(p.tools, tool{name: t.Name, schema: t.InputSchema})
	}
	if c := m.ToolChoice; c != nil {
		switch c.Type {
		case "none":
			p.force = forceNone
		case "any":
			p.force = forceAny
		case "tool":
			p.force = c.Name
		}
	}
	return p
}

type message struct {
	ID           string             `json:"id"`
	Type         string             `json:"type"`
	Role         string             `json:"role"`
	Model        string             `json:"model"`
	Content      []anthropicContent `json:"content"`
	StopReason   *string            `json:"stop_reason"`
	StopSequence *string            `json:"stop_sequence"`
	Usage        anthropicUsage     `json:"usage"`
}

// anthropicContent is a text or tool_use content block.
type anthropicContent struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

type anthropicUsage struct {
	InputTokens              int    `json:"input_tokens"`
	CacheCreationInputTokens int    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int    `json:"cache_read_input_tokens"`
	OutputTokens             int    `json:"output_tokens"`
	ServiceTier              string `json:"service_tier,omitempty"`
}

// anthropicEvent is any event of a Messages stream; the fields a type does
// not use stay nil and are omitted.
type anthropicEvent struct {
	Type         string            `json:"type"`
	Message      *message          `json:"message,omitempty"`
	Index        *int              `json:"index,omitempty"`
	ContentBlock *anthropicContent `json:"content_block,omitempty"`
	Delta        any               `json:"delta,omitempty"`
	Usage        *anthropicUsage   `json:"usage,omitempty"`
}

type textDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type inputJSONDelta struct {
	Type        string `json:"type"`
	PartialJSON string `json:"partial_json"`
}

type messageDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	var req messagesRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolAnthropic, err)
		return
	}
	p := req.prompt()
	rep, f := s.answer("anthropic", p)
	call := p.toolCall()
	stop, out := "end_turn", rep.tokens
	block := anthropicContent{Type: "text", Text: &rep.text}
	switch {
	case call != nil:
		stop, out = "tool_use", call.tokens()
		block = anthropicContent{Type: "tool_use", ID: f.id("toolu_", 24), Name: call.name, Input: json.RawMessage(call.args)}
	case rep.truncated:
		stop = "max_tokens"
	}
	in := p.inputTokens()
	msg := message{
		ID: f.id("msg_", 24), Type: "message", Role: "assistant", Model: p.model,
		Content: []anthropicContent{block}, StopReason: &stop,
		Usage: anthropicUsage{InputTokens: in, OutputTokens: out, ServiceTier: "standard"},
	}
	w.Header().Set("Request-Id", f.id("req_", 24))
	if !req.Stream {
		s.writeJSON(w, r, len(rep.chunks), msg)
		return
	}
	st := s.startStream(w, r, "text/event-stream; charset=utf-8")
	start := msg
	start.Content, start.StopReason = []anthropicContent{}, nil
	start.Usage.OutputTokens = 1 // as the API does: a preliminary count
	zero, empty := 0, ""
	st.event("message_start", anthropicEvent{Type: "message_start", Message: &start})
	if call != nil {
		head := block
		head.Input = json.RawMessage("{}")
		st.event("content_block_start", anthropicEvent{Type: "content_block_start", Index: &zero, ContentBlock: &head})
		st.event("ping", anthropicEvent{Type: "ping"})
		st.content("content_block_delta", anthropicEvent{Type: "content_block_delta", Index: &zero,
			Delta: inputJSONDelta{Type: "input_json_delta", PartialJSON: call.args}})
	} else {
		st.event("content_block_start", anthropicEvent{Type: "content_block_start", Index: &zero,
			ContentBlock: &anthropicContent{Type: "text", Text: &empty}})
		st.event("ping", anthropicEvent{Type: "ping"})
		for _, c := range rep.chunks {
			st.content("content_block_delta", anthropicEvent{Type: "content_block_delta", Index: &zero,
				Delta: textDelta{Type: "text_delta", Text: c}})
		}
	}
	st.event("content_block_stop", anthropicEvent{Type: "content_block_stop", Index: &zero})
	usage := msg.Usage
	usage.ServiceTier = ""
	st.event("message_delta", anthropicEvent{Type: "message_delta", Delta: messageDelta{StopReason: stop}, Usage: &usage})
	st.event("message_stop", anthropicEvent{Type: "message_stop"})
}

func (s *Server) countTokens(w http.ResponseWriter, r *http.Request) {
	var req messagesRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolAnthropic, err)
		return
	}
	s.writeJSON(w, r, 0, struct {
		InputTokens int `json:"input_tokens"`
	}{req.prompt().inputTokens()})
}
