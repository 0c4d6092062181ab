package llm

// EventKind says what a stream Event carries.
type EventKind uint8

// Stream event kinds. A well-formed neutral stream is:
//
//	Start (BlockStart Delta* Signature? BlockStop)* Usage* Finish Usage*
//
// with Error possible anywhere (it ends the stream). Blocks do not
// interleave: a decoder that receives interleaved upstream content (OpenAI
// parallel tool calls on some compatible servers) buffers and emits them
// one after the other. Usage events are cumulative: the last one wins.
const (
	EventStart      EventKind = iota + 1 // ID, Model, Usage (preliminary, may be nil)
	EventBlockStart                      // Index, Block (PartText, PartThinking, PartRefusal, PartToolCall, PartRedactedThinking), ToolCallID, ToolName, Text (redacted data), SignatureProtocol (of redacted data)
	EventDelta                           // Index, Text (text, thinking or refusal text, or a fragment of tool call arguments)
	EventSignature                       // Index, Text (the signature; replaces any earlier one), SignatureProtocol
	EventBlockStop                       // Index
	EventUsage                           // Usage (cumulative)
	EventFinish                          // StopReason, StopSequence
	EventError                           // Err
)

// Event is one step of a neutral stream. Only the fields named by Kind are
// meaningful.
type Event struct {
	Kind EventKind

	ID    string
	Model string

	// Index is the block index: dense, 0-based, in start order.
	Index int
	Block PartKind

	Text              string
	ToolCallID        string
	ToolName          string
	SignatureProtocol Protocol

	Usage *Usage

	StopReason   StopReason
	StopSequence string

	Err *Error
}
