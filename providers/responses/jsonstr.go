package responses

import (
	"strconv"

	"github.com/llmgw/llmgw/internal/wirejson"
)

// appendJSONString appends s as a JSON string (see package wirejson).
func appendJSONString(dst []byte, s string) []byte { return wirejson.AppendString(dst, s) }

// appendTextDelta appends a response.output_text.delta event, the
// commonest event of a stream, without reflection.
func appendTextDelta(dst []byte, seq int, itemID string, outputIndex int, delta string) []byte {
	dst = append(dst, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":"...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(outputIndex), 10)
	dst = append(dst, `,"item_id":`...)
	dst = appendJSONString(dst, itemID)
	dst = append(dst, `,"content_index":0,"delta":`...)
	dst = appendJSONString(dst, delta)
	return append(dst, ",\"logprobs\":[]}\n\n"...)
}
