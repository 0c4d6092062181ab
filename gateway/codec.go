package gateway

import (
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/responses"
	"github.com/llmgw/llmgw/sse"
)

// streamDecoder turns upstream SSE events into neutral events.
type streamDecoder interface {
	Decode(ev sse.Event) ([]llm.Event, error)
	Close() []llm.Event
}

// streamEncoder turns neutral events into the client's SSE bytes.
type streamEncoder interface {
	Encode(dst []byte, ev llm.Event) []byte
	Close(dst []byte) []byte
}

// usageScanner reads usage from a same-protocol stream as it passes.
type usageScanner interface {
	Observe(ev sse.Event)
	Usage() (llm.Usage, bool)
}

// codec is one wire protocol's converter, as the gateway uses it. The
// providers/* packages own the conversions; this table only names them,
// so that the pipeline is written once for every protocol.
type codec struct {
	decodeRequest func([]byte) (*llm.Request, error)
	// convertible refuses a request decoded from this protocol that no
	// other protocol can serve faithfully (state only this vendor holds);
	// nil when every request converts.
	convertible       func(*llm.Request) error
	encodeRequest     func(*llm.Request) ([]byte, []string, error)
	decodeResponse    func([]byte) (*llm.Response, error)
	encodeResponse    func(*llm.Response, *llm.Request) ([]byte, error)
	usageMember       string                         // the top-level member of a response body with its usage
	parseUsage        func([]byte) (llm.Usage, bool) // that member's value, read
	decodeError       func(int, []byte) (string, string)
	newStreamDecoder  func() streamDecoder
	newStreamEncoder  func(*llm.Request) streamEncoder
	encodeStreamError func([]byte, *llm.Error) []byte
	newUsageScanner   func() usageScanner
}

// codecs is immutable after construction.
var codecs = map[llm.Protocol]*codec{
	llm.ProtocolOpenAI: {
		decodeRequest:     openai.DecodeRequest,
		encodeRequest:     openai.EncodeRequest,
		decodeResponse:    openai.DecodeResponse,
		encodeResponse:    openai.EncodeResponse,
		usageMember:       openai.UsageMember,
		parseUsage:        openai.ParseUsage,
		decodeError:       openai.DecodeError,
		newStreamDecoder:  func() streamDecoder { return openai.NewStreamDecoder() },
		newStreamEncoder:  func(r *llm.Request) streamEncoder { return openai.NewStreamEncoder(r) },
		encodeStreamError: openai.EncodeStreamError,
		newUsageScanner:   func() usageScanner { return &openai.UsageScanner{} },
	},
	llm.ProtocolResponses: {
		decodeRequest:     responses.DecodeRequest,
		convertible:       responses.Convertible,
		encodeRequest:     responses.EncodeRequest,
		decodeResponse:    responses.DecodeResponse,
		encodeResponse:    responses.EncodeResponse,
		usageMember:       responses.UsageMember,
		parseUsage:        responses.ParseUsage,
		decodeError:       responses.DecodeError,
		newStreamDecoder:  func() streamDecoder { return responses.NewStreamDecoder() },
		newStreamEncoder:  func(r *llm.Request) streamEncoder { return responses.NewStreamEncoder(r) },
		encodeStreamError: responses.EncodeStreamError,
		newUsageScanner:   func() usageScanner { return &responses.UsageScanner{} },
	},
	llm.ProtocolAnthropic: {
		decodeRequest:     anthropic.DecodeRequest,
		encodeRequest:     anthropic.EncodeRequest,
		decodeResponse:    anthropic.DecodeResponse,
		encodeResponse:    anthropic.EncodeResponse,
		usageMember:       anthropic.UsageMember,
		parseUsage:        anthropic.ParseUsage,
		decodeError:       anthropic.DecodeError,
		newStreamDecoder:  func() streamDecoder { return anthropic.NewStreamDecoder() },
		newStreamEncoder:  func(r *llm.Request) streamEncoder { return anthropic.NewStreamEncoder(r) },
		encodeStreamError: anthropic.EncodeStreamError,
		newUsageScanner:   func() usageScanner { return &anthropic.UsageScanner{} },
	},
	llm.ProtocolGemini: {
		decodeRequest:     gemini.DecodeRequest,
		convertible:       gemini.Convertible,
		encodeRequest:     gemini.EncodeRequest,
		decodeResponse:    gemini.DecodeResponse,
		encodeResponse:    gemini.EncodeResponse,
		usageMember:       gemini.UsageMember,
		parseUsage:        gemini.ParseUsage,
		decodeError:       gemini.DecodeError,
		newStreamDecoder:  func() streamDecoder { return gemini.NewStreamDecoder() },
		newStreamEncoder:  func(r *llm.Request) streamEncoder { return gemini.NewStreamEncoder(r) },
		encodeStreamError: gemini.EncodeStreamError,
		newUsageScanner:   func() usageScanner { return &gemini.UsageScanner{} },
	},
}

func codecFor(p llm.Protocol) *codec { return codecs[p] }
