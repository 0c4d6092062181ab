package responses

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
	seedFiles(f, "testdata/requests/*.json")
	f.Add([]byte(`{"input":[{"type":"reasoning","summary":[{"type":"summary_text","text":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 {
				t.Fatalf("DecodeRequest error %v is not a 400 *llm.Error", err)
			}
			return
		}
		_ = Convertible(req)
		if _, _, err := EncodeRequest(req); err != nil {
			t.Fatalf("EncodeRequest(decoded) error %v", err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	seedFiles(f, "testdata/fixtures/*.json")
	f.Add([]byte(`{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}`))
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
	seedFiles(f, "testdata/fixtures/*.sse", "testdata/golden/encode_stream/*.sse")
	f.Fuzz(func(t *testing.T, body []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder(codexRequest)
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
	})
}
