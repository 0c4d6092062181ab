package responses

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// StreamEncoder converts neutral events into the Responses API event
// stream a client such as Codex expects: created and
// in_progress, then per block an output item (reasoning, message or
// function_call / custom_tool_call) with its added / delta / done events,
// and at Close response.completed with every item and the usage, or
// response.failed after an error.
type StreamEncoder struct {
	req      *llm.Request
	custom   map[string]bool
	ns       map[string]string // namespaces of the client's tools
	now      func() time.Time
	seq      int
	base     string
	id       string
	model    string
	created  int64
	started  bool
	failed   bool
	finished bool
	finish   llm.StopReason
	refused  bool // refusal text was sent
	usage    llm.Usage
	output   []json.RawMessage // done items, for the final response
	nextOut  int
	cur      *openItem
}

// openItem is the output item of the block being streamed.
type openItem struct {
	kind   llm.PartKind
	id     string
	index  int
	text   strings.Builder
	callID string
	name   string
	custom bool
	sig    string
	// foreign is the reasoning of another provider that the item's
	// encrypted_content carries (see EncodeResponse): the block's
	// signature and protocol (or a redacted block's data), with the text
	// at close.
	foreign llm.Part
	skip    bool // a block with no Responses form
}

type streamEvent struct {
	Type           string        `json:"type"`
	SequenceNumber int           `json:"sequence_number"`
	Response       *wireResponse `json:"response,omitempty"`
	OutputIndex    *int          `json:"output_index,omitempty"`
	ItemID         string        `json:"item_id,omitempty"`
	ContentIndex   *int          `json:"content_index,omitempty"`
	SummaryIndex   *int          `json:"summary_index,omitempty"`
	Item           any           `json:"item,omitempty"`
	Part           any           `json:"part,omitempty"`
	Delta          *string       `json:"delta,omitempty"`
	Text           *string       `json:"text,omitempty"`
	Refusal        *string       `json:"refusal,omitempty"`
	Arguments      *string       `json:"arguments,omitempty"`
	Input          *string       `json:"input,omitempty"`
	Logprobs       []any         `json:"logprobs,omitempty"`
	Code           string        `json:"code,omitempty"`
	Message        string        `json:"message,omitempty"`
}

var zero = 0

// NewStreamEncoder returns an encoder for one client stream. req is the
// client's decoded request: its custom tools are answered with
// custom_tool_call items. It may be nil.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	return &StreamEncoder{req: req, custom: freeFormTools(req), ns: namespaces(req), now: time.Now}
}

// Encode appends the wire form of ev to dst.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.failed {
		return dst
	}
	if !e.started {
		dst = e.start(dst, ev)
	}
	switch ev.Kind {
	case llm.EventBlockStart:
		dst = e.closeItem(dst)
		dst = e.openItem(dst, ev)
	case llm.EventDelta:
		dst = e.delta(dst, ev.Text)
	case llm.EventSignature:
		switch {
		case e.cur == nil:
		case ev.SignatureProtocol == llm.ProtocolResponses:
			e.cur.sig = ev.Text
		case e.cur.kind == llm.PartThinking && ev.SignatureProtocol != "":
			e.cur.foreign = llm.Part{Kind: llm.PartThinking, Signature: ev.Text, SignatureProtocol: ev.SignatureProtocol}
		}
	case llm.EventBlockStop:
		dst = e.closeItem(dst)
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
	case llm.EventFinish:
		e.finish, e.finished = ev.StopReason, true
	case llm.EventError:
		dst = e.closeItem(dst)
		dst = e.fail(dst, ev.Err)
	}
	return dst
}

func (e *StreamEncoder) start(dst []byte, ev llm.Event) []byte {
	e.started = true
	e.base = idBase(ev.ID)
	e.id = "resp_" + e.base
	e.model = ev.Model
	if e.model == "" && e.req != nil {
		e.model = e.req.Model
	}
	e.created = e.now().Unix()
	if ev.Usage != nil {
		e.usage = *ev.Usage // preliminary; Usage events replace it
	}
	r := e.response("in_progress")
	dst = e.emit(dst, streamEvent{Type: "response.created", Response: r})
	return e.emit(dst, streamEvent{Type: "response.in_progress", Response: r})
}

func (e *StreamEncoder) response(status string) *wireResponse {
	r := &wireResponse{
		ID: e.id, Object: "response", CreatedAt: e.created, Status: status, Model: e.model,
		Output: e.output, Tools: []json.RawMessage{}, ParallelToolCalls: true, ToolChoice: json.RawMessage(`"auto"`),
	}
	if r.Output == nil {
		r.Output = []json.RawMessage{}
	}
	return r
}

func (e *StreamEncoder) itemID(prefix string) string {
	return prefix + e.base + "_" + strconv.Itoa(e.nextOut)
}

func (e *StreamEncoder) openItem(dst []byte, ev llm.Event) []byte {
	it := &openItem{kind: ev.Block, index: e.nextOut}
	e.cur = it
	switch ev.Block {
	case llm.PartText, llm.PartRefusal:
		it.id = e.itemID("msg_")
		dst = e.emit(dst, streamEvent{Type: "response.output_item.added", OutputIndex: &it.index, Item: newMessage(it.id, "in_progress")})
		dst = e.emit(dst, streamEvent{Type: "response.content_part.added", ItemID: it.id, OutputIndex: &it.index, ContentIndex: &zero, Part: textContent(ev.Block, "")})
	case llm.PartThinking:
		it.id = e.itemID("rs_")
		dst = e.emit(dst, streamEvent{Type: "response.output_item.added", OutputIndex: &it.index, Item: newReasoning(it.id, "", "")})
		dst = e.emit(dst, streamEvent{Type: "response.reasoning_summary_part.added", ItemID: it.id, OutputIndex: &it.index, SummaryIndex: &zero, Part: summaryPart{Type: "summary_text"}})
	case llm.PartRedactedThinking:
		it.foreign = llm.Part{Kind: llm.PartRedactedThinking, Data: ev.Text, SignatureProtocol: ev.SignatureProtocol}
		if !llm.Carries(it.foreign, llm.ProtocolResponses) {
			it.skip = true
			return dst
		}
		it.id = e.itemID("rs_")
		dst = e.emit(dst, streamEvent{Type: "response.output_item.added", OutputIndex: &it.index, Item: newReasoning(it.id, "", "")})
	case llm.PartToolCall:
		it.callID, it.name, it.custom = ev.ToolCallID, ev.ToolName, e.custom[ev.ToolName]
		prefix := "fc_"
		if it.custom {
			prefix = "ctc_"
		}
		it.id = e.itemID(prefix)
		dst = e.emit(dst, streamEvent{Type: "response.output_item.added", OutputIndex: &it.index, Item: newCall(it.id, it.callID, it.name, "", "in_progress", it.custom, e.ns[it.name])})
	default:
		it.skip = true
		return dst
	}
	e.nextOut++
	return dst
}

func (e *StreamEncoder) delta(dst []byte, s string) []byte {
	it := e.cur
	if it == nil || it.skip || s == "" {
		return dst
	}
	it.text.WriteString(s)
	switch it.kind {
	case llm.PartText:
		dst = appendTextDelta(dst, e.seq, it.id, it.index, s)
		e.seq++
		return dst
	case llm.PartRefusal:
		e.refused = true
		return e.emit(dst, streamEvent{Type: "response.refusal.delta", ItemID: it.id, OutputIndex: &it.index, ContentIndex: &zero, Delta: &s})
	case llm.PartThinking:
		return e.emit(dst, streamEvent{Type: "response.reasoning_summary_text.delta", ItemID: it.id, OutputIndex: &it.index, SummaryIndex: &zero, Delta: &s})
	case llm.PartToolCall:
		if !it.custom { // custom input is only known whole
			return e.emit(dst, streamEvent{Type: "response.function_call_arguments.delta", ItemID: it.id, OutputIndex: &it.index, Delta: &s})
		}
	}
	return dst
}

func (e *StreamEncoder) closeItem(dst []byte) []byte {
	it := e.cur
	e.cur = nil
	if it == nil || it.skip {
		return dst
	}
	text := it.text.String()
	var item any
	switch it.kind {
	case llm.PartText, llm.PartRefusal:
		part := textContent(it.kind, text)
		if it.kind == llm.PartText {
			dst = e.emit(dst, streamEvent{Type: "response.output_text.done", ItemID: it.id, OutputIndex: &it.index, ContentIndex: &zero, Text: &text, Logprobs: []any{}})
		} else {
			dst = e.emit(dst, streamEvent{Type: "response.refusal.done", ItemID: it.id, OutputIndex: &it.index, ContentIndex: &zero, Refusal: &text})
		}
		dst = e.emit(dst, streamEvent{Type: "response.content_part.done", ItemID: it.id, OutputIndex: &it.index, ContentIndex: &zero, Part: part})
		m := newMessage(it.id, "completed")
		m.Content = append(m.Content, part)
		item = m
	case llm.PartThinking:
		dst = e.emit(dst, streamEvent{Type: "response.reasoning_summary_text.done", ItemID: it.id, OutputIndex: &it.index, SummaryIndex: &zero, Text: &text})
		dst = e.emit(dst, streamEvent{Type: "response.reasoning_summary_part.done", ItemID: it.id, OutputIndex: &it.index, SummaryIndex: &zero, Part: summaryPart{Type: "summary_text", Text: text}})
		sig := it.sig
		if it.foreign.Text = text; llm.Carries(it.foreign, llm.ProtocolResponses) {
			sig = llm.Carry([]llm.Part{it.foreign})
		}
		item = newReasoning(it.id, text, sig)
	case llm.PartRedactedThinking:
		item = newReasoning(it.id, "", llm.Carry([]llm.Part{it.foreign}))
	case llm.PartToolCall:
		if text == "" {
			text = "{}"
		}
		c := newCall(it.id, it.callID, it.name, text, "completed", it.custom, e.ns[it.name])
		if it.custom {
			dst = e.emit(dst, streamEvent{Type: "response.custom_tool_call_input.delta", ItemID: it.id, OutputIndex: &it.index, Delta: c.Input})
			dst = e.emit(dst, streamEvent{Type: "response.custom_tool_call_input.done", ItemID: it.id, OutputIndex: &it.index, Input: c.Input})
		} else {
			dst = e.emit(dst, streamEvent{Type: "response.function_call_arguments.done", ItemID: it.id, OutputIndex: &it.index, Arguments: &text})
		}
		item = c
	}
	raw := mustJSON(item)
	e.output = append(e.output, raw)
	return e.emit(dst, streamEvent{Type: "response.output_item.done", OutputIndex: &it.index, Item: raw})
}

// Close appends response.completed (status incomplete with details when
// the output was cut by the token cap, a content filter or a refusal
// without refusal text; see statusFor). A stream that
// ended without a finish was cut short and gets response.failed.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.failed {
		return dst
	}
	if !e.started {
		dst = e.start(dst, llm.Event{})
	}
	dst = e.closeItem(dst)
	if !e.finished {
		return e.fail(dst, llm.Errorf(502, llm.ErrAPI, "upstream stream ended before completion"))
	}
	e.failed = true // nothing may follow
	status, details := statusFor(e.finish, e.refused)
	r := e.response(status)
	r.IncompleteDetails = details
	r.Usage = usageToWire(e.usage)
	return e.emit(dst, streamEvent{Type: "response.completed", Response: r})
}

func (e *StreamEncoder) fail(dst []byte, le *llm.Error) []byte {
	e.failed = true
	if le == nil {
		le = llm.Errorf(500, llm.ErrAPI, "upstream stream failed")
	}
	r := e.response("failed")
	r.Error = &wireError{Code: errorCode(le), Message: le.Message}
	r.Usage = usageToWire(e.usage)
	return e.emit(dst, streamEvent{Type: "response.failed", Response: r})
}

func (e *StreamEncoder) emit(dst []byte, ev streamEvent) []byte {
	ev.SequenceNumber = e.seq
	e.seq++
	b, err := json.Marshal(ev)
	if err != nil {
		return dst
	}
	return sse.AppendEvent(dst, ev.Type, b)
}

// EncodeStreamError appends a response.failed event for an error that
// ends a stream before any encoder state exists.
func EncodeStreamError(dst []byte, e *llm.Error) []byte {
	enc := NewStreamEncoder(nil)
	enc.start(nil, llm.Event{}) // sets ids; its events are not written
	enc.seq = 0
	return enc.fail(dst, e)
}
