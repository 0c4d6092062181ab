package crosstest

import (
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/responses"
	"github.com/llmgw/llmgw/sse"
)

type streamDecoder interface {
	Decode(sse.Event) ([]llm.Event, error)
	Close() []llm.Event
}

type streamEncoder interface {
	Encode([]byte, llm.Event) []byte
	Close([]byte) []byte
}

// codec is one converter package seen through the common converter API.
type codec struct {
	proto llm.Protocol
	// prefix selects the package's fixtures; the suffixes name them.
	prefix                        string
	requestSuffix, responseSuffix string
	decodeRequest                 func([]byte) (*llm.Request, error)
	encodeRequest                 func(*llm.Request) ([]byte, []string, error)
	decodeResponse                func([]byte) (*llm.Response, error)
	encodeResponse                func(*llm.Response, *llm.Request) ([]byte, error)
	newStreamDecoder              func() streamDecoder
	newStreamEncoder              func(*llm.Request) streamEncoder
}

// codecs lists the converter packages.
var codecs = []codec{
	{
		proto: llm.ProtocolOpenAI, prefix: "openai_c", requestSuffix: ".request.json", responseSuffix: ".response.200.json",
		decodeRequest: openai.DecodeRequest, encodeRequest: openai.EncodeRequest,
		decodeResponse: openai.DecodeResponse, encodeResponse: openai.EncodeResponse,
		newStreamDecoder: func() streamDecoder { return openai.NewStreamDecoder() },
		newStreamEncoder: func(r *llm.Request) streamEncoder {
			e := openai.NewStreamEncoder(r)
			e.Now = func() time.Time { return time.Unix(1700000000, 0) }
			return e
		},
	},
	{
		proto: llm.ProtocolAnthropic, prefix: "anthropic_", requestSuffix: "_request.json", responseSuffix: "_response.json",
		decodeRequest: anthropic.DecodeRequest, encodeRequest: anthropic.EncodeRequest,
		decodeResponse: anthropic.DecodeResponse, encodeResponse: anthropic.EncodeResponse,
		newStreamDecoder: func() streamDecoder { return anthropic.NewStreamDecoder() },
		newStreamEncoder: func(r *llm.Request) streamEncoder { return anthropic.NewStreamEncoder(r) },
	},
	{
		proto: llm.ProtocolResponses, prefix: "openai_responses_", requestSuffix: ".request.json", responseSuffix: ".response.json",
		decodeRequest: responses.DecodeRequest, encodeRequest: responses.EncodeRequest,
		decodeResponse: responses.DecodeResponse, encodeResponse: responses.EncodeResponse,
		newStreamDecoder: func() streamDecoder { return responses.NewStreamDecoder() },
		newStreamEncoder: func(r *llm.Request) streamEncoder { return responses.NewStreamEncoder(r) },
	},
	{
		proto: llm.ProtocolGemini, prefix: "gemini_", requestSuffix: ".request.json", responseSuffix: ".response.json",
		decodeRequest:  func(b []byte) (*llm.Request, error) { return gemini.DecodeRequestModel("gemini-2.5-flash", b) },
		encodeRequest:  gemini.EncodeRequest,
		decodeResponse: func(b []byte) (*llm.Response, error) { return gemini.DecodeResponseNonce(b, "nonce") },
		encodeResponse: gemini.EncodeResponse,
		newStreamDecoder: func() streamDecoder {
			d := gemini.NewStreamDecoder()
			d.Nonce = "nonce" // call ids in goldens stay put
			return d
		},
		newStreamEncoder: func(r *llm.Request) streamEncoder { return gemini.NewStreamEncoder(r) },
	},
}
