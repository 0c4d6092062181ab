package wirejson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/internal/fixtures"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-1E-2`, `true`, `false`, `null`,
		` {"a" : [1, 2, {"b": null}], "c": "\u00e9\n"} `,
		`{"a":"\ud83d\ude00"}`,
		// invalid
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`,
		`tru`, `nul`, `falsey`, `"abc`, `"a\x"`, `"\u12g4"`, "\"a\x01b\"", `{"a":1}{}`, `[1 2]`,
		`{"a":1 "b":2}`, `[`, `["a"`, `{"a":}`, `+1`, `NaN`, `"\`,
	}
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, want %v", c, got, want)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if Valid([]byte(deep)) {
		t.Errorf("Valid(%d nested arrays) = true, want false", MaxDepth+1)
	}
	ok := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if !Valid([]byte(ok)) {
		t.Errorf("Valid(100 nested arrays) = false, want true")
	}
	err := Fields([]byte(`{"a":`+deep+`}`), func(_, _ []byte) bool { return true })
	if err == nil {
		t.Errorf("Fields(deep) = nil error, want one")
	}
}

// fieldsMap runs Fields and collects the members as encoding/json would
// (later duplicates win).
func fieldsMap(t *testing.T, body []byte) (map[string]json.RawMessage, error) {
	t.Helper()
	m := map[string]json.RawMessage{}
	err := Fields(body, func(k, v []byte) bool {
		m[string(k)] = json.RawMessage(v)
		return true
	})
	return m, err
}

func TestFieldsMatchesMapDecode(t *testing.T) {
	bodies := []string{
		`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		` { "mod\u0065l" : "x" , "n": -1.5e3, "o": {"model": "inner"} } `,
		`{"a":1,"a":2}`,
		`{}`,
	}
	for _, f := range fixtures.Glob(t, "*.json") {
		b, err := os.ReadFile(f)
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			bodies = append(bodies, string(b))
		}
	}
	for _, body := range bodies {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("test body %.40q is not JSON: %v", body, err)
		}
		got, err := fieldsMap(t, []byte(body))
		if err != nil {
			t.Errorf("Fields(%.40q) error %v", body, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Fields(%.40q) mismatch (-map decode +Fields):\n%s", body, diff)
		}
	}
}

func TestFieldsRejects(t *testing.T) {
	for _, body := range []string{``, `null`, `[]`, `"x"`, `{"a":1} x`, `{"a":1`, `{"a":[}`, `{"a":1,}`} {
		if _, err := fieldsMap(t, []byte(body)); err == nil {
			t.Errorf("Fields(%q) = nil error, want one", body)
		}
	}
}

func TestFind(t *testing.T) {
	body := []byte(`{"model" : "m", "usage":{"prompt_tokens":3}, "x":[1]}`)
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"model", `"m"`, true},
		{"usage", `{"prompt_tokens":3}`, true},
		{"x", `[1]`, true},
		{"prompt_tokens", ``, false}, // nested keys are not top-level
		{"missing", ``, false},
	}
	for _, tt := range tests {
		s, e, ok, err := Find(body, tt.key)
		if err != nil || ok != tt.ok || (ok && string(body[s:e]) != tt.want) {
			t.Errorf("Find(%q) = %q, %v, %v; want %q, %v", tt.key, body[s:e], ok, err, tt.want, tt.ok)
		}
	}
	if _, _, _, err := Find([]byte(`[1]`), "a"); err == nil {
		t.Errorf("Find on an array = nil error, want one")
	}
}

// TestSpecial8 checks the eight-bytes-at-a-time string test against the
// byte loop it stands in for: every byte value at every position, among
// plain bytes, bytes just above and below the limits, and special bytes
// later in the word.
func TestSpecial8(t *testing.T) {
	first := func(b []byte) uint64 {
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				return 0x80 << (8 * i)
			}
		}
		return 0
	}
	for _, fill := range []byte{'a', 0x00, 0x1f, 0x20, 0x21, '"', 0x23, 0x5b, '\\', 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff} {
		for pos := range 8 {
			for v := range 256 {
				b := bytes.Repeat([]byte{'a'}, 8)
				for j := pos + 1; j < 8; j++ {
					b[j] = fill
				}
				b[pos] = byte(v)
				m := special8(binary.LittleEndian.Uint64(b))
				if got, want := m&-m, first(b); got != want {
					t.Fatalf("special8(% x): first flag %#x, want %#x", b, got, want)
				}
			}
		}
	}
}

// TestStringsAtEveryOffset puts a quote, an escape, a control character
// and a multi-byte character at every offset of strings around the
// eight-byte steps, and checks Valid against encoding/json.
func TestStringsAtEveryOffset(t *testing.T) {
	for n := range 26 {
		for pos := range n {
			for _, ins := range []string{`"`, `\"`, `\\`, `\u00e9`, `\x`, "\x01", "\x1f", "\x7f", "é", "\xff"} {
				s := strings.Repeat("a", pos) + ins + strings.Repeat("b", n-pos)
				for _, body := range []string{`"` + s + `"`, `{"k":"` + s + `","n":1}`, `"` + s} {
					if got, want := Valid([]byte(body)), json.Valid([]byte(body)); got != want {
						t.Errorf("Valid(%q) = %v, encoding/json says %v", body, got, want)
					}
				}
			}
		}
	}
}

func FuzzFields(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"a":[1,2,{"b":"\u00e9"}],"c":-1.5e3,"d":null}`))
	f.Add([]byte(`[{"a":1}]`))
	for _, p := range fixtures.Glob(f, "*.json") {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := Valid(body), json.Valid(body); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", body, got, want)
		}
		m := map[string]json.RawMessage{}
		err := Fields(body, func(k, v []byte) bool {
			m[string(k)] = append(json.RawMessage(nil), v...)
			return true
		})
		var want map[string]json.RawMessage
		werr := json.Unmarshal(body, &want)
		if werr == nil && want == nil {
			werr = json.Unmarshal([]byte("x"), &want) // null: not an object
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("Fields(%q) error %v, encoding/json error %v", body, err, werr)
		}
		if err == nil && utf8.Valid(body) { // encoding/json rewrites invalid UTF-8 in keys
			if diff := cmp.Diff(want, m, cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })); diff != "" {
				t.Fatalf("Fields(%q) mismatch (-json +Fields):\n%s", body, diff)
			}
		}
	})
}

// BenchmarkFieldsLongStrings is a body of long string content, an agent
// history's shape: the scan's speed there is its speed on the bytes
// inside strings.
func BenchmarkFieldsLongStrings(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"model":"claude-sonnet-4-5","messages":[`)
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"role":"user","content":"` + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 16) + `\n\"quoted\" é"}`)
	}
	body.WriteString(`]}`)
	b.ReportAllocs()
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		if err := Fields(body.Bytes(), func(_, _ []byte) bool { return true }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldsVsMapDecode(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","stream":true,"temperature":0.2,"metadata":{"user_id":"u1"},"messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"Hello, how are you? Tell me about the weather in Paris today, please."}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`)
	b.Run("Fields", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_ = Fields(body, func(_, _ []byte) bool { return true })
		}
	})
	b.Run("MapDecode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m map[string]json.RawMessage
			_ = json.Unmarshal(body, &m)
		}
	})
}
