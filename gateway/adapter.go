package gateway

import (
	"net/http"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/responses"
	"github.com/llmgw/llmgw/sse"
)

// Adapter is one wire protocol as the gateway drives it: everything the
// gateway does differently for one protocol goes through it, so that the
// pipeline (read, decide, walk, relay, record) is written once for every
// protocol. providers/<protocol> implements it (each package's Adapter);
// the gateway owns the interface and the map (builtinAdapters).
//
// An Adapter serves two roles: the client's protocol (its doors, decoding
// the request, encoding the answer and errors in the client's shape) and
// an upstream's (URLs, auth, encoding the request, decoding the answer,
// its errors and stream). On a same-protocol attempt the client's bytes
// are forwarded through EditBody and RelayEvent instead of being
// converted.
type Adapter interface {
	// Kind is the provider kind whose native protocol this is: a client
	// of this protocol is forwarded as-is to a provider of that kind
	// (and to the demo provider, which speaks every protocol). Any other
	// kind is spoken to in the protocol named like the kind.
	Kind() string
	// Vendor names the kind's vendor in messages ("OpenAI").
	Vendor() string
	// Doors are the protocol's front doors with a fixed path.
	Doors() []llm.Door
	// DefaultBaseURL is the base URL of the official API in its SDK's
	// convention (OpenAI's with the version, the others the origin).
	DefaultBaseURL() string
	// URL is the upstream URL of op for model on base.
	URL(base string, op llm.Operation, model string, stream bool) string
	// SetAuth puts a provider's secret (an API key, or an OAuth access
	// token when oauth) on an upstream request, with any header the API
	// requires.
	SetAuth(h http.Header, secret string, oauth bool)
	// InlineImages reports an upstream that cannot fetch image URLs: the
	// gateway fetches them and inlines the bytes before converting.
	InlineImages() bool

	// DecodeRequest decodes a client's body into neutral form.
	DecodeRequest(body []byte) (*llm.Request, error)
	// Convertible refuses a request decoded by DecodeRequest that no
	// other protocol can serve faithfully (state only this vendor holds),
	// with an *llm.Error naming the field; nil when it converts.
	Convertible(req *llm.Request) error
	// EncodeRequest encodes a neutral request for an upstream, with
	// warnings naming what it left out.
	EncodeRequest(req *llm.Request) ([]byte, []string, error)
	// DecodeResponse decodes an upstream's non-streaming answer.
	DecodeResponse(body []byte) (*llm.Response, error)
	// EncodeResponse encodes a neutral answer for the client who sent req.
	EncodeResponse(resp *llm.Response, req *llm.Request) ([]byte, error)
	// UsageMember is the top-level member of an answer with its usage,
	// and ParseUsage reads that member's value.
	UsageMember() string
	ParseUsage(raw []byte) (llm.Usage, bool)
	// DecodeError reads an upstream's error body: its type and message.
	DecodeError(status int, body []byte) (typ, message string)
	// EncodeError is an error body in the client's shape, and
	// EncodeStreamError the event that ends a started stream with it.
	EncodeError(e *llm.Error) []byte
	EncodeStreamError(dst []byte, e *llm.Error) []byte
	// NewStreamDecoder decodes an upstream's stream; NewStreamEncoder
	// encodes a neutral stream for the client who sent req;
	// NewUsageScanner reads usage from a forwarded stream.
	NewStreamDecoder() StreamDecoder
	NewStreamEncoder(req *llm.Request) llm.StreamEncoder
	NewUsageScanner() UsageScanner
	// CountEstimate is the answer to a token-counting door when no
	// upstream can count: an estimate of tokens.
	CountEstimate(tokens int) []byte

	// NewFeatureScanner collects a client's body's routing features
	// from the top-level members of the gateway's one pass over it.
	NewFeatureScanner() llm.FeatureScanner

	// PassMember names the top-level member of a client's body that
	// EditBody reads ("" for none). The gateway keeps its value from its
	// one pass over the body, so that the edit need not scan it again.
	PassMember() string
	// EditBody prepares the client's bytes for a same-protocol upstream.
	EditBody(body []byte, e llm.PassEdit) (llm.Passed, error)
	// RelayEvent is a forwarded stream event as the client gets it, or
	// send false to drop it.
	RelayEvent(ev sse.Event, hideUsage bool) (raw, data []byte, send bool)
}

// StreamDecoder turns an upstream's SSE events into neutral events, and
// UsageScanner reads usage from a same-protocol stream as it passes
// through unchanged. Both are aliases of unnamed interface types: a
// provider's adapter returns its own alias of the same type literal, which
// is the identical type, so that it satisfies Adapter without importing
// the gateway, and package llm needs no dependency on sse.
type (
	StreamDecoder = interface {
		Decode(ev sse.Event) ([]llm.Event, error)
		Close() []llm.Event
	}
	UsageScanner = interface {
		Observe(ev sse.Event)
		Usage() (llm.Usage, bool)
	}
)

// builtinAdapters is the one map from protocol to adapter: a protocol is
// a package under providers/ and an entry here (Config.Adapters adds more
// without editing the gateway). The demo provider is a provider kind that
// speaks all of them, not a protocol of its own.
func builtinAdapters() map[llm.Protocol]Adapter {
	return map[llm.Protocol]Adapter{
		llm.ProtocolOpenAI:    openai.Adapter{},
		llm.ProtocolResponses: responses.Adapter{},
		llm.ProtocolAnthropic: anthropic.Adapter{},
		llm.ProtocolGemini:    gemini.Adapter{},
	}
}

// adapter returns p's adapter. Paths that are no protocol's (the
// gateway's own API, an unknown path) answer errors in OpenAI's shape,
// which is what p without an adapter gets.
func (s *Server) adapter(p llm.Protocol) Adapter {
	if a, ok := s.adapters[p]; ok {
		return a
	}
	return s.adapters[llm.ProtocolOpenAI]
}

// upstreamProtocol is the protocol llmgw speaks to a provider of kind for
// a caller speaking p: p itself when p is native to the kind (an OpenAI
// provider takes the Responses API as it is) or the kind is the demo
// provider, which speaks every protocol; otherwise the kind's own.
func (s *Server) upstreamProtocol(kind string, p llm.Protocol) llm.Protocol {
	if kind == demoKind || s.adapter(p).Kind() == kind {
		return p
	}
	if _, ok := s.adapters[llm.Protocol(kind)]; ok {
		return llm.Protocol(kind)
	}
	return p
}
