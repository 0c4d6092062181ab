package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/providers/openai"
)

// forceIncludeUsageByFind is the edit as it was made before readBody kept
// the stream_options value: two scans of the whole body. It is the oracle
// for the splice at the offset readBody found.
func forceIncludeUsageByFind(body []byte) ([]byte, error) {
	s, e, ok, err := wirejson.Find(body, "stream_options")
	if err != nil {
		return nil, err
	}
	opts := []byte(`{"include_usage":true}`)
	if ok && bytes.HasPrefix(bytes.TrimSpace(body[s:e]), []byte("{")) {
		if opts, err = wirejson.SetTopLevel(body[s:e], "include_usage", []byte("true")); err != nil {
			return nil, err
		}
	}
	return wirejson.SetTopLevel(body, "stream_options", opts)
}

// includeUsageAskedByFind is includeUsageAsked's oracle, on the whole body.
func includeUsageAskedByFind(body []byte) bool {
	s, e, ok, err := wirejson.Find(body, "stream_options")
	if err != nil || !ok {
		return false
	}
	vs, ve, ok, err := wirejson.Find(body[s:e], "include_usage")
	return err == nil && ok && string(body[s:e][vs:ve]) == "true"
}

// streamOptsOf runs readBody's pass over body and returns the
// stream_options value it kept.
func streamOptsOf(t testing.TB, body []byte) ([]byte, bool) {
	t.Helper()
	x := &exchange{ca: openai.Adapter{}}
	if err := checkEnvelope(body, false, x.takeMember); err != nil {
		return nil, false
	}
	return x.passMember, true
}

func checkUsageEdits(t testing.TB, body []byte) {
	t.Helper()
	opts, ok := streamOptsOf(t, body)
	if !ok {
		return // refused before any edit
	}
	if got, want := openai.IncludeUsageAsked(opts), includeUsageAskedByFind(body); got != want {
		t.Errorf("includeUsageAsked(%q) = %v, scanning the body says %v", body, got, want)
	}
	got, gerr := openai.ForceIncludeUsage(body, opts)
	want, werr := forceIncludeUsageByFind(body)
	if (gerr != nil) != (werr != nil) || !bytes.Equal(got, want) {
		t.Errorf("forceIncludeUsage(%q) = %q, %v; by scanning = %q, %v", body, got, gerr, want, werr)
	}
	if gerr == nil && !wirejson.Valid(got) {
		t.Errorf("forceIncludeUsage(%q) = %q: not JSON", body, got)
	}
}

// TestForceIncludeUsageSplicesWhereReadBodyFoundIt compares the usage
// edits made from readBody's offsets with the same edits found by scanning
// the body, over the shapes stream_options takes.
func TestForceIncludeUsageSplicesWhereReadBodyFoundIt(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","stream":true,"messages":[]}`,
		`{"model":"m","stream":true,"messages":[],"stream_options":null}`,
		`{"model":"m","stream":true,"messages":[],"stream_options":{}}`,
		`{"model":"m","stream":true,"messages":[],"stream_options":{"include_usage":false}}`,
		`{"model":"m","stream":true,"messages":[],"stream_options":{"include_usage":true}}`,
		`{"stream_options": { "include_usage" : false , "x" : [1,{"y":2}] } ,"model":"m","stream":true}`,
		`{"model":"m","stream_options":"yes","stream":true}`,
		`{"model":"m","stream_options":{"include_usage":false},"stream_options":{"include_usage":true},"stream":true}`,
		`{"model":"m","messages":[{"role":"user","content":"\"stream_options\":{\"include_usage\":true}"}],"stream":true}`,
		`{"model":"m","metadata":{"stream_options":{"include_usage":true}},"stream":true}`,
		"{\n  \"model\": \"m\",\n  \"stream\": true\n}\n",
		`{"model":"m","stream":true,"stream_options":{"include_usage":false}}` + "  \n",
		`{"model":"m","stre\u0061m_options":{"include_usage":true},"stream":true}`,
	} {
		checkUsageEdits(t, []byte(body))
	}
	// A stream_options that is not the body's own slice (a copy) still
	// gets the edit, by scanning.
	body := []byte(`{"model":"m","stream_options":{"include_usage":false},"stream":true}`)
	got, err := openai.ForceIncludeUsage(body, []byte(`{"include_usage":false}`))
	if want, _ := forceIncludeUsageByFind(body); err != nil || !bytes.Equal(got, want) {
		t.Errorf("with a copied stream_options: %q, %v; want %q", got, err, want)
	}
}

// TestForceIncludeUsageScansOnlyTheOptions checks the reason for the
// change: with a large history before stream_options, or none at all (most
// clients), the edit scans none of the body. The history is corrupted in
// place after readBody's pass: any scan of the body would now fail.
func TestForceIncludeUsageScansOnlyTheOptions(t *testing.T) {
	history := `"messages":[` + strings.Repeat(`{"role":"user","content":"hello"},`, 2000) + `{"role":"user","content":"end"}]`
	for _, body := range []string{
		`{"model":"m","stream":true,` + history + `,"stream_options":{"include_usage":false}}`,
		`{"model":"m","stream":true,` + history + `}`,
	} {
		b := []byte(body)
		opts, ok := streamOptsOf(t, b)
		if !ok {
			t.Fatal("readBody's pass refused the body")
		}
		b[len(`{"model":"m","stream":true,"messages":[{"role"`)] = '!' // no longer JSON
		if _, err := forceIncludeUsageByFind(b); err == nil {
			t.Fatal("the corrupted body still scans: the test proves nothing")
		}
		got, err := openai.ForceIncludeUsage(b, opts)
		if err != nil || !bytes.HasSuffix(got, []byte(`"stream_options":{"include_usage":true}}`)) {
			t.Errorf("forceIncludeUsage = ...%q, %v: the edit scanned the body", got[max(0, len(got)-60):], err)
		}
	}
}

func FuzzForceIncludeUsage(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","stream":true}`,
		`{"model":"m","stream_options":{"include_usage":false},"stream":true}`,
		`{"stream_options":null,"model":"m"}`,
		`{"model":"m","stream_options":{"a":{"include_usage":true}},"stream_options":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkUsageEdits(t, body)
	})
}

func TestDropNullMember(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"error":null,"id":"c"}`, `{"id":"c"}`},
		{`{"id":"c","error":null}`, `{"id":"c"}`},
		{`{"id":"c", "error" : null ,"x":1}`, `{"id":"c", "x":1}`},
		{`{"error":null}`, `{}`},
		{` { "error": null } `, ` {  } `},
		{`{"id":"c","error":{"message":"boom"}}`, `{"id":"c","error":{"message":"boom"}}`},
		{`{"id":"c","choices":[{"error":null}]}`, `{"id":"c","choices":[{"error":null}]}`}, // not top level
		{`{"id":"c"}`, `{"id":"c"}`},
		{`{"err\u006fr":null}`, `{"err\u006fr":null}`}, // escaped key: left alone
		{`[1]`, `[1]`},
	} {
		got, changed := wirejson.DropNullMember([]byte(tt.in), "error")
		if string(got) != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("dropNullMember(%s) = %s, %v; want %s", tt.in, got, changed, tt.want)
		}
		if changed && !json.Valid(got) {
			t.Errorf("dropNullMember(%s) = %s: not JSON", tt.in, got)
		}
	}
}
