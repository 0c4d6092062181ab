package gemini

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. It escapes what
// JSON requires (quote, backslash, control characters), invalid UTF-8 as
// U+FFFD, and U+2028/U+2029 as encoding/json does, so that the output is
// what json.Marshal would produce minus its HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

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
