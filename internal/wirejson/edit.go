package wirejson

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A same-protocol request is forwarded as the client's bytes, except for
// the few edits routing needs (the model name, OpenAI's
// stream_options.include_usage, a null "error" member on a stream chunk).
// These helpers make such edits on the bytes, without decoding the body
// into maps and re-serialising it, so that every field llmgw does not
// understand reaches the upstream untouched.

var errNotObject = errors.New("json: body is not an object")

// SetTopLevel returns body with key set to the JSON value val, replacing
// the old value or adding the key at the end of the object.
func SetTopLevel(body []byte, key string, val []byte) ([]byte, error) {
	s, e, ok, err := Find(body, key)
	if err != nil {
		return nil, err
	}
	if ok {
		return ReplaceRange(body, s, e, val), nil
	}
	return AppendTopLevel(body, key, val)
}

// ReplaceRange returns a copy of body with body[s:e] replaced by val.
func ReplaceRange(body []byte, s, e int, val []byte) []byte {
	out := make([]byte, 0, len(body)-(e-s)+len(val))
	out = append(out, body[:s]...)
	out = append(out, val...)
	return append(out, body[e:]...)
}

// AppendTopLevel adds key: val at the end of the JSON object body, which
// must not have key already.
func AppendTopLevel(body []byte, key string, val []byte) ([]byte, error) {
	out := make([]byte, 0, len(body)+len(key)+len(val)+4)
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return nil, errNotObject
	}
	prefix := bytes.TrimRight(body[:end], jsonSpace)
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

// DropNullMember returns body without its top-level member key when that
// member's value is null, and whether it removed one. Anything else (no
// such member, another value, a key spelled with escapes, a body that is
// not an object) leaves body as it is.
func DropNullMember(body []byte, key string) ([]byte, bool) {
	s, e, ok, err := Find(body, key)
	if err != nil || !ok || !IsNull(body[s:e]) {
		return body, false
	}
	// Back from the value over ':' to the key, spelled plainly.
	k := len(bytes.TrimRight(body[:s], jsonSpace))
	if k == 0 || body[k-1] != ':' {
		return body, false
	}
	k = len(bytes.TrimRight(body[:k-1], jsonSpace))
	quoted := `"` + key + `"`
	if k < len(quoted) || string(body[k-len(quoted):k]) != quoted {
		return body, false
	}
	start, end := k-len(quoted), e
	// Take one comma with it: the one after, or else the one before.
	if after := bytes.TrimLeft(body[end:], jsonSpace); len(after) > 0 && after[0] == ',' {
		end = len(body) - len(bytes.TrimLeft(after[1:], jsonSpace))
	} else if before := len(bytes.TrimRight(body[:start], jsonSpace)); before > 0 && body[before-1] == ',' {
		start = before - 1
	}
	return ReplaceRange(body, start, end, nil), true
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"
