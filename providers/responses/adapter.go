package responses

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

// Adapter is the OpenAI Responses API as the gateway drives it: its front
// door, upstream URL and auth, the edits made on forwarded bytes, and the
// converters of this package. Its zero value is ready; it holds no state.
type Adapter struct{}

// Kind is "openai": OpenAI providers serve the Responses API beside chat
// completions, and a Responses request to one is forwarded as it is.
func (Adapter) Kind() string { return "openai" }

// Vendor names the kind's vendor in messages.
func (Adapter) Vendor() string { return "OpenAI" }

// Doors is the Responses front door.
func (Adapter) Doors() []llm.Door {
	return []llm.Door{{Path: "/v1/responses", Op: llm.OpGenerate, Name: "responses"}}
}

// DefaultBaseURL is OpenAI's, version included.
func (Adapter) DefaultBaseURL() string { return "https://api.openai.com/v1" }

// URL is the Responses endpoint on an OpenAI-compatible base.
func (Adapter) URL(base string, _ llm.Operation, _ string, _ bool) string {
	return base + "/responses"
}

// SetAuth puts a bearer token on an upstream request, unless secret is
// empty (a local server without auth).
func (Adapter) SetAuth(h http.Header, secret string, _ bool) {
	if secret != "" {
		h.Set("Authorization", "Bearer "+secret)
	}
}

// InlineImages is false: OpenAI fetches image URLs itself.
func (Adapter) InlineImages() bool { return false }

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

// CountEstimate is a token count in Anthropic's shape (the Responses API
// has no door for counting).
func (Adapter) CountEstimate(tokens int) []byte {
	return []byte(`{"input_tokens":` + strconv.Itoa(tokens) + `}`)
}

// PassMember is "": no edit reads a member of its own.
func (Adapter) PassMember() string { return "" }

// EditBody rewrites the model when the route names another; the rest of
// the client's bytes are forwarded as they are.
func (Adapter) EditBody(body []byte, e llm.PassEdit) (llm.Passed, error) {
	if e.Op == llm.OpGenerate && ReplaysCarriedReasoning(body) {
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
