package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// StreamDecoder turns an upstream Messages stream into neutral events,
// one SSE event at a time. Block indices are renumbered densely, skipping
// server tool blocks, which have no neutral form.
type StreamDecoder struct {
	started  bool
	finished bool
	failed   bool
	usage    llm.Usage
	index    map[int]int // upstream block index → neutral index, -1 when skipped
	next     int
	toolUse  bool
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{index: make(map[int]int)}
}

// Decode converts one SSE event. Pings and unknown events yield nil; an
// error event becomes an llm.EventError; an event that is not JSON is an
// error.
func (d *StreamDecoder) Decode(ev sse.Event) ([]llm.Event, error) {
	if d.failed || ev.Name == "ping" || len(bytes.TrimSpace(ev.Data)) == 0 {
		return nil, nil
	}
	var w wireEvent
	if err := json.Unmarshal(ev.Data, &w); err != nil {
		return nil, fmt.Errorf("anthropic: decode stream event %q: %w", ev.Name, err)
	}
	switch w.Type {
	case "message_start":
		return d.start(&w), nil
	case "content_block_start":
		return d.blockStart(&w), nil
	case "content_block_delta":
		return d.delta(&w), nil
	case "content_block_stop":
		if i, ok := d.index[w.Index]; ok && i >= 0 {
			return []llm.Event{{Kind: llm.EventBlockStop, Index: i}}, nil
		}
	case "message_delta":
		return d.messageDelta(&w), nil
	case "error":
		d.failed = true
		we := w.Error
		if we == nil {
			we = &wireError{}
		}
		return []llm.Event{{Kind: llm.EventError, Err: llmError(we)}}, nil
	}
	return nil, nil // message_stop, ping, future event types
}

func (d *StreamDecoder) start(w *wireEvent) []llm.Event {
	if d.started {
		return nil
	}
	d.started = true
	ev := llm.Event{Kind: llm.EventStart}
	if m := w.Message; m != nil {
		ev.ID, ev.Model = m.ID, m.Model
		if m.Usage != nil {
			m.Usage.apply(&d.usage)
			u := d.usage
			ev.Usage = &u
		}
	}
	return []llm.Event{ev}
}

func (d *StreamDecoder) blockStart(w *wireEvent) []llm.Event {
	b := w.ContentBlock
	if b == nil {
		return nil
	}
	ev := llm.Event{Kind: llm.EventBlockStart, Index: d.next}
	var initial string
	switch b.Type {
	case "text":
		ev.Block, initial = llm.PartText, b.Text
	case "thinking":
		ev.Block, initial = llm.PartThinking, b.Thinking
	case "redacted_thinking":
		ev.Block, ev.Text, ev.SignatureProtocol = llm.PartRedactedThinking, b.Data, llm.ProtocolAnthropic
	case "tool_use":
		d.toolUse = true
		ev.Block, ev.ToolCallID, ev.ToolName = llm.PartToolCall, b.ID, b.Name
		if in := bytes.TrimSpace(b.Input); len(in) > 0 && !bytes.Equal(in, []byte("{}")) {
			initial = string(in)
		}
	default:
		d.index[w.Index] = -1
		return nil
	}
	d.index[w.Index] = d.next
	d.next++
	evs := []llm.Event{ev}
	if initial != "" {
		evs = append(evs, llm.Event{Kind: llm.EventDelta, Index: ev.Index, Text: initial})
	}
	if b.Type == "thinking" && b.Signature != "" {
		evs = append(evs, llm.Event{Kind: llm.EventSignature, Index: ev.Index, Text: b.Signature,
			SignatureProtocol: llm.ProtocolAnthropic})
	}
	return evs
}

func (d *StreamDecoder) delta(w *wireEvent) []llm.Event {
	i, ok := d.index[w.Index]
	if !ok || i < 0 || w.Delta == nil {
		return nil
	}
	ev := llm.Event{Kind: llm.EventDelta, Index: i}
	switch w.Delta.Type {
	case "text_delta":
		ev.Text = w.Delta.Text
	case "thinking_delta":
		ev.Text = w.Delta.Thinking
	case "input_json_delta":
		ev.Text = w.Delta.PartialJSON
	case "signature_delta":
		ev.Kind = llm.EventSignature
		ev.Text, ev.SignatureProtocol = splitSignature(w.Delta.Signature)
	default:
		return nil // citations_delta and future deltas
	}
	if ev.Text == "" {
		return nil
	}
	return []llm.Event{ev}
}

func (d *StreamDecoder) messageDelta(w *wireEvent) []llm.Event {
	var evs []llm.Event
	if w.Usage != nil {
		w.Usage.apply(&d.usage)
		u := d.usage
		evs = append(evs, llm.Event{Kind: llm.EventUsage, Usage: &u})
	}
	if w.Delta != nil && w.Delta.StopReason != "" && !d.finished {
		d.finished = true
		stop := stopReason(w.Delta.StopReason)
		if d.toolUse {
			stop = llm.StopToolUse
		}
		evs = append(evs, llm.Event{Kind: llm.EventFinish, StopReason: stop, StopSequence: w.Delta.StopSequence})
	}
	return evs
}

// Close reports a stream that ended before its message_delta as an
// llm.EventError.
func (d *StreamDecoder) Close() []llm.Event {
	if d.failed || d.finished {
		return nil
	}
	d.failed = true
	msg := "upstream stream ended before message_delta"
	if !d.started {
		msg = "upstream stream ended without message_start"
	}
	return []llm.Event{{Kind: llm.EventError, Err: llm.Errorf(502, llm.ErrAPI, "%s", msg)}}
}

// StreamEncoder writes neutral events as Messages SSE events for an
// Anthropic client. The final message_delta is held until Close so that
// it carries the last cumulative usage whatever order the upstream sent
// usage and finish in.
type StreamEncoder struct {
	model   string
	tools   []llm.Tool // the client's, to restore shortened names
	started bool
	failed  bool
	blocks  map[int]encBlock // by neutral index
	next    int              // next wire index
	toolUse bool
	usage   llm.Usage
	finish  *llm.Event // held
	buf     []byte
}

type encBlock struct {
	kind  llm.PartKind
	index int // wire index
	open  bool
}

// NewStreamEncoder returns an encoder for the client whose decoded request
// is req; its model names the message when the upstream does not.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	e := &StreamEncoder{blocks: make(map[int]encBlock)}
	if req != nil {
		e.model, e.tools = req.Model, req.Tools
	}
	return e
}

// Encode appends the events for ev to dst.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.failed {
		return dst
	}
	if !e.started && ev.Kind != llm.EventError {
		dst = e.start(dst, ev)
	}
	switch ev.Kind {
	case llm.EventBlockStart:
		dst = e.blockStart(dst, ev)
	case llm.EventDelta:
		dst = e.delta(dst, ev)
	case llm.EventSignature:
		b, ok := e.blocks[ev.Index]
		if ok && b.open && b.kind == llm.PartThinking && ev.Text != "" {
			d := e.deltaHead(b.index, "signature_delta")
			d = append(d, `,"signature":`...)
			d = appendString(d, signatureFor(ev.Text, ev.SignatureProtocol))
			dst = event(dst, "content_block_delta", append(d, "}}"...))
		}
	case llm.EventBlockStop:
		if b, ok := e.blocks[ev.Index]; ok && b.open {
			dst = e.blockStop(dst, ev.Index, b)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
	case llm.EventFinish:
		f := ev
		e.finish = &f
	case llm.EventError:
		e.failed = true
		err := ev.Err
		if err == nil {
			err = llm.Errorf(500, llm.ErrAPI, "upstream stream error")
		}
		dst = EncodeStreamError(dst, err)
	}
	return dst
}

func event(dst []byte, name string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

func (e *StreamEncoder) start(dst []byte, ev llm.Event) []byte {
	e.started = true
	model := e.model
	if ev.Model != "" {
		model = ev.Model
	}
	if ev.Usage != nil {
		e.usage = *ev.Usage
	}
	id := ev.ID
	if id == "" {
		id = "msg_llmgw"
	}
	d := append(e.buf[:0], `{"type":"message_start","message":{"id":`...)
	d = appendString(d, messageID(id))
	d = append(d, `,"type":"message","role":"assistant","model":`...)
	d = appendString(d, model)
	d = append(d, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	d = appendUsage(d, e.usage)
	e.buf = append(d, "}}"...)
	return event(dst, "message_start", e.buf)
}

func (e *StreamEncoder) blockStart(dst []byte, ev llm.Event) []byte {
	b := encBlock{kind: ev.Block, index: e.next, open: true}
	d := append(e.buf[:0], `{"type":"content_block_start","index":`...)
	d = strconv.AppendInt(d, int64(b.index), 10)
	d = append(d, `,"content_block":`...)
	switch ev.Block {
	case llm.PartText, llm.PartRefusal:
		d = append(d, `{"type":"text","text":""}`...)
	case llm.PartThinking:
		d = append(d, `{"type":"thinking","thinking":"","signature":""}`...)
	case llm.PartRedactedThinking:
		d = append(d, `{"type":"redacted_thinking","data":`...)
		d = appendString(d, ev.Text)
		d = append(d, '}')
	case llm.PartToolCall:
		e.toolUse = true
		d = append(d, `{"type":"tool_use","id":`...)
		d = appendString(d, sanitizeID(ev.ToolCallID))
		d = append(d, `,"name":`...)
		d = appendString(d, llm.OriginalToolName(e.tools, ev.ToolName))
		d = append(d, `,"input":{}}`...)
	default:
		return dst
	}
	e.next++
	e.blocks[ev.Index] = b
	e.buf = append(d, '}')
	return event(dst, "content_block_start", e.buf)
}

func (e *StreamEncoder) deltaHead(index int, typ string) []byte {
	d := append(e.buf[:0], `{"type":"content_block_delta","index":`...)
	d = strconv.AppendInt(d, int64(index), 10)
	d = append(d, `,"delta":{"type":"`...)
	d = append(d, typ...)
	return append(d, '"')
}

func (e *StreamEncoder) delta(dst []byte, ev llm.Event) []byte {
	b, ok := e.blocks[ev.Index]
	if !ok || !b.open || ev.Text == "" {
		return dst
	}
	var d []byte
	switch b.kind {
	case llm.PartText, llm.PartRefusal:
		d = append(e.deltaHead(b.index, "text_delta"), `,"text":`...)
	case llm.PartThinking:
		d = append(e.deltaHead(b.index, "thinking_delta"), `,"thinking":`...)
	case llm.PartToolCall:
		d = append(e.deltaHead(b.index, "input_json_delta"), `,"partial_json":`...)
	default:
		return dst
	}
	d = appendString(d, ev.Text)
	e.buf = append(d, "}}"...)
	return event(dst, "content_block_delta", e.buf)
}

func (e *StreamEncoder) blockStop(dst []byte, index int, b encBlock) []byte {
	b.open = false
	e.blocks[index] = b
	d := append(e.buf[:0], `{"type":"content_block_stop","index":`...)
	d = strconv.AppendInt(d, int64(b.index), 10)
	e.buf = append(d, '}')
	return event(dst, "content_block_stop", e.buf)
}

// Close appends the end of the message: stops for blocks still open, the
// held message_delta with the final usage, and message_stop. After an
// error it appends nothing.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.failed {
		return dst
	}
	if !e.started {
		dst = e.start(dst, llm.Event{Kind: llm.EventStart})
	}
	for _, i := range slices.Sorted(maps.Keys(e.blocks)) {
		if b := e.blocks[i]; b.open {
			dst = e.blockStop(dst, i, b)
		}
	}
	stop, seq := llm.StopEnd, ""
	if e.finish != nil {
		stop, seq = e.finish.StopReason, e.finish.StopSequence
	}
	reason := wireStopReason(stop, e.toolUse)
	d := append(e.buf[:0], `{"type":"message_delta","delta":{"stop_reason":`...)
	d = appendString(d, reason)
	d = append(d, `,"stop_sequence":`...)
	if reason == "stop_sequence" && seq != "" {
		d = appendString(d, seq)
	} else {
		d = append(d, "null"...)
	}
	d = append(d, `},"usage":`...)
	d = appendUsage(d, e.usage)
	e.buf = append(d, '}')
	dst = event(dst, "message_delta", e.buf)
	e.failed = true // nothing may follow message_stop
	return event(dst, "message_stop", []byte(`{"type":"message_stop"}`))
}

// UsageScanner collects usage from a Messages stream forwarded unchanged:
// message_start carries input and cache usage, message_delta the
// cumulative totals. Other events are skipped by name.
type UsageScanner struct {
	usage llm.Usage
	ok    bool
}

var usageKey = []byte(`"usage"`)

// Observe looks at one forwarded event.
func (s *UsageScanner) Observe(ev sse.Event) {
	switch ev.Name {
	case "message_start", "message_delta":
	case "":
		if !bytes.Contains(ev.Data, usageKey) {
			return
		}
	default:
		return
	}
	var w struct {
		Message *struct {
			Usage *wireUsage `json:"usage"`
		} `json:"message"`
		Usage *wireUsage `json:"usage"`
	}
	if json.Unmarshal(ev.Data, &w) != nil {
		return
	}
	u := w.Usage
	if w.Message != nil && w.Message.Usage != nil {
		u = w.Message.Usage
	}
	if u != nil {
		u.apply(&s.usage)
		s.ok = true
	}
}

// Usage returns the usage seen; ok is false when there was none.
func (s *UsageScanner) Usage() (llm.Usage, bool) { return s.usage, s.ok }
