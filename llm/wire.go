package llm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The types in this file are what a wire adapter (one per protocol, in
// providers/<protocol>) and the gateway that drives it have in common. They
// live here, beside the neutral request and response, because a Go
// interface is satisfied only by methods with these exact types: the
// gateway owns the adapter interface, the providers implement it without
// importing the gateway. The stream decoder and usage scanner, which read
// sse events, are unnamed interface types both sides spell out (see
// gateway.StreamDecoder): llm imports no transport.

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

// StreamEncoder turns neutral events into a client's stream bytes.
type StreamEncoder interface {
	Encode(dst []byte, ev Event) []byte
	Close(dst []byte) []byte
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

// Model is one listed model, whatever shape a client asked for: what a
// provider's models endpoint said of it, or an alias a policy declares.
// Fields an upstream did not report are zero and left out of the answer.
type Model struct {
	// ID is the name clients use, without Gemini's "models/" prefix.
	ID string
	// Provider lists the model (owned_by); the first provider in
	// declaration order when several do.
	Provider         string
	DisplayName      string
	Description      string
	Version          string
	Created          time.Time
	InputTokenLimit  int
	OutputTokenLimit int
	// Methods are Gemini's supportedGenerationMethods.
	Methods []string
	// Raw is the object as an upstream speaking RawProtocol listed it. A
	// client of the same protocol gets it unchanged, with every field
	// llmgw does not know (Anthropic's capabilities, Gemini's thinking...).
	Raw         json.RawMessage
	RawProtocol Protocol
}

// Fill copies into m the metadata that o has and m lacks.
func (m *Model) Fill(o Model) {
	if m.DisplayName == "" {
		m.DisplayName = o.DisplayName
	}
	if m.Description == "" {
		m.Description = o.Description
	}
	if m.Version == "" {
		m.Version = o.Version
	}
	if m.Created.IsZero() {
		m.Created = o.Created
	}
	if m.InputTokenLimit == 0 {
		m.InputTokenLimit = o.InputTokenLimit
	}
	if m.OutputTokenLimit == 0 {
		m.OutputTokenLimit = o.OutputTokenLimit
	}
	if m.Methods == nil {
		m.Methods = o.Methods
	}
	if m.Raw == nil {
		m.Raw, m.RawProtocol = o.Raw, o.RawProtocol
	}
}

// PageSize parses a model list's page-size query parameter as the
// vendors' APIs do: def when absent or 0, at most 1000, a 400 when not a
// non-negative integer.
func PageSize(v, name string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0:
		return 0, &Error{Status: 400, Type: ErrInvalidRequest, Message: fmt.Sprintf("%s must be a positive integer, not %q", name, v)}
	case n == 0:
		return def, nil
	}
	return min(n, 1000), nil
}
