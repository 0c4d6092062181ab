package anthropic

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
)

// appendString, jsonKind, isNull and marshal are package wirejson's,
// under the names this package's code uses.
func appendString(dst []byte, s string) []byte { return wirejson.AppendString(dst, s) }
func marshal(v any) ([]byte, error)            { return wirejson.Marshal(v) }
func jsonKind(raw json.RawMessage) string      { return wirejson.Kind(raw) }
func isNull(raw json.RawMessage) bool          { return wirejson.IsNull(raw) }

// badRequest returns the *llm.Error a decoder reports for malformed input.
func badRequest(param, format string, args ...any) error {
	e := llm.Errorf(400, llm.ErrInvalidRequest, format, args...)
	e.Param = param
	return e
}

// unsupported returns the *llm.Error for a feature Anthropic Messages
// cannot express when dropping it would change the meaning of the request.
func unsupported(format string, args ...any) error {
	e := llm.Errorf(400, llm.ErrInvalidRequest, "anthropic: "+format, args...)
	return e
}

// objectArguments returns tool call arguments as a JSON object text:
// arguments that are not a JSON object (truncated by a length stop, or an
// empty string) are wrapped so that the target still receives an object.
func objectArguments(args json.RawMessage) json.RawMessage {
	s := strings.TrimSpace(string(args))
	if s == "" {
		return json.RawMessage("{}")
	}
	if s[0] == '{' && json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(map[string]string{"raw_input": string(args)})
	return b
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
