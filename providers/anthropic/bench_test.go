package anthropic

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(claudeCodeBody)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := requestCases["openai_tool_history"]
	for b.Loop() {
		if _, _, err := EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEvent measures decoding one upstream event and encoding
// the resulting events for an Anthropic client, per SSE event.
func BenchmarkStreamEvent(b *testing.B) {
	evs := readEvents(b, fixture(b, "anthropic_stream_text_then_tool_use_recorded.sse"))
	b.ReportAllocs()
	var out []byte
	n := 0
	for b.Loop() {
		d := NewStreamDecoder()
		e := NewStreamEncoder(&llm.Request{Model: "m"})
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
	evs := readEvents(b, fixture(b, "anthropic_stream_text_then_tool_use_recorded.sse"))
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

// BenchmarkDecodeRequestLarge decodes a long agent conversation with an
// image: the size class of a Claude Code request late in a session.
func BenchmarkDecodeRequestLarge(b *testing.B) {
	body := largeRequest()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func largeRequest() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],"messages":[`)
	sb.WriteString(`{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + strings.Repeat("iVBORw0KGgo", 20000) + `"}}]}`)
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, `,{"role":"assistant","content":[{"type":"text","text":"%s"},{"type":"tool_use","id":"toolu_%d","name":"Bash","input":{"command":"ls -la /tmp/%d"}}]}`, strings.Repeat("Let me check. ", 20), i, i)
		fmt.Fprintf(&sb, `,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_%d","content":"%s"}]}`, i, strings.Repeat(`file.txt\n`, 100))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}
