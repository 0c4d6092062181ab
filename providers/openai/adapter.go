package openai

import (
	"bytes"
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

// Adapter is OpenAI chat completions (and embeddings) as the gateway
// drives it: front doors, upstream URLs and auth, the edits made on
// forwarded bytes, and the converters of this package. Its zero value is
// ready; it holds no state.
type Adapter struct{}

// Kind is the provider kind whose native protocol this is.
func (Adapter) Kind() string { return "openai" }

// Vendor names the kind's vendor in messages.
func (Adapter) Vendor() string { return "OpenAI" }

// Doors are OpenAI's front doors.
func (Adapter) Doors() []llm.Door {
	return []llm.Door{
		{Path: "/v1/chat/completions", Op: llm.OpGenerate, Name: "chat.completions"},
		{Path: "/v1/embeddings", Op: llm.OpEmbed, Name: "embeddings"},
	}
}

// DefaultBaseURL is the official SDK's base URL, version included.
func (Adapter) DefaultBaseURL() string { return DefaultBaseURL }

// DefaultBaseURL is OpenAI's API, with the version as the SDKs spell it.
const DefaultBaseURL = "https://api.openai.com/v1"

// URL is the URL of op on an OpenAI-compatible base.
func (Adapter) URL(base string, op llm.Operation, _ string, _ bool) string {
	if op == llm.OpEmbed {
		return base + "/embeddings"
	}
	return base + "/chat/completions"
}

// SetAuth puts a bearer token on an upstream request (an API key or an
// OAuth access token alike).
func (Adapter) SetAuth(h http.Header, secret string, _ bool) { SetBearer(h, secret) }

// SetBearer sets Authorization: Bearer secret, unless secret is empty (a
// local server without auth).
func SetBearer(h http.Header, secret string) {
	if secret != "" {
		h.Set("Authorization", "Bearer "+secret)
	}
}

// InlineImages is false: OpenAI fetches image URLs itself.
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

// CountEstimate is a token count in Anthropic's shape: OpenAI has no
// counting endpoint of its own, and the gateway estimates only for a
// count_tokens door of another protocol.
func (Adapter) CountEstimate(tokens int) []byte {
	return []byte(`{"input_tokens":` + strconv.Itoa(tokens) + `}`)
}

// PassMember is the top-level member the pass-through edits read:
// stream_options, whose include_usage llmgw forces on streams.
func (Adapter) PassMember() string { return "stream_options" }

// EditBody prepares the client's bytes for an OpenAI upstream: on a
// stream whose client did not ask for usage, stream_options.include_usage
// is forced (every stream then reports usage, and the relay hides the
// usage chunk the client did not ask for); the model is rewritten when the
// route names another.
func (Adapter) EditBody(body []byte, e llm.PassEdit) (llm.Passed, error) {
	if e.Op == llm.OpGenerate && ReplaysCarriedReasoning(body) {
		return llm.Passed{Reencode: true}, nil
	}
	p := llm.Passed{Body: body}
	// The usage edit first: it splices at the offset the gateway's pass
	// found, which the model edit would move.
	if e.Op == llm.OpGenerate && e.Stream && !IncludeUsageAsked(e.Member) {
		b, err := ForceIncludeUsage(body, e.Member)
		if err != nil {
			return p, err
		}
		p.Body, p.HideUsage = b, true
	}
	var err error
	p.Body, err = SetModel(p.Body, e.Model)
	return p, err
}

// SetModel sets body's top-level model to model; "" leaves body as it
// is.
func SetModel(body []byte, model string) ([]byte, error) {
	if model == "" {
		return body, nil
	}
	mb, _ := json.Marshal(model)
	return wirejson.SetTopLevel(body, "model", mb)
}

// RelayEvent returns a forwarded stream event as the client gets it, or
// send false to drop it: the usage-only chunk llmgw asked for on the
// client's behalf is dropped, and a chunk with "error": null loses the
// member (openai-go fails a stream on any chunk with a top-level "error"
// key, null too, which some compatible servers send on every chunk).
func (Adapter) RelayEvent(ev sse.Event, hideUsage bool) (raw, data []byte, send bool) {
	if hideUsage && isUsageOnlyChunk(ev.Data) {
		return nil, nil, false
	}
	raw, data = ev.Raw, ev.Data
	if bytes.Contains(data, []byte(`"error"`)) {
		if d, ok := wirejson.DropNullMember(data, "error"); ok {
			raw, data = sse.AppendEvent(nil, ev.Name, d), d
		}
	}
	return raw, data, true
}

// isUsageOnlyChunk reports a chunk that carries only the final usage: a
// "usage" object and no choices (an empty array, null, or none). The members
// are read by the scanner, so any JSON layout is recognised ("choices":
// [] from a Python server as well as OpenAI's compact bytes); the byte
// search for the key, which no layout changes, spares every other chunk
// the scan.
func isUsageOnlyChunk(data []byte) bool {
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return false
	}
	usage, choices := false, false
	err := wirejson.Fields(data, func(key, value []byte) bool {
		switch string(key) {
		case "usage":
			usage = len(value) > 0 && value[0] == '{'
		case "choices":
			choices = !emptyArray(value) && !wirejson.IsNull(value)
		}
		return true
	})
	return err == nil && usage && !choices
}

// emptyArray reports whether raw is the JSON array [] (with any blanks
// inside).
func emptyArray(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '[' && raw[len(raw)-1] == ']' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

// IncludeUsageAsked reports whether a body's stream_options value (nil
// when absent) asks for include_usage.
func IncludeUsageAsked(opts []byte) bool {
	if opts == nil {
		return false
	}
	vs, ve, ok, err := wirejson.Find(opts, "include_usage")
	return err == nil && ok && string(opts[vs:ve]) == "true"
}

// ForceIncludeUsage sets stream_options.include_usage in a body.
//
// opts is the body's stream_options value as the gateway's pass found it
// (a sub-slice of body; nil when the body has none), so that only that
// small object is scanned here, not the body: an agent's history is 100
// KB or more, and this runs for every stream whose client did not ask for
// usage itself.
func ForceIncludeUsage(body, opts []byte) ([]byte, error) {
	val := []byte(`{"include_usage":true}`)
	if opts != nil && bytes.HasPrefix(bytes.TrimSpace(opts), []byte("{")) {
		v, err := wirejson.SetTopLevel(opts, "include_usage", []byte("true"))
		if err != nil {
			return nil, err
		}
		val = v
	}
	if opts == nil {
		return wirejson.AppendTopLevel(body, "stream_options", val)
	}
	s, ok := offsetIn(body, opts)
	if !ok {
		return wirejson.SetTopLevel(body, "stream_options", val) // not body's own slice: find it
	}
	return wirejson.ReplaceRange(body, s, s+len(opts), val), nil
}

// offsetIn returns where sub, a slice of body's array, starts in body.
func offsetIn(body, sub []byte) (int, bool) {
	if len(sub) == 0 || cap(sub) > cap(body) {
		return 0, false
	}
	s := cap(body) - cap(sub)
	if s+len(sub) > len(body) || &body[s] != &sub[0] {
		return 0, false
	}
	return s, true
}
