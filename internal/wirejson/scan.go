package wirejson

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
)

// The gateway's hot path needs a few top-level fields of a body it
// otherwise forwards as bytes: the model, stream, usage, an error object.
// Decoding the whole body into a map[string]json.RawMessage to read them
// costs a reflection walk, a copy of every value and a validation pass of
// its own; the scanner below does one strict pass over the bytes, returns
// sub-slices of the input and allocates nothing.

// MaxDepth is the deepest nesting the scanner accepts, as encoding/json.
const MaxDepth = 10000

// SyntaxError reports where a body stops being JSON.
type SyntaxError struct {
	Offset int    // byte offset of the problem
	Msg    string // what was wrong there
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Fields calls fn with each member of the JSON object body, in order: key
// is the member's name (unquoted; escapes decoded), value the raw bytes of
// its value. The whole body is checked strictly (RFC 8259 syntax, no
// trailing data), also when fn returns false to say it needs no more
// members. A body that is not an object is an error.
func Fields(body []byte, fn func(key, value []byte) bool) error {
	i := skipSpace(body, 0)
	if i >= len(body) {
		return &SyntaxError{i, "empty body"}
	}
	if body[i] != '{' {
		return &SyntaxError{i, "expected an object, found " + Kind(body[i:])}
	}
	want := true
	end, err := object(body, i, 0, func(k, v []byte) {
		if want {
			want = fn(k, v)
		}
	})
	if err != nil {
		return err
	}
	if j := skipSpace(body, end); j < len(body) {
		return &SyntaxError{j, "data after the end of the object"}
	}
	return nil
}

// Find returns the byte range [start, end) of the value of key in the
// top-level JSON object body; ok is false when the key is absent. It stops
// at the member it finds, so the rest of the body is not checked.
func Find(body []byte, key string) (start, end int, ok bool, err error) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, 0, false, &SyntaxError{i, "expected an object"}
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return 0, 0, false, nil
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return 0, 0, false, &SyntaxError{i, "expected a member name"}
		}
		ke, err := str(body, i)
		if err != nil {
			return 0, 0, false, err
		}
		match := keyIs(body[i+1:ke-1], key)
		i = skipSpace(body, ke)
		if i >= len(body) || body[i] != ':' {
			return 0, 0, false, &SyntaxError{i, "expected ':'"}
		}
		vs := skipSpace(body, i+1)
		ve, err := value(body, vs, 1)
		if err != nil {
			return 0, 0, false, err
		}
		if match {
			return vs, ve, true, nil
		}
		i = skipSpace(body, ve)
		if i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
			continue
		}
		if i < len(body) && body[i] == '}' {
			return 0, 0, false, nil
		}
		return 0, 0, false, &SyntaxError{i, "expected ',' or '}'"}
	}
}

// Valid reports whether b is one JSON value, strictly.
func Valid(b []byte) bool {
	i := skipSpace(b, 0)
	end, err := value(b, i, 0)
	return err == nil && skipSpace(b, end) == len(b)
}

// keyIs compares a raw member name (without its quotes) with name,
// decoding escapes only when there are any.
func keyIs(raw []byte, name string) bool {
	if string(raw) == name {
		return true
	}
	return hasEscape(raw) && string(unescapeKey(raw)) == name
}

func hasEscape(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' {
			return true
		}
	}
	return false
}

// unescapeKey decodes a raw member name with escapes (rare: keys are
// ASCII words in every protocol, but a client may write "mod\u0065l").
func unescapeKey(raw []byte) []byte {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return raw
	}
	return []byte(s)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value returns the end of the JSON value at b[i].
func value(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, &SyntaxError{i, "unexpected end of input"}
	}
	switch c := b[i]; c {
	case '"':
		return str(b, i)
	case '{':
		return object(b, i, depth, nil)
	case '[':
		return array(b, i, depth)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return number(b, i)
		}
		return i, &SyntaxError{i, "invalid character " + strconv.QuoteRune(rune(c)) + " looking for a value"}
	}
}

// object checks the object at b[i] ('{') and calls fn, when not nil, with
// each member.
func object(b []byte, i, depth int, fn func(k, v []byte)) (int, error) {
	if depth >= MaxDepth {
		return i, &SyntaxError{i, "nested too deeply"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, &SyntaxError{i, "expected a member name"}
		}
		ke, err := str(b, i)
		if err != nil {
			return ke, err
		}
		key := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return i, &SyntaxError{i, "expected ':' after a member name"}
		}
		vs := skipSpace(b, i+1)
		ve, err := value(b, vs, depth+1)
		if err != nil {
			return ve, err
		}
		if fn != nil {
			if hasEscape(key) {
				key = unescapeKey(key)
			}
			fn(key, b[vs:ve])
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return i, &SyntaxError{i, "unexpected end of input in an object"}
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, &SyntaxError{i, "expected ',' or '}' in an object"}
		}
	}
}

func array(b []byte, i, depth int) (int, error) {
	if depth >= MaxDepth {
		return i, &SyntaxError{i, "nested too deeply"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		e, err := value(b, i, depth+1)
		if err != nil {
			return e, err
		}
		i = skipSpace(b, e)
		if i >= len(b) {
			return i, &SyntaxError{i, "unexpected end of input in an array"}
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, &SyntaxError{i, "expected ',' or ']' in an array"}
		}
	}
}

// str returns the end of the string at b[i] ('"'), after its closing
// quote. Control characters must be escaped; escapes must be valid.
func str(b []byte, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		// Most of an LLM request is string content: look at it eight bytes
		// at a time, and go straight to the first that needs a look.
		if i+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, &SyntaxError{i, "unterminated string"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, &SyntaxError{i, "invalid \\u escape in a string"}
				}
				i += 6
			default:
				return i, &SyntaxError{i, "invalid escape in a string"}
			}
		case c < 0x20:
			return i, &SyntaxError{i, "control character in a string"}
		default:
			i++
		}
	}
	return start, &SyntaxError{start, "unterminated string"}
}

// special8 returns, for the eight bytes of w in little-endian order, a
// word whose lowest set bit is the high bit of the first byte that is a
// quote, a backslash or a control character; 0 when there is none.
func special8(w uint64) uint64 {
	return (below(w, 0x20) | below(w^'"'*ones, 1) | below(w^'\\'*ones, 1)) & highs
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// below sets the high bit of each byte of w that is below n (n <= 0x80),
// and perhaps of bytes above the first such byte: subtracting n from every
// byte at once borrows into the high bit of a byte only where it is
// smaller or a lower byte borrowed, and a byte whose own high bit is set is
// masked out ("determine if a word has a byte less than n", Bit Twiddling
// Hacks). The lowest flagged byte is therefore exactly the first match,
// which is all special8 needs.
func below(w, n uint64) uint64 { return (w - n*ones) &^ w }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &SyntaxError{i, "invalid literal, expected " + lit}
	}
	return i + len(lit), nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return start, &SyntaxError{start, "invalid number"}
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return start, &SyntaxError{start, "invalid number"}
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return start, &SyntaxError{start, "invalid number"}
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// Member returns the raw value of key in the top-level object body, or nil
// when the key is absent, null, or body is not an object.
func Member(body []byte, key string) []byte {
	s, e, ok, err := Find(body, key)
	if err != nil || !ok || IsNull(body[s:e]) {
		return nil
	}
	return body[s:e]
}

// Int returns the JSON number raw as an int64: 0 when it is not a number
// or does not fit. Token counts are the use: integers on every wire, but a
// float such as 12.0 is accepted (truncated), as some compatible servers
// send them.
func Int(raw []byte) int64 {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != f || f > 1<<62 || f < -(1<<62) {
		return 0
	}
	return int64(f)
}
