package anthropic

import (
	"encoding/json"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeError extracts the error type and message of an upstream error
// body, {"type":"error","error":{"type","message"}}. A body of another
// shape yields an empty type and the body's text as the message.
func DecodeError(status int, body []byte) (typ, message string) {
	var w struct {
		Error *wireError `json:"error"`
	}
	if err := json.Unmarshal(body, &w); err != nil || w.Error == nil {
		return "", strings.TrimSpace(string(body))
	}
	return w.Error.Type, w.Error.Message
}

// errorType maps a neutral error type onto Anthropic's error.type enum.
func errorType(t llm.ErrorType) string {
	switch t {
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
	case llm.ErrAPI:
		return "api_error"
	case llm.ErrOverloaded:
		return "overloaded_error"
	case llm.ErrTimeout:
		return "timeout_error"
	}
	return "invalid_request_error"
}

// llmError converts an Anthropic error object.
func llmError(w *wireError) *llm.Error {
	e := &llm.Error{Message: w.Message}
	switch w.Type {
	case "invalid_request_error":
		e.Status, e.Type = 400, llm.ErrInvalidRequest
	case "authentication_error":
		e.Status, e.Type = 401, llm.ErrAuthentication
	case "billing_error":
		e.Status, e.Type = 402, llm.ErrPermission
	case "permission_error":
		e.Status, e.Type = 403, llm.ErrPermission
	case "not_found_error":
		e.Status, e.Type = 404, llm.ErrNotFound
	case "request_too_large":
		e.Status, e.Type = 413, llm.ErrTooLarge
	case "rate_limit_error":
		e.Status, e.Type = 429, llm.ErrRateLimit
	case "overloaded_error":
		e.Status, e.Type = 529, llm.ErrOverloaded
	case "timeout_error":
		e.Status, e.Type = 504, llm.ErrTimeout
	default:
		e.Status, e.Type = 500, llm.ErrAPI
	}
	if e.Message == "" {
		e.Message = "upstream stream error"
	}
	return e
}

func appendError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = appendString(dst, errorType(e.Type))
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	return append(dst, "}}"...)
}

// EncodeError returns the Anthropic error body for e.
func EncodeError(e *llm.Error) []byte { return appendError(nil, e) }

// EncodeStreamError appends the in-stream error event for e (event:
// error, for a stream whose 200 status has been sent); the SDKs raise it
// as an APIError.
func EncodeStreamError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = appendError(dst, e)
	return append(dst, "\n\n"...)
}
