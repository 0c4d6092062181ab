package wirefeat

import (
	"encoding/json"
	"testing"

	"github.com/llmgw/llmgw/internal/fixtures"
)

func TestGuess(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"contents":[]}`, "gemini"},
		{`{"model":"x","input":"hi"}`, "responses"},
		{`{"model":"x","system":"be brief","messages":[]}`, "anthropic"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":[{"type": "text","text":"hi"}]}]}`, "anthropic"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "openai"},
		{`{"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, "openai"},
		{`not json`, "openai"},
	}
	for _, tt := range tests {
		if got := Guess([]byte(tt.body)); string(got) != tt.want {
			t.Errorf("Guess(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// TestHasAfterIsHasAnyOfEachMarker checks the one-scan marker search
// against the scan per marker it replaces, on the markers RequestFromBody
// uses and on bodies with near misses, overlaps and markers at the ends.
func TestHasAfterIsHasAnyOfEachMarker(t *testing.T) {
	bodies := []string{
		``, `"type":`, `"type":"image"`, `"type": "image"`, `"type":"image_url"`, `"type":"imag`, `"type":"text","x":"type":"document"`,
		`[{"type":"text"},{"type": "document"}]`, `"type":"type":"image"`, `"input_text","input_image"`, `"input_file"`, `"input_`,
		`"inlineData"`, `"inline_data"`, `"fileData"`, `"file_data"`, `"file_Data"`, `"inline"`, `"file"`, `"inlineinline_data"`,
	}
	markers := [][]string{
		{`"type":`, `"image"`, ` "image"`, `"document"`},
		{`"input_`, `image"`, `file"`},
		{`"inline`, `Data"`, `_data"`},
		{`"file`, `Data"`, `_data"`},
		{`aa`, `ab`}, // a prefix that overlaps itself: "aaab" has "aab" at 1
	}
	bodies = append(bodies, "aaab", "aab", "aaa")
	for _, m := range markers {
		var full []string
		for _, s := range m[1:] {
			full = append(full, m[0]+s)
		}
		for _, b := range bodies {
			if got, want := HasAfter([]byte(b), m[0], m[1:]...), HasAny([]byte(b), full...); got != want {
				t.Errorf("HasAfter(%q, %q, %q) = %v, hasAny of %q = %v", b, m[0], m[1:], got, full, want)
			}
		}
	}
}

func FuzzHasAfter(f *testing.F) {
	f.Add([]byte(`[{"type":"text"},{"type": "image"}]`), "\"type\":", "\"image\"", "\"document\"")
	f.Add([]byte("aaab"), "aa", "ab", "b")
	f.Fuzz(func(t *testing.T, raw []byte, prefix, s1, s2 string) {
		if got, want := HasAfter(raw, prefix, s1, s2), HasAny(raw, prefix+s1, prefix+s2); got != want {
			t.Fatalf("HasAfter(%q, %q, %q, %q) = %v, hasAny = %v", raw, prefix, s1, s2, got, want)
		}
	})
}

// FuzzHasMember checks HasMember against decoding: on a JSON object whose
// top-level member "type" is a string, HasMember(raw, "type", value)
// finds it in every layout.
func FuzzHasMember(f *testing.F) {
	f.Add(`{"type":"image"}`, `"image"`)
	f.Add(`{"a":{"type" : "text"},"type":"file"}`, `"file"`)
	f.Add(`{"x":"\"type\":\"image\"","type":"doc"}`, `"image"`)
	f.Fuzz(func(t *testing.T, body, value string) {
		var top map[string]any
		var v string
		if json.Unmarshal([]byte(body), &top) != nil || len(value) == 0 || value[0] != '"' || json.Unmarshal([]byte(value), &v) != nil {
			return // an object, and a string literal as the value
		}
		s, isString := top["type"].(string)
		for _, l := range fixtures.Layouts {
			raw := fixtures.Relayout([]byte(body), l)
			got := HasMember(raw, "type", value)
			want, _ := json.Marshal(s)
			if isString && string(want) == value && !got {
				t.Fatalf("%s layout: HasMember(%q, type, %s) = false, the member is there", l, raw, value)
			}
			if got != HasMember(fixtures.Relayout([]byte(body), "compact"), "type", value) {
				t.Fatalf("%s layout: HasMember(%q, type, %s) = %v, differs from compact", l, raw, value, got)
			}
		}
	})
}
