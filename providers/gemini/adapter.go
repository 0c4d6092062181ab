package gemini

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// Adapter is Gemini's generateContent API as the gateway drives it:
// upstream URLs and auth, and the converters of this package. Its zero
// value is ready; it holds no state.
//
// Gemini's front doors carry the model and the action in the path
// (/v1beta/models/{model}:{action}), so they are one pattern the gateway
// routes itself, with Action naming the operation; Doors is empty.
type Adapter struct{}

// Kind is the provider kind whose native protocol this is.
func (Adapter) Kind() string { return "gemini" }

// Vendor names the kind's vendor in messages.
func (Adapter) Vendor() string { return "Gemini" }

// Doors is empty: see Action.
func (Adapter) Doors() []llm.Door { return nil }

// Action returns the operation of a front-door action (the part after
// the model's ':'), whether it streams, and false for an unknown one.
func Action(name string) (op llm.Operation, stream bool, ok bool) {
	switch name {
	case "generateContent":
		return llm.OpGenerate, false, true
	case "streamGenerateContent":
		return llm.OpGenerate, true, true
	case "countTokens":
		return llm.OpCountTokens, false, true
	case "embedContent":
		return llm.OpEmbed, false, true
	case "batchEmbedContents":
		return llm.OpBatchEmbed, false, true
	}
	return 0, false, false
}

// DefaultBaseURL is the official SDK's base URL: the bare origin.
func (Adapter) DefaultBaseURL() string { return "https://generativelanguage.googleapis.com" }

// URL is the URL of op for model on a Gemini base. The model is a path
// segment: a name with a slash (allowed for OpenRouter-style names in
// bodies) must not add one.
func (Adapter) URL(base string, op llm.Operation, model string, stream bool) string {
	m := url.PathEscape(strings.TrimPrefix(model, "models/"))
	switch op {
	case llm.OpCountTokens:
		return base + "/v1beta/models/" + m + ":countTokens"
	case llm.OpEmbed:
		return base + "/v1beta/models/" + m + ":embedContent"
	case llm.OpBatchEmbed:
		return base + "/v1beta/models/" + m + ":batchEmbedContents"
	}
	if stream {
		return base + "/v1beta/models/" + m + ":streamGenerateContent?alt=sse"
	}
	return base + "/v1beta/models/" + m + ":generateContent"
}

// SetAuth puts an API key in x-goog-api-key, or an OAuth access token in
// Authorization.
func (Adapter) SetAuth(h http.Header, secret string, oauth bool) {
	switch {
	case !oauth:
		h.Set("x-goog-api-key", secret)
	case secret != "":
		h.Set("Authorization", "Bearer "+secret)
	}
}

// InlineImages is true: Gemini takes images inline or as files it
// stores, never by URL, so the gateway fetches remote images first.
func (Adapter) InlineImages() bool { return true }

// The converters, as methods.

func (Adapter) DecodeRequest(b []byte) (*llm.Request, error) { return DecodeRequest(b) }
func (Adapter) Convertible(r *llm.Request) error             { return Convertible(r) }
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

// CountEstimate is countTokens' answer for an estimate of tokens.
func (Adapter) CountEstimate(tokens int) []byte {
	return []byte(`{"totalTokens":` + strconv.Itoa(tokens) + `}`)
}

// PassMember is "": no edit reads a member of its own.
func (Adapter) PassMember() string { return "" }

// EditBody forwards the client's bytes as they are: the model is in the
// URL, which the route's model already names.
func (Adapter) EditBody(body []byte, e llm.PassEdit) (llm.Passed, error) {
	if e.Op == llm.OpGenerate && ReplaysCarriedReasoning(body) {
		return llm.Passed{Reencode: true}, nil
	}
	return llm.Passed{Body: body}, nil
}

// RelayEvent forwards every event as it is.
func (Adapter) RelayEvent(ev sse.Event, _ bool) (raw, data []byte, send bool) {
	return ev.Raw, ev.Data, true
}
