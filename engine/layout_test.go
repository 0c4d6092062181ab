package engine

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmgw/llmgw/internal/fixtures"
)

// relayout re-serialises JSON text: compact, spaced (", " and ": ", as
// Python's json.dumps writes), indented, or with tabs and newlines around
// every colon, which JSON allows too. Member order and values are kept.
func relayout(t testing.TB, b []byte, layout string) []byte {
	t.Helper()
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatalf("relayout: %v", err)
	}
	switch layout {
	case "indented":
		var ind bytes.Buffer
		_ = json.Indent(&ind, c.Bytes(), "", "  ")
		return ind.Bytes()
	case "spaced", "odd":
		sep := map[string][2]string{"spaced": {", ", ": "}, "odd": {"\n,\t", "\t :\r\n "}}[layout]
		var out []byte
		in, esc := false, false
		for _, ch := range c.Bytes() {
			switch {
			case esc:
				esc = false
			case in && ch == '\\':
				esc = true
			case ch == '"':
				in = !in
			case !in && ch == ',':
				out = append(out, sep[0]...)
				continue
			case !in && ch == ':':
				out = append(out, sep[1]...)
				continue
			}
			out = append(out, ch)
		}
		return out
	}
	return c.Bytes()
}

var layoutNames = []string{"compact", "spaced", "indented", "odd"}

// TestFeaturesIgnoreJSONLayout: the routing features of a body are the
// same however its JSON is laid out, for every recorded request and for
// bodies that exercise each byte-level check (images and documents in
// each protocol, the Anthropic guess from content blocks).
func TestFeaturesIgnoreJSONLayout(t *testing.T) {
	type body struct {
		raw        []byte
		wantImages bool
	}
	bodies := map[string]body{
		"anthropic image":    {[]byte(`{"model":"c","max_tokens":10,"system":"s","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}`), true},
		"anthropic document": {[]byte(`{"model":"c","max_tokens":10,"system":"s","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}`), true},
		"anthropic guessed":  {[]byte(`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`), false},
		"openai file":        {[]byte(`{"model":"g","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`), true},
		"responses image":    {[]byte(`{"model":"g","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:,"}]}]}`), true},
		"gemini inline":      {[]byte(`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`), true},
	}
	for _, p := range fixtures.Glob(t, "*request*.json") {
		raw := fixtures.Read(t, filepath.Base(p))
		got, err := RequestFromBody("", raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(p)] = body{raw, got.HasImages}
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			var base *Request
			for _, l := range layoutNames {
				got, err := RequestFromBody("", relayout(t, b.raw, l), nil)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				if l == "compact" {
					base = got
					if got.HasImages != b.wantImages {
						t.Fatalf("compact: HasImages = %v, want %v", got.HasImages, b.wantImages)
					}
					continue
				}
				if diff := cmp.Diff(base, got, cmpopts.IgnoreFields(Request{}, "InputTokensEstimate")); diff != "" {
					t.Errorf("%s layout (-compact +%s):\n%s", l, l, diff)
				}
			}
			if name == "anthropic guessed" && base.Protocol != "anthropic" {
				t.Errorf("guessed %q, want anthropic", base.Protocol)
			}
		})
	}
}

// FuzzHasMember checks hasMember against decoding: on a JSON object whose
// top-level member "type" is a string, hasMember(raw, "type", value)
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
		for _, l := range layoutNames {
			raw := relayout(t, []byte(body), l)
			got := hasMember(raw, "type", value)
			want, _ := json.Marshal(s)
			if isString && string(want) == value && !got {
				t.Fatalf("%s layout: hasMember(%q, type, %s) = false, the member is there", l, raw, value)
			}
			if got != hasMember(relayout(t, []byte(body), "compact"), "type", value) {
				t.Fatalf("%s layout: hasMember(%q, type, %s) = %v, differs from compact", l, raw, value, got)
			}
		}
	})
}
