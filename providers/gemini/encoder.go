package gemini

import (
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
)

// StreamEncoder converts neutral events into a Gemini stream for the
// client: one data: line per chunk (go-genai accepts nothing else), text
// as it comes, each function call once complete, and a last chunk with
// finishReason and the cumulative usageMetadata. In array mode
// (NewArrayStreamEncoder) it writes the JSON array that
// :streamGenerateContent returns without alt=sse.
type StreamEncoder struct {
	thoughts  bool // the client asked for thoughts
	array     bool
	chunks    int // chunks written (array mode: for separators)
	id, model string
	usage     *llm.Usage
	finish    llm.StopReason
	finished  bool
	failed    bool
	calls     int
	block     llm.PartKind
	call      *functionCall // the tool call being buffered
	args      []byte
	sig       string
	// reasoning is the thinking block being streamed, kept whole in case
	// another provider issued it and it must be carried (see carrier).
	reasoning llm.Part
	carry     carrier
	// held is a Gemini signature that came in a thinking block without
	// text: the form the decoders give a call's signature, so it goes on
	// the call that follows (or on a thought part of its own otherwise).
	held string
}

// NewStreamEncoder returns an SSE encoder (alt=sse). req is the client's
// decoded request (for includeThoughts); it may be nil.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	return &StreamEncoder{thoughts: req != nil && req.Reasoning != nil && req.Reasoning.IncludeThoughts}
}

// NewArrayStreamEncoder returns an encoder for the JSON-array form of
// :streamGenerateContent (no alt=sse): "[" + chunks separated by ",\r\n"
// + "]", served as application/json.
func NewArrayStreamEncoder(req *llm.Request) *StreamEncoder {
	e := NewStreamEncoder(req)
	e.array = true
	return e
}

// Encode appends the wire form of ev to dst.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.failed {
		return dst
	}
	switch ev.Kind {
	case llm.EventStart:
		e.id, e.model = ev.ID, ev.Model
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
	case llm.EventBlockStart:
		e.block = ev.Block
		if ev.Block != llm.PartToolCall {
			dst = e.flushHeld(dst)
		}
		switch ev.Block {
		case llm.PartToolCall:
			e.call = &functionCall{ID: geminiID(ev.ToolCallID), Name: ev.ToolName}
			e.args, e.sig, e.held = e.args[:0], e.held, ""
		case llm.PartThinking, llm.PartRedactedThinking:
			e.reasoning = llm.Part{Kind: ev.Block, Data: ev.Text, SignatureProtocol: ev.SignatureProtocol}
		}
	case llm.EventDelta:
		switch e.block {
		case llm.PartToolCall:
			e.args = append(e.args, ev.Text...)
		case llm.PartText, llm.PartRefusal:
			if ev.Text == "" {
				break
			}
			if sig := e.carry.take(); sig != "" {
				p := textPart(ev.Text)
				p.ThoughtSignature = sig
				dst = e.chunk(dst, p)
				break
			}
			dst = e.appendTextChunk(dst, ev.Text, false)
		case llm.PartThinking:
			e.reasoning.Text += ev.Text
			if e.thoughts && ev.Text != "" {
				dst = e.appendTextChunk(dst, ev.Text, true)
			}
		}
	case llm.EventSignature:
		if ev.SignatureProtocol != llm.ProtocolGemini {
			if e.block == llm.PartThinking {
				e.reasoning.Signature, e.reasoning.SignatureProtocol = ev.Text, ev.SignatureProtocol
			}
			break
		}
		if e.block == llm.PartToolCall {
			e.sig = ev.Text
			break
		}
		if e.block == llm.PartThinking && e.reasoning.Text == "" {
			e.held = ev.Text
			break
		}
		p := textPart("")
		p.Thought = e.block == llm.PartThinking
		p.ThoughtSignature = ev.Text
		dst = e.chunk(dst, p)
	case llm.EventBlockStop:
		switch {
		case e.block == llm.PartToolCall && e.call != nil:
			dst = e.flushCall(dst)
		case llm.Carries(e.reasoning, llm.ProtocolGemini):
			e.carry.pending = append(e.carry.pending, e.reasoning)
		}
		e.block, e.reasoning = "", llm.Part{}
	case llm.EventUsage:
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
	case llm.EventFinish:
		e.finish, e.finished = ev.StopReason, true
	case llm.EventError:
		dst = e.error(dst, ev.Err)
	}
	return dst
}

// flushCall writes the buffered function call as one part, with its
// Gemini signature if it has one. Foreign calls get no sentinel: go-genai
// decodes thoughtSignature as base64 and rejects it (EncodeRequest adds
// the sentinel when such a history goes to Gemini).
func (e *StreamEncoder) flushCall(dst []byte) []byte {
	e.call.Args = argsObject(e.args)
	sig := e.sig
	if sig == "" {
		sig = e.carry.take()
	}
	p := part{FunctionCall: e.call, ThoughtSignature: sig}
	e.calls++
	e.call = nil
	return e.chunk(dst, p)
}

// flushHeld writes a held signature that no call took as a thought part.
func (e *StreamEncoder) flushHeld(dst []byte) []byte {
	if e.held == "" {
		return dst
	}
	p := textPart("")
	p.Thought, p.ThoughtSignature = true, e.held
	e.held = ""
	return e.chunk(dst, p)
}

// Close appends the last chunk (finishReason and usage) and, in array
// mode, the closing bracket. A stream that had no Finish (cut short) gets
// no finishReason, which Gemini clients treat as an incomplete stream.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if !e.failed && e.finished {
		if e.call != nil {
			dst = e.flushCall(dst)
		}
		dst = e.flushHeld(dst)
		if sig := e.carry.take(); sig != "" {
			// Nothing followed the reasoning: a thought part carries it.
			p := textPart("")
			p.Thought, p.ThoughtSignature = true, sig
			dst = e.chunk(dst, p)
		}
		reason := e.finish
		if e.calls > 0 && reason == llm.StopEnd {
			reason = llm.StopToolUse
		}
		dst = e.write(dst, e.response(textPart(""), finishReason(reason), true))
		e.finished = false
	}
	if e.array {
		if e.chunks == 0 {
			dst = append(dst, '[')
		}
		dst = append(dst, ']')
		e.chunks = -1 << 30
	}
	return dst
}

func (e *StreamEncoder) error(dst []byte, le *llm.Error) []byte {
	e.failed = true
	if le == nil {
		le = llm.Errorf(500, llm.ErrAPI, "upstream stream failed")
	}
	if !e.array {
		return EncodeStreamError(dst, le)
	}
	dst = e.separator(dst)
	return append(dst, EncodeError(le)...)
}

func (e *StreamEncoder) chunk(dst []byte, p part) []byte {
	return e.write(dst, e.response(p, "", false))
}

func (e *StreamEncoder) response(p part, finish string, last bool) *generateResponse {
	wr := &generateResponse{
		Candidates:   []candidate{{Content: &content{Role: "model", Parts: []part{p}}, FinishReason: finish}},
		ModelVersion: e.model,
		ResponseID:   e.id,
	}
	if last && e.usage != nil {
		wr.UsageMetadata = usageFromLLM(*e.usage)
	}
	return wr
}

func (e *StreamEncoder) write(dst []byte, wr *generateResponse) []byte {
	b, err := json.Marshal(wr)
	if err != nil {
		return dst
	}
	if e.array {
		dst = e.separator(dst)
		return append(dst, b...)
	}
	e.chunks++
	dst = append(dst, "data: "...)
	dst = append(dst, b...)
	return append(dst, "\n\n"...)
}

func (e *StreamEncoder) separator(dst []byte) []byte {
	if e.chunks == 0 {
		dst = append(dst, '[')
	} else {
		dst = append(dst, ",\r\n"...)
	}
	e.chunks++
	return dst
}
