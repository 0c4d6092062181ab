package gemini

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeError reads an upstream Gemini error body ({"error": {code,
// message, status}}, possibly wrapped in an array) and returns its status
// (RESOURCE_EXHAUSTED…) as the type, and its message. A body that is not a
// Gemini error yields an empty type and the start of the body.
func DecodeError(status int, body []byte) (typ, message string) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			body = arr[0]
		}
	}
	var env struct {
		Error *wireError `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		return env.Error.Status, env.Error.Message
	}
	return "", truncate(strings.TrimSpace(string(body)), 512)
}

// grpcStatus is the Gemini status string for a neutral error type.
func grpcStatus(t llm.ErrorType) string {
	switch t {
	case llm.ErrAuthentication:
		return "UNAUTHENTICATED"
	case llm.ErrPermission:
		return "PERMISSION_DENIED"
	case llm.ErrNotFound:
		return "NOT_FOUND"
	case llm.ErrRateLimit:
		return "RESOURCE_EXHAUSTED"
	case llm.ErrAPI:
		return "INTERNAL"
	case llm.ErrOverloaded:
		return "UNAVAILABLE"
	case llm.ErrTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INVALID_ARGUMENT"
}

func wireErrorToLLM(w *wireError) *llm.Error {
	status := w.Code
	if status < 400 || status > 599 {
		status = 502
	}
	return &llm.Error{Status: status, Type: llm.TypeForStatus(status), Message: w.Message, Code: w.Status}
}

func wireErrorFrom(e *llm.Error) wireError {
	status, st := e.Status, grpcStatus(e.Type)
	switch status {
	case 0:
		status = 500
	case 529: // Anthropic's overloaded; Gemini says 503
		status = 503
	case 408: // a request (body) that did not arrive in time
		st = "DEADLINE_EXCEEDED"
	case 405, 501:
		st = "UNIMPLEMENTED"
	case 499: // the client went away (google.rpc.Code's HTTP mapping)
		st = "CANCELLED"
	}
	return wireError{Code: status, Message: e.Message, Status: st}
}

// EncodeError returns the Gemini error body for e.
func EncodeError(e *llm.Error) []byte {
	b, _ := json.Marshal(struct {
		Error wireError `json:"error"`
	}{wireErrorFrom(e)})
	return b
}

// EncodeStreamError appends the in-stream form of e: a data: event whose
// JSON is a Gemini error object, which js-genai raises as an ApiError
// (Gemini has no documented in-band error event).
func EncodeStreamError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, EncodeError(e)...)
	return append(dst, "\n\n"...)
}
