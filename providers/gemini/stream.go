package gemini

import (
	"bytes"
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// StreamDecoder converts an upstream Gemini stream (streamGenerateContent
// with alt=sse) into neutral events. Each chunk carries only new parts;
// usageMetadata is cumulative and the last one wins; function calls
// always arrive whole. Consecutive parts of one kind form one block.
type StreamDecoder struct {
	started  bool
	finished bool
	failed   bool
	open     bool         // a text or thinking block is open
	openKind llm.PartKind // its kind
	next     int          // index of the next block
	calls    int
	// Nonce is the random part of the ids given to function calls that
	// came without one (see DecodeResponseNonce); NewStreamDecoder draws
	// it, a test may fix it.
	Nonce string
	usage *llm.Usage
	out   []llm.Event
}

// NewStreamDecoder returns a decoder for one upstream stream.
func NewStreamDecoder() *StreamDecoder { return &StreamDecoder{Nonce: llm.NewNonce()} }

// Decode converts one SSE event. An upstream error object becomes an
// EventError; malformed JSON is an error.
func (d *StreamDecoder) Decode(ev sse.Event) ([]llm.Event, error) {
	data := bytes.TrimSpace(ev.Data)
	if ev.Comment || len(data) == 0 || d.failed {
		return nil, nil
	}
	var chunk generateResponse
	if err := json.Unmarshal(data, &chunk); err != nil {
		return nil, llm.Errorf(502, llm.ErrAPI, "gemini: invalid stream chunk: %v", err)
	}
	d.out = d.out[:0]
	if chunk.Error != nil {
		d.failed = true
		return append(d.out, llm.Event{Kind: llm.EventError, Err: wireErrorToLLM(chunk.Error)}), nil
	}
	if chunk.UsageMetadata != nil {
		u := chunk.UsageMetadata.toLLM()
		d.usage = &u
	}
	if !d.started {
		d.started = true
		start := llm.Event{Kind: llm.EventStart, ID: chunk.ResponseID, Model: chunk.ModelVersion}
		if d.usage != nil {
			u := *d.usage
			u.OutputTokens, u.ReasoningTokens = 0, 0
			start.Usage = &u
		}
		d.out = append(d.out, start)
	}
	if len(chunk.Candidates) == 0 {
		if chunk.PromptFeedback != nil && chunk.PromptFeedback.BlockReason != "" {
			d.finish(llm.StopContentFilter)
		} else if d.finished && d.usage != nil {
			d.out = append(d.out, llm.Event{Kind: llm.EventUsage, Usage: d.usage})
		}
		return d.result(), nil
	}
	c := chunk.Candidates[0]
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			d.part(p)
		}
	}
	switch {
	case c.FinishReason != "":
		reason := stopReason(c.FinishReason)
		if d.calls > 0 {
			reason = llm.StopToolUse
		}
		d.finish(reason)
	case d.finished && d.usage != nil:
		d.out = append(d.out, llm.Event{Kind: llm.EventUsage, Usage: d.usage})
	}
	return d.result(), nil
}

func (d *StreamDecoder) result() []llm.Event {
	if len(d.out) == 0 {
		return nil
	}
	return append([]llm.Event(nil), d.out...)
}

func (d *StreamDecoder) part(p part) {
	switch {
	case p.FunctionCall != nil:
		d.closeBlock()
		id := p.FunctionCall.ID
		if id == "" {
			id = syntheticCallID(d.Nonce, d.calls)
		}
		d.calls++
		if sig := p.ThoughtSignature; sig != "" && sig != SkipSignatureSentinel {
			// The call's signature travels as a signature-only thinking
			// block before it, as in DecodeResponseNonce.
			i := d.next
			d.next++
			d.out = append(d.out,
				llm.Event{Kind: llm.EventBlockStart, Index: i, Block: llm.PartThinking},
				llm.Event{Kind: llm.EventSignature, Index: i, Text: sig, SignatureProtocol: llm.ProtocolGemini},
				llm.Event{Kind: llm.EventBlockStop, Index: i})
		}
		args := argsObject(p.FunctionCall.Args)
		i := d.next
		d.next++
		d.out = append(d.out,
			llm.Event{Kind: llm.EventBlockStart, Index: i, Block: llm.PartToolCall, ToolCallID: id, ToolName: p.FunctionCall.Name},
			llm.Event{Kind: llm.EventDelta, Index: i, Text: string(args)},
			llm.Event{Kind: llm.EventBlockStop, Index: i})
	case p.Text != nil:
		kind := llm.PartText
		if p.Thought {
			kind = llm.PartThinking
		}
		if *p.Text != "" {
			if !d.open || d.openKind != kind {
				d.closeBlock()
				d.open, d.openKind = true, kind
				d.next++
				d.out = append(d.out, llm.Event{Kind: llm.EventBlockStart, Index: d.next - 1, Block: kind})
			}
			d.out = append(d.out, llm.Event{Kind: llm.EventDelta, Index: d.next - 1, Text: *p.Text})
		}
		d.signature(p.ThoughtSignature)
	default:
		d.signature(p.ThoughtSignature)
	}
}

// signature attaches a thought signature to the open block; one that
// arrives with no block open has nothing to continue and is dropped.
func (d *StreamDecoder) signature(sig string) {
	if sig == "" || sig == SkipSignatureSentinel || !d.open {
		return
	}
	d.out = append(d.out, llm.Event{Kind: llm.EventSignature, Index: d.next - 1, Text: sig, SignatureProtocol: llm.ProtocolGemini})
}

func (d *StreamDecoder) closeBlock() {
	if d.open {
		d.out = append(d.out, llm.Event{Kind: llm.EventBlockStop, Index: d.next - 1})
		d.open = false
	}
}

func (d *StreamDecoder) finish(reason llm.StopReason) {
	d.closeBlock()
	if d.usage != nil {
		d.out = append(d.out, llm.Event{Kind: llm.EventUsage, Usage: d.usage})
	}
	d.out = append(d.out, llm.Event{Kind: llm.EventFinish, StopReason: reason})
	d.finished = true
}

// Close ends the stream at EOF. A stream that ended without a
// finishReason was cut short: the open block is closed and an EventError
// reports it.
func (d *StreamDecoder) Close() []llm.Event {
	if d.finished || d.failed {
		return nil
	}
	d.out = d.out[:0]
	d.closeBlock()
	msg := "gemini: stream ended without a finishReason"
	if !d.started {
		msg = "gemini: stream ended before any chunk"
	}
	d.out = append(d.out, llm.Event{Kind: llm.EventError, Err: llm.Errorf(502, llm.ErrAPI, "%s", msg)})
	d.failed = true
	return d.result()
}

// UsageScanner reads usage from a same-protocol Gemini stream forwarded
// as is. usageMetadata is cumulative and on every chunk, so Observe only
// keeps the bytes of the latest usageMetadata object (no JSON decoding on
// the hot path); Usage decodes it once.
type UsageScanner struct {
	raw []byte // the last usageMetadata object seen
}

var usageKey = []byte(`"usageMetadata"`)

// Observe looks at one forwarded event.
func (s *UsageScanner) Observe(ev sse.Event) {
	i := bytes.Index(ev.Data, usageKey)
	if i < 0 {
		return
	}
	if obj := jsonObjectAt(ev.Data[i+len(usageKey):]); obj != nil {
		s.raw = append(s.raw[:0], obj...)
	}
}

// jsonObjectAt returns the JSON object that follows a key's colon in b,
// or nil when b does not start (after ':' and blanks) with a complete
// object.
func jsonObjectAt(b []byte) []byte {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == ':' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	depth, inString := 0, false
	for j := i; j < len(b); j++ {
		c := b[j]
		switch {
		case inString:
			if c == '\\' {
				j++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return b[i : j+1]
			}
		}
	}
	return nil
}

// Usage returns the last usage seen; ok is false when none was.
func (s *UsageScanner) Usage() (llm.Usage, bool) {
	var u usageMetadata
	if len(s.raw) == 0 || json.Unmarshal(s.raw, &u) != nil {
		return llm.Usage{}, false
	}
	return u.toLLM(), true
}
