package responses

import (
	"bytes"
	"io"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := mustRead(b, "testdata/requests/codex.json")
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

// BenchmarkStreamEncodeEvent is the Codex hot path: one neutral text delta
// encoded as response.output_text.delta.
func BenchmarkStreamEncodeEvent(b *testing.B) {
	e := NewStreamEncoder(nil)
	dst := e.Encode(nil, llm.Event{Kind: llm.EventStart, ID: "msg_1", Model: "m"})
	dst = e.Encode(dst[:0], llm.Event{Kind: llm.EventBlockStart, Block: llm.PartText})
	ev := llm.Event{Kind: llm.EventDelta, Text: "Hello, world. "}
	for b.Loop() {
		dst = e.Encode(dst[:0], ev)
	}
}

// BenchmarkStreamEvent measures decode (Responses upstream) plus encode
// (Responses client) per upstream event over the recorded o3 stream.
func BenchmarkStreamEvent(b *testing.B) {
	var events []sse.Event
	r := sse.NewReader(bytes.NewReader(readFixture(b, "openai_responses_stream_function_call_o3.sse")))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		ev.Data = append([]byte(nil), ev.Data...)
		events = append(events, ev)
	}
	var out []byte
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

func BenchmarkUsageScannerSkip(b *testing.B) {
	ev := sse.Event{Name: "response.output_text.delta", Data: []byte(`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hello"}`)}
	var s UsageScanner
	for b.Loop() {
		s.Observe(ev)
	}
}
