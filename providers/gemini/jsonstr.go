package gemini

import "github.com/llmgw/llmgw/internal/wirejson"

// appendJSONString appends s as a JSON string (see package wirejson).
func appendJSONString(dst []byte, s string) []byte { return wirejson.AppendString(dst, s) }

// appendTextChunk appends a data: event holding one text part, the
// commonest chunk of a stream, without reflection. It writes what
// json.Marshal of the equivalent generateResponse writes.
func (e *StreamEncoder) appendTextChunk(dst []byte, text string, thought bool) []byte {
	if e.array {
		dst = e.separator(dst)
	} else {
		e.chunks++
		dst = append(dst, "data: "...)
	}
	dst = append(dst, `{"candidates":[{"content":{"role":"model","parts":[{"text":`...)
	dst = appendJSONString(dst, text)
	if thought {
		dst = append(dst, `,"thought":true`...)
	}
	dst = append(dst, `}]},"index":0}]`...)
	if e.model != "" {
		dst = append(dst, `,"modelVersion":`...)
		dst = appendJSONString(dst, e.model)
	}
	if e.id != "" {
		dst = append(dst, `,"responseId":`...)
		dst = appendJSONString(dst, e.id)
	}
	dst = append(dst, '}')
	if !e.array {
		dst = append(dst, "\n\n"...)
	}
	return dst
}
