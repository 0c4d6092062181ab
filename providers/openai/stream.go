package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

var doneData = []byte("[DONE]")

// StreamDecoder turns an upstream chat completions stream into neutral
// events, one SSE event at a time.
//
// Chunks that carry content and finish_reason together (fake streaming)
// yield the content first, then the finish. Tool calls stream live one at
// a time; a tool call that starts while the previous one's arguments are
// not yet a complete JSON value (interleaved parallel calls, which some
// compatible servers send) is buffered and emitted whole once the live
// call ends, so that neutral blocks never interleave.
type StreamDecoder struct {
	started  bool
	finished bool
	failed   bool
	next     int               // next neutral block index
	open     *openBlock        // the block being streamed, nil between blocks
	calls    map[int]*toolCall // by upstream index
	last     *toolCall         // the call that started last
	nCalls   int               // calls started, for synthesized ids
	pending  []*toolCall       // buffered tool calls, in start order
	toolUse  bool              // a tool call was seen
	refused  bool              // a refusal was seen
	out      []llm.Event
}

type openBlock struct {
	kind  llm.PartKind
	index int
	call  *toolCall // for tool call blocks
}

type toolCall struct {
	id, name string
	args     []byte
	done     bool // its block was closed
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{calls: make(map[int]*toolCall)}
}

// Decode converts one SSE event. It returns nil for events that carry
// nothing (keep-alives, the role chunk of an already started stream). An
// error chunk becomes an llm.EventError; a chunk that is not JSON is an
// error.
func (d *StreamDecoder) Decode(ev sse.Event) ([]llm.Event, error) {
	data := bytes.TrimSpace(ev.Data)
	if d.failed || len(data) == 0 || bytes.Equal(data, doneData) {
		return nil, nil
	}
	var c wireChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("openai: decode stream chunk: %w", err)
	}
	d.out = nil
	if !isNull(c.Error) {
		var we wireError
		if json.Unmarshal(c.Error, &we) != nil {
			_ = json.Unmarshal(c.Error, &we.Message) // a bare string
		}
		d.failed = true
		return []llm.Event{{Kind: llm.EventError, Err: wireErrorToLLM(&we)}}, nil
	}
	if !d.started {
		d.started = true
		d.emit(llm.Event{Kind: llm.EventStart, ID: c.ID, Model: c.Model})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 || d.finished {
			continue // n > 1 is not converted; nothing follows the finish
		}
		d.delta(&ch.Delta)
		if ch.FinishReason != "" {
			d.finish(ch.FinishReason)
		}
	}
	if c.Usage != nil {
		u := c.Usage.neutral()
		d.emit(llm.Event{Kind: llm.EventUsage, Usage: &u})
	}
	return d.out, nil
}

// Close flushes buffered tool calls. A stream that ended before any
// finish_reason was cut short: Close reports it as an llm.EventError.
func (d *StreamDecoder) Close() []llm.Event {
	d.out = nil
	if d.failed || d.finished {
		return nil
	}
	d.closeOpen()
	d.flushPending()
	d.failed = true
	msg := "upstream stream ended before finish_reason"
	if !d.started {
		msg = "upstream stream ended without any chunk"
	}
	d.emit(llm.Event{Kind: llm.EventError, Err: llm.Errorf(502, llm.ErrAPI, "%s", msg)})
	return d.out
}

func (d *StreamDecoder) emit(ev llm.Event) { d.out = append(d.out, ev) }

func (d *StreamDecoder) delta(w *wireDelta) {
	r := w.ReasoningContent
	if len(w.Reasoning) > 0 && w.Reasoning[0] == '"' {
		var s string
		_ = json.Unmarshal(w.Reasoning, &s)
		r += s
	}
	if r != "" {
		d.text(llm.PartThinking, r)
	}
	if w.Content != "" {
		d.text(llm.PartText, w.Content)
	}
	if w.Refusal != "" {
		d.refused = true
		d.text(llm.PartRefusal, w.Refusal)
	}
	for i := range w.ToolCalls {
		d.toolDelta(&w.ToolCalls[i])
	}
}

// text appends a text, thinking or refusal fragment, opening a block of
// that kind when another kind is open.
func (d *StreamDecoder) text(kind llm.PartKind, s string) {
	if d.open == nil || d.open.kind != kind {
		d.closeOpen()
		d.flushPending()
		d.startBlock(kind, nil)
	}
	d.emit(llm.Event{Kind: llm.EventDelta, Index: d.open.index, Text: s})
}

func (d *StreamDecoder) startBlock(kind llm.PartKind, c *toolCall) {
	ev := llm.Event{Kind: llm.EventBlockStart, Index: d.next, Block: kind}
	if c != nil {
		ev.ToolCallID, ev.ToolName = c.id, c.name
	}
	d.open = &openBlock{kind: kind, index: d.next, call: c}
	d.next++
	d.emit(ev)
}

func (d *StreamDecoder) closeOpen() {
	if d.open == nil {
		return
	}
	if d.open.call != nil {
		d.open.call.done = true
	}
	d.emit(llm.Event{Kind: llm.EventBlockStop, Index: d.open.index})
	d.open = nil
}

// flushPending emits the buffered tool calls, each as one whole block.
func (d *StreamDecoder) flushPending() {
	for _, c := range d.pending {
		d.startBlock(llm.PartToolCall, c)
		if len(c.args) > 0 {
			d.emit(llm.Event{Kind: llm.EventDelta, Index: d.open.index, Text: string(c.args)})
		}
		d.closeOpen()
	}
	d.pending = d.pending[:0]
}

func (d *StreamDecoder) toolDelta(tc *wireToolCall) {
	d.toolUse = true
	var c *toolCall
	switch {
	case tc.Index != nil:
		c = d.calls[*tc.Index]
	case tc.ID == "":
		c = d.last // no index and no id: a continuation
	}
	if c == nil || tc.ID != "" && tc.ID != c.id {
		// A new call. A reused index with another id also starts one:
		// some compatible upstreams number every parallel call 0.
		c = &toolCall{id: tc.ID, name: tc.Function.Name}
		if c.id == "" {
			c.id = "call_" + strconv.Itoa(d.nCalls)
		}
		d.nCalls++
		if tc.Index != nil {
			d.calls[*tc.Index] = c
		}
		d.last = c
		d.startCall(c)
	} else if c.name == "" {
		c.name = tc.Function.Name
	}
	frag := tc.Function.Arguments
	if frag == "" {
		return
	}
	switch {
	case d.open != nil && d.open.call == c:
		c.args = append(c.args, frag...)
		d.emit(llm.Event{Kind: llm.EventDelta, Index: d.open.index, Text: frag})
	case !c.done:
		c.args = append(c.args, frag...) // buffered
	}
	// A fragment for a call whose block is closed can only be trailing
	// whitespace: its arguments were already a complete JSON value.
}

// startCall streams c live when nothing else is streaming or the live call
// is complete, and buffers it otherwise.
func (d *StreamDecoder) startCall(c *toolCall) {
	if len(d.pending) > 0 {
		d.pending = append(d.pending, c)
		return
	}
	if d.open != nil && d.open.call != nil && !json.Valid(d.open.call.args) {
		d.pending = append(d.pending, c)
		return
	}
	d.closeOpen()
	d.startBlock(llm.PartToolCall, c)
}

func (d *StreamDecoder) finish(reason string) {
	d.closeOpen()
	d.flushPending()
	d.finished = true
	stop := stopReason(reason)
	switch {
	case d.toolUse:
		stop = llm.StopToolUse
	case d.refused && stop == llm.StopEnd:
		stop = llm.StopRefusal // a refusal ends with finish_reason "stop"
	}
	d.emit(llm.Event{Kind: llm.EventFinish, StopReason: stop})
}

// wireErrorToLLM converts an in-stream error object.
func wireErrorToLLM(w *wireError) *llm.Error {
	e := &llm.Error{Status: 500, Type: llm.ErrAPI, Message: w.Message}
	var code string
	_ = json.Unmarshal(w.Code, &code)
	e.Code = code
	switch {
	case w.Type == "rate_limit_error" || code == "rate_limit_exceeded" || w.Type == "tokens" || w.Type == "requests",
		w.Type == "insufficient_quota" || code == "insufficient_quota":
		e.Status, e.Type = 429, llm.ErrRateLimit
	case w.Type == "invalid_request_error" || code == "context_length_exceeded":
		e.Status, e.Type = 400, llm.ErrInvalidRequest
	case w.Type == "service_unavailable_error" || code == "server_is_overloaded" || code == "slow_down":
		e.Status, e.Type = 503, llm.ErrOverloaded
	}
	if e.Message == "" {
		e.Message = "upstream stream error"
	}
	return e
}

// StreamEncoder writes neutral events as chat.completion.chunk SSE events
// for an OpenAI client.
type StreamEncoder struct {
	// Now returns the time stamped in each chunk's created field; nil
	// means time.Now.
	Now func() time.Time

	includeUsage bool
	model        string

	head     []byte // {"id":…,"object":…,"created":…,"model":…
	started  bool
	finished bool
	failed   bool
	blocks   map[int]encBlock // by neutral block index
	tools    int              // tool calls so far: the next tool_calls index
	refused  bool             // refusal text was sent
	scratch  []byte           // reused delta buffer
	usage    *llm.Usage
	// reasoning is the thinking block being streamed and carry the
	// reasoning of another provider waiting for the next tool call, whose
	// id carries it (chat completions has no other field that comes
	// back; see llm.CarryInID).
	reasoning llm.Part
	carry     []llm.Part
}

type encBlock struct {
	kind llm.PartKind
	tool int  // tool_calls index
	args bool // arguments were sent
}

// NewStreamEncoder returns an encoder for the client whose decoded request
// is req: its model names the stream when the upstream does not, and its
// IncludeUsage decides whether the usage chunk is sent.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	e := &StreamEncoder{blocks: make(map[int]encBlock)}
	if req != nil {
		e.includeUsage, e.model = req.IncludeUsage, req.Model
	}
	return e
}

// Encode appends the chunks for ev to dst.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.failed {
		return dst
	}
	if !e.started && ev.Kind != llm.EventError {
		dst = e.start(dst, ev)
		if ev.Kind == llm.EventStart {
			return dst
		}
	}
	switch ev.Kind {
	case llm.EventBlockStart:
		b := encBlock{kind: ev.Block}
		switch ev.Block {
		case llm.PartThinking, llm.PartRedactedThinking:
			e.reasoning = llm.Part{Kind: ev.Block, Data: ev.Text, SignatureProtocol: ev.SignatureProtocol}
		case llm.PartToolCall:
			b.tool = e.tools
			e.tools++
			d := append([]byte(nil), `{"tool_calls":[{"index":`...)
			d = strconv.AppendInt(d, int64(b.tool), 10)
			d = append(d, `,"id":`...)
			d = appendString(d, llm.CarryInID(ev.ToolCallID, e.carry))
			e.carry = nil
			d = append(d, `,"type":"function","function":{"name":`...)
			d = appendString(d, ev.ToolName)
			d = append(d, `,"arguments":""}}]}`...)
			dst = e.chunk(dst, d, "")
		}
		e.blocks[ev.Index] = b
	case llm.EventDelta:
		if b, ok := e.blocks[ev.Index]; ok && b.kind == llm.PartThinking {
			e.reasoning.Text += ev.Text
		}
		dst = e.delta(dst, ev)
	case llm.EventSignature:
		if b, ok := e.blocks[ev.Index]; ok && b.kind == llm.PartThinking {
			e.reasoning.Signature, e.reasoning.SignatureProtocol = ev.Text, ev.SignatureProtocol
		}
	case llm.EventBlockStop:
		b, ok := e.blocks[ev.Index]
		if ok && b.kind == llm.PartToolCall && !b.args {
			// A call without arguments: clients parse "" as JSON.
			dst = e.delta(dst, llm.Event{Kind: llm.EventDelta, Index: ev.Index, Text: "{}"})
		}
		if ok && (b.kind == llm.PartThinking || b.kind == llm.PartRedactedThinking) {
			if llm.Carries(e.reasoning, llm.ProtocolOpenAI) {
				e.carry = append(e.carry, e.reasoning)
			}
			e.reasoning = llm.Part{}
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
	case llm.EventFinish:
		if !e.finished {
			e.finished = true
			dst = e.chunk(dst, []byte("{}"), finishReason(ev.StopReason, e.tools > 0, e.refused))
		}
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

func (e *StreamEncoder) start(dst []byte, ev llm.Event) []byte {
	e.started = true
	if ev.Usage != nil {
		u := *ev.Usage
		e.usage = &u
	}
	model := e.model
	if ev.Model != "" {
		model = ev.Model
	}
	e.head = append(e.head[:0], `{"id":`...)
	e.head = appendString(e.head, completionID(ev.ID))
	e.head = append(e.head, `,"object":"chat.completion.chunk","created":`...)
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	e.head = strconv.AppendInt(e.head, now().Unix(), 10)
	e.head = append(e.head, `,"model":`...)
	e.head = appendString(e.head, model)
	return e.chunk(dst, []byte(`{"role":"assistant","content":""}`), "")
}

func (e *StreamEncoder) delta(dst []byte, ev llm.Event) []byte {
	if ev.Text == "" {
		return dst
	}
	b, ok := e.blocks[ev.Index]
	if !ok {
		b = encBlock{kind: llm.PartText}
	}
	d := e.scratch[:0]
	defer func() { e.scratch = d[:0] }()
	switch b.kind {
	case llm.PartText:
		d = append(d, `{"content":`...)
	case llm.PartThinking:
		d = append(d, `{"reasoning_content":`...)
	case llm.PartRefusal:
		e.refused = true
		d = append(d, `{"refusal":`...)
	case llm.PartToolCall:
		b.args = true
		e.blocks[ev.Index] = b
		d = append(d, `{"tool_calls":[{"index":`...)
		d = strconv.AppendInt(d, int64(b.tool), 10)
		d = append(d, `,"function":{"arguments":`...)
		d = appendString(d, ev.Text)
		return e.chunk(dst, append(d, "}}]}"...), "")
	default:
		return dst // redacted thinking has no chat completions form
	}
	d = appendString(d, ev.Text)
	return e.chunk(dst, append(d, '}'), "")
}

// chunk appends one SSE event holding a chunk with the given delta.
func (e *StreamEncoder) chunk(dst, delta []byte, finish string) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, e.head...)
	dst = append(dst, `,"choices":[{"index":0,"delta":`...)
	dst = append(dst, delta...)
	dst = append(dst, `,"logprobs":null,"finish_reason":`...)
	dst = appendNullable(dst, finish)
	return append(dst, "}]}\n\n"...)
}

// Close appends the end of the stream: a finish chunk if none was sent,
// the usage chunk when the client asked for it, and data: [DONE]. After an
// error it appends nothing.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.failed {
		return dst
	}
	if !e.started {
		dst = e.start(dst, llm.Event{Kind: llm.EventStart})
	}
	if !e.finished {
		dst = e.Encode(dst, llm.Event{Kind: llm.EventFinish, StopReason: llm.StopEnd})
	}
	if e.includeUsage && e.usage != nil {
		dst = append(dst, "data: "...)
		dst = append(dst, e.head...)
		dst = append(dst, `,"choices":[],"usage":`...)
		dst = appendUsage(dst, *e.usage)
		dst = append(dst, "}\n\n"...)
	}
	e.failed = true // nothing more may follow [DONE]
	return append(dst, "data: [DONE]\n\n"...)
}

// UsageScanner collects usage from a chat completions stream forwarded
// unchanged. Only the chunk whose "usage" is an object is decoded.
type UsageScanner struct {
	usage llm.Usage
	ok    bool
}

var usageKey = []byte(`"usage"`)

// Observe looks at one forwarded event.
func (s *UsageScanner) Observe(ev sse.Event) {
	if !hasObject(ev.Data, usageKey) {
		return
	}
	var c struct {
		Usage *wireUsage `json:"usage"`
	}
	if json.Unmarshal(ev.Data, &c) == nil && c.Usage != nil {
		s.usage, s.ok = c.Usage.neutral(), true
	}
}

// Usage returns the last usage seen; ok is false when there was none (the
// client did not ask for include_usage and the gateway did not force it,
// or the stream broke before the usage chunk).
func (s *UsageScanner) Usage() (llm.Usage, bool) { return s.usage, s.ok }

// hasObject reports whether data has key followed by a colon and an
// object, without decoding anything.
func hasObject(data, key []byte) bool {
	for {
		i := bytes.Index(data, key)
		if i < 0 {
			return false
		}
		data = data[i+len(key):]
		j := 0
		for j < len(data) && (data[j] == ' ' || data[j] == ':' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
			j++
		}
		if j < len(data) && data[j] == '{' && bytes.IndexByte(data[:j], ':') >= 0 {
			return true
		}
	}
}
