package llm

import "github.com/llmgw/llmgw/sse"

// The types in this file are what a wire adapter (one per protocol, in
// providers/<protocol>) and the gateway that drives it have in common. They
// live here, beside the neutral request and response, because a Go
// interface is satisfied only by methods with these exact types: the
// gateway owns the adapter interface, the providers implement it without
// importing the gateway.

// Operation is what a front door asks of a provider.
type Operation uint8

// The operations a front door can ask for.
const (
	OpGenerate    Operation = iota // a chat turn, streamed or not
	OpCountTokens                  // count a request's input tokens
	OpEmbed                        // embed one input (OpenAI's embeddings take a list too)
	OpBatchEmbed                   // embed a list of inputs (Gemini's batchEmbedContents)
)

// Door is a front door with a fixed path: a client of the adapter's
// protocol POSTs requests for Op to Path. Name is the endpoint's name in
// logs.
type Door struct {
	Path string
	Op   Operation
	Name string
}

// StreamDecoder turns an upstream's SSE events into neutral events.
type StreamDecoder interface {
	Decode(ev sse.Event) ([]Event, error)
	Close() []Event
}

// StreamEncoder turns neutral events into a client's stream bytes.
type StreamEncoder interface {
	Encode(dst []byte, ev Event) []byte
	Close(dst []byte) []byte
}

// UsageScanner reads usage from a same-protocol stream as it passes
// through unchanged.
type UsageScanner interface {
	Observe(ev sse.Event)
	Usage() (Usage, bool)
}

// PassEdit is what a same-protocol attempt asks of the client's bytes.
type PassEdit struct {
	Op     Operation
	Stream bool
	// Model is the upstream's name for the model when it differs from
	// the one the client sent, "" to keep the body's.
	Model string
	// Member is the value of the top-level member the adapter named as its
	// PassMember (a sub-slice of the body, found on the gateway's one pass
	// over it), nil when the body has none.
	Member []byte
}

// Passed is the body of a same-protocol attempt.
type Passed struct {
	Body []byte
	// HideUsage: the adapter asked the upstream for usage the client did
	// not ask for (OpenAI's include_usage), so the relay drops it.
	HideUsage bool
	// Reencode: the body cannot be forwarded as it is (an Anthropic
	// history replaying thinking from another provider): the gateway
	// decodes it and encodes it again instead.
	Reencode bool
}
