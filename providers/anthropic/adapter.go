package anthropic

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// streamDecoder and usageScanner are the gateway's StreamDecoder and
// UsageScanner: aliases of the same unnamed interface types, hence
// identical to them, so that Adapter satisfies the gateway's interface
// without importing it.
type (
	streamDecoder = interface {
		Decode(ev sse.Event) ([]llm.Event, error)
		Close() []llm.Event
	}
	usageScanner = interface {
		Observe(ev sse.Event)
		Usage() (llm.Usage, bool)
	}
)

// Adapter is Anthropic Messages as the gateway drives it: front doors,
// upstream URLs and auth, the edits made on forwarded bytes, and the
// converters of this package. Its zero value is ready; it holds no state.
type Adapter struct{}

// Kind is the provider kind whose native protocol this is.
func (Adapter) Kind() string { return "anthropic" }

// Vendor names the kind's vendor in messages.
func (Adapter) Vendor() string { return "Anthropic" }

// Doors are Anthropic's front doors.
func (Adapter) Doors() []llm.Door {
	return []llm.Door{
		{Path: "/v1/messages", Op: llm.OpGenerate, Name: "messages"},
		{Path: "/v1/messages/count_tokens", Op: llm.OpCountTokens, Name: "count_tokens"},
	}
}

// DefaultBaseURL is the official SDK's base URL: the bare origin.
func (Adapter) DefaultBaseURL() string { return "https://api.anthropic.com" }

// URL is the URL of op on an Anthropic base.
func (Adapter) URL(base string, op llm.Operation, _ string, _ bool) string {
	if op == llm.OpCountTokens {
		return base + "/v1/messages/count_tokens"
	}
	return base + "/v1/messages"
}

// APIVersion is the anthropic-version sent when the client (or the
// provider's headers) named none: the API refuses a request without one.
const APIVersion = "2023-06-01"

// SetAuth puts an API key in x-api-key, or an OAuth access token in
// Authorization, and the API version when none is set.
func (Adapter) SetAuth(h http.Header, secret string, oauth bool) {
	switch {
	case !oauth:
		h.Set("x-api-key", secret)
	case secret != "":
		h.Set("Authorization", "Bearer "+secret)
	}
	if h.Get("anthropic-version") == "" {
		h.Set("anthropic-version", APIVersion)
	}
}

// InlineImages is false: Claude fetches image URLs itself.
func (Adapter) InlineImages() bool { return false }

// The converters, as methods.

func (Adapter) DecodeRequest(b []byte) (*llm.Request, error) { return DecodeRequest(b) }
func (Adapter) Convertible(*llm.Request) error               { return nil }
func (Adapter) EncodeRequest(r *llm.Request) ([]byte, []string, error) {
	return EncodeRequest(r)
}
func (Adapter) DecodeResponse(b []byte) (*llm.Response, error) { return DecodeResponse(b) }
func (Adapter) EncodeResponse(r *llm.Response, req *llm.Request) ([]byte, error) {
	return EncodeResponse(r, req)
}
func (Adapter) UsageMember() string                           { return UsageMember }
func (Adapter) ParseUsage(b []byte) (llm.Usage, bool)         { return ParseUsage(b) }
func (Adapter) DecodeError(st int, b []byte) (string, string) { return DecodeError(st, b) }
func (Adapter) EncodeError(e *llm.Error) []byte               { return EncodeError(e) }
func (Adapter) EncodeStreamError(dst []byte, e *llm.Error) []byte {
	return EncodeStreamError(dst, e)
}
func (Adapter) NewStreamDecoder() streamDecoder { return NewStreamDecoder() }
func (Adapter) NewStreamEncoder(r *llm.Request) llm.StreamEncoder {
	return NewStreamEncoder(r)
}
func (Adapter) NewUsageScanner() usageScanner { return &UsageScanner{} }

// CountEstimate is count_tokens' answer for an estimate of tokens.
func (Adapter) CountEstimate(tokens int) []byte {
	return []byte(`{"input_tokens":` + strconv.Itoa(tokens) + `}`)
}

// PassMember is "": no edit reads a member of its own.
func (Adapter) PassMember() string { return "" }

// EditBody forwards the client's bytes with the model rewritten when the
// route names another, unless the history replays thinking llmgw served
// from another provider (ReplaysForeignThinking): Claude would refuse it,
// so the body is re-encoded instead, which drops those blocks.
func (Adapter) EditBody(body []byte, e llm.PassEdit) (llm.Passed, error) {
	if e.Op == llm.OpGenerate && ReplaysForeignThinking(body) {
		return llm.Passed{Reencode: true}, nil
	}
	if e.Model == "" {
		return llm.Passed{Body: body}, nil
	}
	mb, _ := json.Marshal(e.Model)
	b, err := wirejson.SetTopLevel(body, "model", mb)
	return llm.Passed{Body: b}, err
}

// RelayEvent forwards every event as it is.
func (Adapter) RelayEvent(ev sse.Event, _ bool) (raw, data []byte, send bool) {
	return ev.Raw, ev.Data, true
}
