package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
)

// The same-protocol path forwards the client's body as it is, except for
// the two edits routing may need: the model name, and OpenAI's
// stream_options.include_usage (forced so that every stream reports usage).
// These helpers make those edits on the bytes, without decoding the body
// into maps and re-serialising it, so that every field the gateway does not
// understand reaches the upstream untouched.

var errNotObject = errors.New("json: body is not an object")

// topLevel finds the value of key in the top-level JSON object body and
// returns its byte range [start, end). ok is false when the key is absent.
func topLevel(body []byte, key string) (start, end int, ok bool, err error) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, 0, false, errNotObject
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return 0, 0, false, errors.New("json: unexpected end")
		}
		if body[i] == '}' {
			return 0, 0, false, nil
		}
		if body[i] == ',' {
			i++
			continue
		}
		if body[i] != '"' {
			return 0, 0, false, errors.New("json: expected a key")
		}
		ks := i
		ke, err := skipString(body, i)
		if err != nil {
			return 0, 0, false, err
		}
		match := keyEquals(body[ks:ke], key)
		i = skipSpace(body, ke)
		if i >= len(body) || body[i] != ':' {
			return 0, 0, false, errors.New("json: expected ':'")
		}
		i = skipSpace(body, i+1)
		vs := i
		ve, err := skipValue(body, i)
		if err != nil {
			return 0, 0, false, err
		}
		if match {
			return vs, ve, true, nil
		}
		i = ve
	}
}

// keyEquals compares a raw JSON string token with key. Keys with escapes
// are decoded first (rare).
func keyEquals(raw []byte, key string) bool {
	if len(raw) == len(key)+2 && string(raw[1:len(raw)-1]) == key {
		return true
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == key
}

// setTopLevel returns body with key set to the JSON value val, replacing
// the old value or adding the key at the end of the object.
func setTopLevel(body []byte, key string, val []byte) ([]byte, error) {
	s, e, ok, err := topLevel(body, key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(key)+len(val)+4)
	if ok {
		out = append(out, body[:s]...)
		out = append(out, val...)
		return append(out, body[e:]...), nil
	}
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return nil, errNotObject
	}
	prefix := bytes.TrimRight(body[:end], " \t\r\n")
	out = append(out, prefix...)
	if prefix[len(prefix)-1] != '{' {
		out = append(out, ',')
	}
	kb, _ := json.Marshal(key)
	out = append(out, kb...)
	out = append(out, ':')
	out = append(out, val...)
	return append(out, body[end:]...), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func skipString(b []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1, nil
		default:
			i++
		}
	}
	return 0, errors.New("json: unterminated string")
}

// skipValue returns the end of the JSON value starting at i. It checks
// structure only as far as it needs to find the end; the upstream
// validates the rest.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("json: expected a value")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				e, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errors.New("json: unterminated value")
	default:
		j := i
		for j < len(b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(b[j])) {
			j++
		}
		if j == i {
			return 0, errors.New("json: expected a value")
		}
		return j, nil
	}
}
