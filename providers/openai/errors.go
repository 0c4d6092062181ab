package openai

import (
	"encoding/json"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// DecodeError extracts the error type and message of an upstream error
// body, {"error":{"message","type","code"}}. A body of another shape
// yields an empty type and the body's text as the message.
func DecodeError(status int, body []byte) (typ, message string) {
	var w struct {
		Error *wireError `json:"error"`
	}
	if err := json.Unmarshal(body, &w); err != nil || w.Error == nil {
		return "", strings.TrimSpace(string(body))
	}
	typ = w.Error.Type
	if typ == "" {
		var code string
		_ = json.Unmarshal(w.Error.Code, &code)
		typ = code
	}
	return typ, w.Error.Message
}

// errorType maps a neutral error type onto OpenAI's type strings.
func errorType(t llm.ErrorType) string {
	switch t {
	case llm.ErrAuthentication:
		return "authentication_error"
	case llm.ErrPermission:
		return "permission_error"
	case llm.ErrRateLimit:
		return "rate_limit_error"
	case llm.ErrAPI, llm.ErrTimeout:
		return "server_error"
	case llm.ErrOverloaded:
		return "service_unavailable_error"
	}
	return "invalid_request_error"
}

// appendError appends {"error":{...}} for e.
func appendError(dst []byte, e *llm.Error) []byte {
	code := e.Code
	if code == "" && e.Type == llm.ErrNotFound {
		code = "not_found"
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = appendString(dst, e.Message)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, errorType(e.Type))
	dst = append(dst, `,"param":`...)
	dst = appendNullable(dst, e.Param)
	dst = append(dst, `,"code":`...)
	dst = appendNullable(dst, code)
	return append(dst, "}}"...)
}

func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

// EncodeError returns the OpenAI error body for e.
func EncodeError(e *llm.Error) []byte { return appendError(nil, e) }

// EncodeStreamError appends the in-stream error chunk for e, which every
// OpenAI SDK raises as a stream error. No [DONE]
// follows it.
func EncodeStreamError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = appendError(dst, e)
	return append(dst, "\n\n"...)
}
