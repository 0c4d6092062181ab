package openai

import (
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := fixture(b, "openai_cassette_chat-parallel-tools.request.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := requestCases["tool_round_trip"]
	for b.Loop() {
		if _, _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEvent measures decoding one upstream chunk and encoding
// the resulting events for an OpenAI client, per SSE event.
func BenchmarkStreamEvent(b *testing.B) {
	evs := readEvents(b, fixture(b, "openai_chat_stream_text_with_usage.sse"))
	b.ReportAllocs()
	var out []byte
	n := 0
	for b.Loop() {
		d := NewStreamDecoder()
		e := NewStreamEncoder(&llm.Request{Model: "m", IncludeUsage: true})
		for _, ev := range evs {
			les, _ := d.Decode(ev)
			for _, le := range les {
				out = e.Encode(out[:0], le)
			}
			n++
		}
		out = e.Close(out[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

// BenchmarkStreamEncode measures encoding one text delta.
func BenchmarkStreamEncode(b *testing.B) {
	e := NewStreamEncoder(&llm.Request{Model: "m"})
	out := e.Encode(nil, llm.Event{Kind: llm.EventStart, ID: "x", Model: "m"})
	out = e.Encode(out, llm.Event{Kind: llm.EventBlockStart, Block: llm.PartText})
	ev := llm.Event{Kind: llm.EventDelta, Text: "Hello, world! "}
	b.ReportAllocs()
	for b.Loop() {
		out = e.Encode(out[:0], ev)
	}
}

// BenchmarkUsageScanner measures the pass-through cost per event.
func BenchmarkUsageScanner(b *testing.B) {
	evs := readEvents(b, fixture(b, "openai_chat_stream_text_with_usage.sse"))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		var s UsageScanner
		for _, ev := range evs {
			s.Observe(ev)
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
