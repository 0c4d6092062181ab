package gemini

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

func seedFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		names, _ := filepath.Glob(p)
		for _, n := range names {
			if b := mustRead(f, n); len(b) <= 16<<10 { // large seeds make minimizing crawl
				f.Add(b)
			}
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	seedFiles(f, "testdata/fixtures/*.request.json", "testdata/requests/*.json")
	f.Add([]byte(`{"contents":[{"role":"model","parts":[{"function_call":{"name":"f"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 {
				t.Fatalf("DecodeRequest error %v is not a 400 *llm.Error", err)
			}
			return
		}
		if _, _, err := EncodeRequest(req); err != nil {
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("EncodeRequest(decoded) error %v", err)
			}
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	seedFiles(f, "testdata/fixtures/*.response.json")
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	f.Add([]byte(`{"error":{"code":429,"message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			return
		}
		if _, err := EncodeResponse(resp, nil); err != nil {
			t.Fatalf("EncodeResponse(decoded) error %v", err)
		}
		ResponseUsage(body)
	})
}

func FuzzStreamDecoder(f *testing.F) {
	seedFiles(f, "testdata/fixtures/*.sse")
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"thoughtSignature\":\"x\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder(&llm.Request{Reasoning: &llm.Reasoning{IncludeThoughts: true}})
		var s UsageScanner
		var out []byte
		r := sse.NewReader(bytes.NewReader(body))
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			s.Observe(ev)
			evs, err := d.Decode(ev)
			if err != nil {
				return
			}
			for _, x := range evs {
				out = e.Encode(out, x)
			}
		}
		for _, x := range d.Close() {
			out = e.Encode(out, x)
		}
		e.Close(out)
		s.Usage()
	})
}
