package anthropic

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

func seed(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join("testdata", "fixtures", pattern))
	for _, name := range names {
		f.Add(fixture(f, filepath.Base(name)))
	}
}

func FuzzDecodeRequest(f *testing.F) {
	seed(f, "*_request.json")
	f.Add([]byte(claudeCodeBody))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 {
				t.Fatalf("DecodeRequest error %v is not a 400 *llm.Error", err)
			}
			return
		}
		// Whatever decodes must encode without panicking.
		_, _, _ = EncodeRequest(req)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	seed(f, "*_response.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			return
		}
		if _, err := EncodeResponse(resp, &llm.Request{Model: "m"}); err != nil {
			t.Fatalf("EncodeResponse(DecodeResponse(%q)) error: %v", body, err)
		}
		ResponseUsage(body)
	})
}

func FuzzStreamDecoder(f *testing.F) {
	seed(f, "*.sse")
	f.Fuzz(func(t *testing.T, body []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder(&llm.Request{Model: "m"})
		var s UsageScanner
		var out []byte
		r := sse.NewReader(bytes.NewReader(body))
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err != nil {
				break
			}
			s.Observe(ev)
			evs, err := d.Decode(ev)
			if err != nil {
				continue
			}
			for _, le := range evs {
				out = e.Encode(out, le)
			}
		}
		for _, le := range d.Close() {
			out = e.Encode(out, le)
		}
		e.Close(out)
	})
}
