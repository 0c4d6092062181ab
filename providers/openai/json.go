package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/wirejson"
)

// appendString, jsonKind and isNull are package wirejson's, under the
// names this package's code uses.
func appendString(dst []byte, s string) []byte { return wirejson.AppendString(dst, s) }
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

// parseDataURL splits "data:<mime>;base64,<data>".
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 {
		// A URL-encoded payload: re-encode it so that Data is always
		// base64.
		return mediaType, base64.StdEncoding.EncodeToString([]byte(data)), true
	}
	return mediaType, data, true
}

// dataURL builds a base64 data URL.
func dataURL(mediaType, data string) string {
	return "data:" + mediaType + ";base64," + data
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// marshal is json.Marshal without HTML escaping: bodies go to APIs, not
// browsers, and "<" should stay one byte.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
