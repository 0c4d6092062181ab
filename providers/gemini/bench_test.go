package gemini

import (
	"bytes"
	"io"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := mustRead(b, "testdata/requests/parallel_tools.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := neutralRequests[2].Req
	for b.Loop() {
		if _, _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEvent measures decode (Gemini upstream) plus encode
// (Gemini client) per upstream SSE event, over the 123-chunk recording.
func BenchmarkStreamEvent(b *testing.B) {
	body := readFixture(b, "gemini_stream_long_text_thinking_model.sse")
	var events []sse.Event
	r := sse.NewReader(bytes.NewReader(body))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		ev.Data = append([]byte(nil), ev.Data...)
		events = append(events, ev)
	}
	var out []byte
	b.ResetTimer()
	for b.Loop() {
		d, e := NewStreamDecoder(), NewStreamEncoder(nil)
		for _, ev := range events {
			evs, _ := d.Decode(ev)
			for _, x := range evs {
				out = e.Encode(out[:0], x)
			}
		}
		out = e.Close(out[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

func BenchmarkUsageScanner(b *testing.B) {
	ev := sse.Event{Data: bytes.TrimSpace(bytes.TrimPrefix(readFixture(b, "gemini_stream_single_chunk.sse"), []byte("data: ")))}
	var s UsageScanner
	for b.Loop() {
		s.Observe(ev)
	}
	if _, ok := s.Usage(); !ok {
		b.Fatal("no usage")
	}
	_ = llm.Usage{}
}
