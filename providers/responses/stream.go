package responses

import (
	"bytes"
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// StreamDecoder converts an upstream Responses event stream into neutral
// events. Each content part, reasoning item and function call becomes one
// block; reasoning summaries of one item are joined into one thinking
// block.
type StreamDecoder struct {
	started, done bool
	next          int
	open          bool
	openIndex     int
	openKind      llm.PartKind
	openItem      string // item id of the open block
	calls         int
	refused       bool
	out           []llm.Event
}

// NewStreamDecoder returns a decoder for one upstream stream.
func NewStreamDecoder() *StreamDecoder { return &StreamDecoder{} }

type upstreamEvent struct {
	Type         string            `json:"type"`
	Response     *upstreamResponse `json:"response"`
	Item         *item             `json:"item"`
	ItemID       string            `json:"item_id"`
	SummaryIndex int               `json:"summary_index"`
	Part         *contentPart      `json:"part"`
	Delta        string            `json:"delta"`
	Code         string            `json:"code"`
	Message      string            `json:"message"`
}

// Decode converts one SSE event.
func (d *StreamDecoder) Decode(ev sse.Event) ([]llm.Event, error) {
	data := bytes.TrimSpace(ev.Data)
	if d.done || ev.Comment || len(data) == 0 || string(data) == "[DONE]" {
		return nil, nil
	}
	var u upstreamEvent
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, llm.Errorf(502, llm.ErrAPI, "responses: invalid stream event: %v", err)
	}
	d.out = d.out[:0]
	switch u.Type {
	case "response.created":
		d.startWith(u.Response)
	case "response.output_item.added":
		d.startWith(nil)
		if u.Item != nil && (u.Item.Type == "function_call" || u.Item.Type == "custom_tool_call") {
			d.openBlock(llm.PartToolCall, u.Item.ID, u.Item.CallID, llm.QualifiedToolName(u.Item.Namespace, u.Item.Name))
		}
	case "response.content_part.added":
		kind := llm.PartText
		if u.Part != nil && u.Part.Type == "refusal" {
			kind = llm.PartRefusal
		}
		d.openBlock(kind, u.ItemID, "", "")
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		if !d.open || d.openItem != u.ItemID {
			d.openBlock(llm.PartThinking, u.ItemID, "", "")
		}
		d.delta(u.Delta)
	case "response.reasoning_summary_part.added":
		if d.open && d.openItem == u.ItemID && u.SummaryIndex > 0 {
			d.delta("\n\n")
		}
	case "response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta":
		d.delta(u.Delta)
	case "response.content_part.done":
		d.closeBlock()
	case "response.output_item.done":
		d.itemDone(u.Item)
	case "response.completed", "response.incomplete":
		d.complete(u.Response)
	case "response.failed", "error":
		d.startWith(nil)
		d.closeBlock()
		le := llm.Errorf(502, llm.ErrAPI, "%s", u.Message)
		if u.Response != nil && u.Response.Error != nil {
			le.Message, le.Code = u.Response.Error.Message, u.Response.Error.Code
		} else {
			le.Code = u.Code
		}
		if le.Code == "rate_limit_exceeded" {
			le.Status, le.Type = 429, llm.ErrRateLimit
		}
		d.done = true
		d.out = append(d.out, llm.Event{Kind: llm.EventError, Err: le})
	}
	if len(d.out) == 0 {
		return nil, nil
	}
	return append([]llm.Event(nil), d.out...), nil
}

func (d *StreamDecoder) startWith(r *upstreamResponse) {
	if d.started {
		return
	}
	d.started = true
	ev := llm.Event{Kind: llm.EventStart}
	if r != nil {
		ev.ID, ev.Model = r.ID, r.Model
	}
	d.out = append(d.out, ev)
}

func (d *StreamDecoder) openBlock(kind llm.PartKind, itemID, callID, name string) {
	d.startWith(nil)
	d.closeBlock()
	switch kind {
	case llm.PartToolCall:
		d.calls++
	case llm.PartRefusal:
		d.refused = true
	}
	d.open, d.openIndex, d.openKind, d.openItem = true, d.next, kind, itemID
	d.next++
	d.out = append(d.out, llm.Event{Kind: llm.EventBlockStart, Index: d.openIndex, Block: kind, ToolCallID: callID, ToolName: name})
}

func (d *StreamDecoder) delta(s string) {
	if d.open && s != "" {
		d.out = append(d.out, llm.Event{Kind: llm.EventDelta, Index: d.openIndex, Text: s})
	}
}

func (d *StreamDecoder) closeBlock() {
	if d.open {
		d.open = false
		d.out = append(d.out, llm.Event{Kind: llm.EventBlockStop, Index: d.openIndex})
	}
}

// itemDone closes the item's block; a reasoning item brings its
// encrypted_content as the block's signature, opening an empty thinking
// block when no summary was streamed.
func (d *StreamDecoder) itemDone(it *item) {
	if it == nil {
		d.closeBlock()
		return
	}
	if it.Type == "reasoning" && it.EncryptedContent != "" {
		if !d.open || d.openItem != it.ID {
			d.openBlock(llm.PartThinking, it.ID, "", "")
		}
		d.out = append(d.out, llm.Event{Kind: llm.EventSignature, Index: d.openIndex, Text: it.EncryptedContent, SignatureProtocol: llm.ProtocolResponses})
	}
	if it.Type == "custom_tool_call" && d.open && d.openItem == it.ID && it.Input != nil {
		// Custom input streams as raw text; the neutral call carries
		// {"input": …}, so the block is re-sent whole.
		args, _ := callArguments(*it)
		d.out = append(d.out, llm.Event{Kind: llm.EventDelta, Index: d.openIndex, Text: string(args)})
	}
	d.closeBlock()
}

func (d *StreamDecoder) complete(r *upstreamResponse) {
	d.startWith(r)
	d.closeBlock()
	d.done = true
	reason := llm.StopEnd
	if r != nil {
		if r.Usage != nil {
			u := r.Usage.toLLM()
			d.out = append(d.out, llm.Event{Kind: llm.EventUsage, Usage: &u})
		}
		reason = stopReason(r.Status, r.IncompleteDetails)
	}
	switch {
	case d.calls > 0:
		reason = llm.StopToolUse
	case d.refused && reason == llm.StopEnd:
		reason = llm.StopRefusal
	}
	d.out = append(d.out, llm.Event{Kind: llm.EventFinish, StopReason: reason})
}

// Close ends the stream at EOF; a stream without response.completed was
// cut short and yields an EventError.
func (d *StreamDecoder) Close() []llm.Event {
	if d.done {
		return nil
	}
	d.done = true
	d.out = d.out[:0]
	d.closeBlock()
	d.out = append(d.out, llm.Event{Kind: llm.EventError, Err: llm.Errorf(502, llm.ErrAPI, "responses: stream closed before response.completed")})
	return append([]llm.Event(nil), d.out...)
}
