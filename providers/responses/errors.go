package responses

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// errorCode is the response.error.code for e; Codex branches on
// context_length_exceeded, insufficient_quota and rate_limit_exceeded.
func errorCode(e *llm.Error) string {
	if e.Code != "" {
		return e.Code
	}
	switch e.Type {
	case llm.ErrRateLimit:
		return "rate_limit_exceeded"
	case llm.ErrInvalidRequest, llm.ErrTooLarge:
		return "invalid_prompt"
	case llm.ErrAuthentication:
		return "invalid_api_key"
	case llm.ErrNotFound:
		return "model_not_found"
	}
	return "server_error"
}

// errorType is the OpenAI error type for a neutral error type.
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

// DecodeError reads an upstream OpenAI error body ({"error": {message,
// type, param, code}}) and returns its type (or code when the type is
// empty) and message. A body that is not an OpenAI error yields an empty
// type and the start of the body.
func DecodeError(status int, body []byte) (typ, message string) {
	var env struct {
		Error *struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		typ = env.Error.Type
		if typ == "" {
			var code string
			if json.Unmarshal(env.Error.Code, &code) == nil {
				typ = code
			}
		}
		return typ, env.Error.Message
	}
	s := strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
	if len(s) > 512 {
		s = s[:512]
	}
	return "", s
}

// EncodeError returns the OpenAI error body for e: the same body as
// openai.EncodeError, since the Responses API shares OpenAI's error
// envelope (a 404 carries code "not_found" unless e names one).
func EncodeError(e *llm.Error) []byte {
	type wire struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	w := wire{Message: e.Message, Type: errorType(e.Type)}
	if e.Param != "" {
		w.Param = &e.Param
	}
	if e.Code != "" {
		w.Code = &e.Code
	} else if e.Type == llm.ErrNotFound {
		code := "not_found"
		w.Code = &code
	}
	b, _ := json.Marshal(struct {
		Error wire `json:"error"`
	}{w})
	return b
}
