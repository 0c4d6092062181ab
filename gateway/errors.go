package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
)

// HTTPError is the one error type of what a client sees when a request
// does not end in an answer: whatever refused or failed it (the gateway's
// own checks, a converter's *llm.Error, an upstream's failure the policy
// passed on, the walk giving up) becomes an HTTPError (asHTTPError), and
// writeError alone writes it. Status and Message are what the client
// sees, in its own protocol's shape; Err is the cause, for the log only.
type HTTPError struct {
	Status  int
	Type    llm.ErrorType
	Message string
	Code    string
	Err     error
	// Raw is an upstream's own error body, relayed as it is to a client
	// of the same protocol (nil: Message is rendered in the client's
	// shape), and Header the upstream's headers that go with it
	// (Retry-After, Content-Type).
	Raw    []byte
	Header http.Header
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// errorf builds an HTTPError whose type follows from the status.
func errorf(status int, format string, args ...any) *HTTPError {
	return &HTTPError{Status: status, Type: llm.TypeForStatus(status), Message: fmt.Sprintf(format, args...)}
}

// refusalError is the answer to a request the policy refused with
// refuse(status, message, retry_after): that status and message in the
// client's protocol, with Retry-After (whole seconds, rounded up) when
// the policy gave one.
func refusalError(r *engine.Refusal) *HTTPError {
	e := &HTTPError{Status: r.Status, Type: llm.TypeForStatus(r.Status), Message: r.Message}
	if r.RetryAfter > 0 {
		secs := int64((r.RetryAfter + time.Second - 1) / time.Second)
		e.Header = http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
	}
	return e
}

// asHTTPError turns any error into what the client is shown: an
// *HTTPError or *llm.Error keeps its status and message; anything else
// becomes a 502 with a generic message (the cause is logged, not shown).
func asHTTPError(err error) *HTTPError {
	var he *HTTPError
	if errors.As(err, &he) {
		return he
	}
	var le *llm.Error
	if errors.As(err, &le) {
		return &HTTPError{Status: le.Status, Type: le.Type, Message: le.Message, Code: le.Code, Err: err}
	}
	return &HTTPError{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream request failed", Err: err}
}

// errorBody renders e in the shape of the caller's protocol (OpenAI's
// error object, Anthropic's typed error, Gemini's code and gRPC status),
// with the same encoders the converters use for an upstream's errors, so
// that a client sees one error vocabulary whether llmgw or a provider
// refused its request.
func errorBody(a Adapter, e *HTTPError) []byte {
	return a.EncodeError(&llm.Error{Status: e.Status, Type: e.Type, Message: e.Message, Code: e.Code})
}

// writeError writes e in the shape of the caller's protocol a.
func writeError(w http.ResponseWriter, a Adapter, e *HTTPError) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	if e.Raw != nil {
		w.WriteHeader(e.Status)
		_, _ = w.Write(e.Raw)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(errorBody(a, e))
}

// retryAfter parses retry-after-ms or retry-after (seconds or an HTTP
// date is not used by LLM providers; seconds only).
func retryAfter(h http.Header) (ms int64, ok bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return int64(f), true
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return int64(f * 1000), true
		}
	}
	return 0, false
}
