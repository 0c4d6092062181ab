package openai

import (
	"encoding/base64"
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

// unsupported returns the *llm.Error for a feature OpenAI chat completions
// cannot express when dropping it would change the meaning of the request.
func unsupported(format string, args ...any) error {
	e := llm.Errorf(400, llm.ErrInvalidRequest, "openai: "+format, args...)
	return e
}

// parseDataURL splits a data URL. Unlike llm.ParseDataURL it also takes a
// URL-encoded payload (no ";base64"), which it re-encodes so that Data is
// always base64.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	if mediaType, data, ok := llm.ParseDataURL(u); ok {
		return mediaType, data, true
	}
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	return meta, base64.StdEncoding.EncodeToString([]byte(data)), true
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
