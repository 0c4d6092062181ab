package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/llmgw/llmgw/llm"
)

// HTTPError is an error the gateway itself answers with. Status and
// Message are what the client sees, in its own protocol's shape; Err is the
// cause, for the log only.
type HTTPError struct {
	Status  int
	Type    llm.ErrorType
	Message string
	Code    string
	Err     error
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

// errorBody renders e in the shape of the caller's protocol
// (protocols.md §4.1).
func errorBody(p llm.Protocol, e *HTTPError) []byte {
	var v any
	switch p {
	case llm.ProtocolAnthropic:
		v = map[string]any{"type": "error", "error": map[string]any{"type": anthropicType(e), "message": e.Message}}
	case llm.ProtocolGemini:
		v = map[string]any{"error": map[string]any{"code": e.Status, "message": e.Message, "status": geminiStatus(e.Status)}}
	default: // OpenAI chat, Responses, embeddings, and the gateway's own endpoints
		var code any
		if e.Code != "" {
			code = e.Code
		}
		v = map[string]any{"error": map[string]any{"message": e.Message, "type": openAIType(e), "param": nil, "code": code}}
	}
	b, _ := json.Marshal(v)
	return b
}

// writeError writes e in the caller's shape.
func writeError(w http.ResponseWriter, p llm.Protocol, e *HTTPError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(errorBody(p, e))
}

func openAIType(e *HTTPError) string {
	switch e.Type {
	case llm.ErrAuthentication:
		return "authentication_error"
	case llm.ErrPermission:
		return "permission_error"
	case llm.ErrNotFound:
		return "not_found_error"
	case llm.ErrRateLimit:
		return "rate_limit_error"
	case llm.ErrAPI, llm.ErrTimeout:
		return "api_error"
	case llm.ErrOverloaded:
		return "service_unavailable_error"
	}
	return "invalid_request_error"
}

func anthropicType(e *HTTPError) string {
	switch e.Type {
	case llm.ErrAuthentication:
		return "authentication_error"
	case llm.ErrPermission:
		return "permission_error"
	case llm.ErrNotFound:
		return "not_found_error"
	case llm.ErrTooLarge:
		return "request_too_large"
	case llm.ErrRateLimit:
		return "rate_limit_error"
	case llm.ErrOverloaded:
		return "overloaded_error"
	case llm.ErrAPI, llm.ErrTimeout:
		return "api_error"
	}
	return "invalid_request_error"
}

func geminiStatus(status int) string {
	switch status {
	case 400, 413, 415:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 408, 504:
		return "DEADLINE_EXCEEDED"
	case 405:
		return "UNIMPLEMENTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 503:
		return "UNAVAILABLE"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
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
