package demo

import (
	"encoding/json"
	"net/http"

	"github.com/llmgw/llmgw/llm"
)

// responsesRequest is the part of a Responses API request the demo reads.
type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	Stream          bool            `json:"stream"`
	MaxOutputTokens int             `json:"max_output_tokens"`
	Tools           []struct {
		Type       string          `json:"type"`
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
}

// responsesItem is an input item: a message, a function call or a function
// call output.
type responsesItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Output    json.RawMessage `json:"output"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
}

func (q *responsesRequest) prompt() *prompt {
	p := &prompt{model: q.Model, maxTokens: q.MaxOutputTokens}
	if q.Instructions != "" {
		p.texts = append(p.texts, q.Instructions)
	}
	for _, t := range q.Tools {
		if t.Type == "function" {
			p.tools = append(p.tools, tool{name: t.Name, schema: t.Parameters})
		}
	}
	p.force = openAIForce(q.ToolChoice)
	var one string
	if json.Unmarshal(q.Input, &one) == nil {
		p.texts = append(p.texts, one)
		p.last, p.lastIsUser = one, true
		return p
	}
	var items []responsesItem
	_ = json.Unmarshal(q.Input, &items) // anything else has no text for us
	for _, it := range items {
		switch it.Type {
		case "", "message":
			t := texts(it.Content)
			p.texts = append(p.texts, t...)
			if it.Role == "user" {
				p.last = join(t)
			}
			p.lastIsUser = it.Role == "user"
			continue
		case "function_call":
			p.texts = append(p.texts, it.Name, it.Arguments)
		case "function_call_output":
			p.texts = append(p.texts, texts(it.Output)...)
		}
		p.lastIsUser = false
	}
	return p
}

type response struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	CreatedAt         int64              `json:"created_at"`
	Status            string             `json:"status"`
	Background        bool               `json:"background"`
	Error             *struct{}          `json:"error"`
	IncompleteDetails *incompleteDetails `json:"incomplete_details"`
	Instructions      *string            `json:"instructions"`
	MaxOutputTokens   *int               `json:"max_output_tokens"`
	Model             string             `json:"model"`
	Output            []responseItem     `json:"output"`
	ParallelToolCalls bool               `json:"parallel_tool_calls"`
	Reasoning         struct {
		Effort  *string `json:"effort"`
		Summary *string `json:"summary"`
	} `json:"reasoning"`
	Store       bool    `json:"store"`
	Temperature float64 `json:"temperature"`
	Text        struct {
		Format struct {
			Type string `json:"type"`
		} `json:"format"`
	} `json:"text"`
	ToolChoice string          `json:"tool_choice"`
	Tools      []struct{}      `json:"tools"`
	TopP       float64         `json:"top_p"`
	Truncation string          `json:"truncation"`
	Usage      *responsesUsage `json:"usage"`
	Metadata   struct{}        `json:"metadata"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

// responseItem is a message or function_call output item.
type responseItem struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	Status    string       `json:"status"`
	Content   []outputText `json:"content,omitzero"` // [] is kept, nil omitted
	Role      string       `json:"role,omitempty"`
	CallID    string       `json:"call_id,omitempty"`
	Name      string       `json:"name,omitempty"`
	Arguments *string      `json:"arguments,omitempty"`
}

type outputText struct {
	Type        string     `json:"type"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
	Text        string     `json:"text"`
}

type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// responseEvent is any event of a Responses stream; the fields a type does
// not use stay nil and are omitted.
type responseEvent struct {
	Type           string        `json:"type"`
	SequenceNumber int           `json:"sequence_number"`
	Response       *response     `json:"response,omitempty"`
	OutputIndex    *int          `json:"output_index,omitempty"`
	ItemID         string        `json:"item_id,omitempty"`
	ContentIndex   *int          `json:"content_index,omitempty"`
	Item           *responseItem `json:"item,omitempty"`
	Part           *outputText   `json:"part,omitempty"`
	Delta          *string       `json:"delta,omitempty"`
	Text           *string       `json:"text,omitempty"`
	Arguments      *string       `json:"arguments,omitempty"`
	Logprobs       *[]struct{}   `json:"logprobs,omitempty"`
}

// newResponse returns the response object for q in its in-progress state.
func newResponse(q *responsesRequest, id string) *response {
	resp := &response{
		ID: id, Object: "response", CreatedAt: created, Status: "in_progress",
		Model: q.Model, Output: []responseItem{}, ParallelToolCalls: true,
		Temperature: 1, ToolChoice: "auto", Tools: []struct{}{}, TopP: 1, Truncation: "disabled",
	}
	resp.Text.Format.Type = "text"
	if q.Instructions != "" {
		resp.Instructions = &q.Instructions
	}
	if q.MaxOutputTokens > 0 {
		resp.MaxOutputTokens = &q.MaxOutputTokens
	}
	return resp
}

// complete fills in the output and usage of a finished response.
func (resp *response) complete(item responseItem, in, out int, truncated bool) {
	resp.Status = "completed"
	if truncated {
		resp.Status = "incomplete"
		resp.IncompleteDetails = &incompleteDetails{Reason: "max_output_tokens"}
	}
	resp.Output = []responseItem{item}
	u := &responsesUsage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
	resp.Usage = u
}

func (s *Server) responses(w http.ResponseWriter, r *http.Request) {
	var q responsesRequest
	if err := decode(r, &q); err != nil {
		writeError(w, llm.ProtocolOpenAI, err)
		return
	}
	p := q.prompt()
	rep, f := s.answer("responses", p)
	resp := newResponse(&q, f.id("resp_", 48))
	w.Header().Set("X-Request-Id", f.id("req_", 32))
	call := p.toolCall()
	msgID := f.id("msg_", 48)
	text := outputText{Type: "output_text", Annotations: []struct{}{}, Logprobs: []struct{}{}, Text: rep.text}
	done := responseItem{ID: msgID, Type: "message", Status: "completed", Content: []outputText{text}, Role: "assistant"}
	out, truncated := rep.tokens, rep.truncated
	if call != nil {
		done = responseItem{ID: f.id("fc_", 48), Type: "function_call", Status: "completed",
			CallID: f.id("call_", 24), Name: call.name, Arguments: &call.args}
		out, truncated = call.tokens(), false
	}
	if !q.Stream {
		resp.complete(done, p.inputTokens(), out, truncated)
		s.writeJSON(w, r, len(rep.chunks), resp)
		return
	}
	st := s.startStream(w, r, "text/event-stream; charset=utf-8")
	seq := 0
	emit := func(content bool, ev responseEvent) {
		ev.SequenceNumber = seq
		seq++
		if content {
			st.content(ev.Type, ev)
		} else {
			st.event(ev.Type, ev)
		}
	}
	zero := 0
	inProgress := *resp
	emit(false, responseEvent{Type: "response.created", Response: &inProgress})
	emit(false, responseEvent{Type: "response.in_progress", Response: &inProgress})
	if call != nil {
		added, empty := done, ""
		added.Status, added.Arguments = "in_progress", &empty
		emit(false, responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: &added})
		emit(true, responseEvent{Type: "response.function_call_arguments.delta", ItemID: done.ID, OutputIndex: &zero, Delta: &call.args})
		emit(false, responseEvent{Type: "response.function_call_arguments.done", ItemID: done.ID, OutputIndex: &zero, Arguments: &call.args})
	} else {
		added := responseItem{ID: msgID, Type: "message", Status: "in_progress", Content: []outputText{}, Role: "assistant"}
		emit(false, responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: &added})
		empty := text
		empty.Text = ""
		emit(false, responseEvent{Type: "response.content_part.added", ItemID: msgID, OutputIndex: &zero, ContentIndex: &zero, Part: &empty})
		noLogprobs := []struct{}{}
		for i := range rep.chunks {
			emit(true, responseEvent{Type: "response.output_text.delta", ItemID: msgID, OutputIndex: &zero,
				ContentIndex: &zero, Delta: &rep.chunks[i], Logprobs: &noLogprobs})
		}
		emit(false, responseEvent{Type: "response.output_text.done", ItemID: msgID, OutputIndex: &zero,
			ContentIndex: &zero, Text: &rep.text, Logprobs: &noLogprobs})
		emit(false, responseEvent{Type: "response.content_part.done", ItemID: msgID, OutputIndex: &zero, ContentIndex: &zero, Part: &text})
	}
	emit(false, responseEvent{Type: "response.output_item.done", OutputIndex: &zero, Item: &done})
	resp.complete(done, p.inputTokens(), out, truncated)
	final := "response.completed"
	if truncated {
		final = "response.incomplete"
	}
	emit(false, responseEvent{Type: final, Response: resp})
}
