package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// summary is what a client makes of a stream: the content of each block,
// the stop reason and the final usage.
type summary struct {
	Blocks []string
	Stop   llm.StopReason
	Usage  llm.Usage
	Err    string
}

func summarize(evs []llm.Event) summary {
	var s summary
	byIndex := map[int]int{}
	for _, ev := range evs {
		switch ev.Kind {
		case llm.EventBlockStart:
			byIndex[ev.Index] = len(s.Blocks)
			s.Blocks = append(s.Blocks, string(ev.Block)+":"+ev.ToolCallID+":"+ev.ToolName+":")
		case llm.EventDelta:
			s.Blocks[byIndex[ev.Index]] += ev.Text
		case llm.EventFinish:
			s.Stop = ev.StopReason
		case llm.EventUsage:
			s.Usage = *ev.Usage
		case llm.EventError:
			s.Err = ev.Err.Message
		}
	}
	return s
}

// TestStreamRoundTrip decodes each recorded stream, encodes the events for
// an OpenAI client, decodes that again and expects the same content.
func TestStreamRoundTrip(t *testing.T) {
	for _, name := range fixtures(t, "*.sse") {
		t.Run(name, func(t *testing.T) {
			first := decodeStream(t, fixture(t, name))
			wire := encodeStream(&llm.Request{Model: "m", IncludeUsage: true}, first)
			second := decodeStream(t, wire)
			if diff := cmp.Diff(summarize(first), summarize(second)); diff != "" {
				t.Errorf("round trip changed the stream (-first +second):\n%s", diff)
			}
		})
	}
}

func chunks(lines ...string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("data: " + l + "\n\n")
	}
	return []byte(b.String())
}

func TestStreamDecoderInterleavedToolCalls(t *testing.T) {
	body := chunks(
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\":"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`[DONE]`,
	)
	got := summarize(decodeStream(t, body))
	want := summary{Blocks: []string{`tool_call:a:f:{"x":1}`, `tool_call:b:g:{"y":2}`}, Stop: llm.StopToolUse}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("interleaved tool calls (-want +got):\n%s", diff)
	}
	assertWellFormed(t, decodeStream(t, body))
}

func TestStreamDecoderMissingIndexAndReusedIndex(t *testing.T) {
	// Some compatible servers omit index, or reuse index 0 for every call.
	body := chunks(
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{\"k\""}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	)
	got := summarize(decodeStream(t, body))
	want := summary{Blocks: []string{`tool_call:a:f:{}`, `tool_call:b:g:{"k":1}`}, Stop: llm.StopToolUse}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStreamDecoderReusedIndexNewID: an upstream that numbers every
// parallel call 0: a second id at index 0 is a second call,
// and fragments without an id continue the latest one.
func TestStreamDecoderReusedIndexNewID(t *testing.T) {
	body := chunks(
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\""}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"f","arguments":"{\"y\""}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":2}"}}]}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	)
	evs := decodeStream(t, body)
	assertWellFormed(t, evs)
	want := summary{Blocks: []string{`tool_call:a:f:{"x":1}`, `tool_call:b:f:{"y":2}`}, Stop: llm.StopToolUse}
	if diff := cmp.Diff(want, summarize(evs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStreamDecoderNullError: openai-go fails a stream whose chunks carry
// "error": null; some compatible servers send it on every
// chunk, and it is no error.
func TestStreamDecoderNullError(t *testing.T) {
	body := chunks(
		`{"id":"c","model":"m","error":null,"choices":[{"index":0,"delta":{"content":"hi"}}]}`,
		`{"id":"c","error":null,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	)
	got := summarize(decodeStream(t, body))
	if want := (summary{Blocks: []string{"text:::hi"}, Stop: llm.StopEnd}); !cmp.Equal(want, got) {
		t.Errorf("a stream with \"error\": null = %+v, want %+v", got, want)
	}
}

func TestStreamDecoderFakeStreaming(t *testing.T) {
	// One chunk with content, a tool call and finish_reason, as a
	// fake-streaming upstream sends, and usage on the same chunk.
	body := chunks(`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me check.","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":6}}}`)
	evs := decodeStream(t, body)
	assertWellFormed(t, evs)
	got := summarize(evs)
	want := summary{
		Blocks: []string{"text:::Let me check.", `tool_call:t:f:{"a":1}`},
		Stop:   llm.StopToolUse,
		Usage:  llm.Usage{InputTokens: 4, CacheReadTokens: 6, OutputTokens: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStreamDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"error chunk", chunks(`{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]}`, `{"error":{"message":"boom","type":"server_error","code":null}}`), "boom"},
		{"cut before finish", chunks(`{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]}`), "upstream stream ended before finish_reason"},
		{"empty", nil, "upstream stream ended without any chunk"},
		{"bare string error", chunks(`{"error":"quota exceeded"}`), "quota exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(decodeStream(t, tt.body)).Err; got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
	d := NewStreamDecoder()
	if _, err := d.Decode(sse.Event{Data: []byte(`{"choices":`)}); err == nil {
		t.Error("Decode(truncated JSON) = nil error, want one")
	}
}

func TestStreamDecoderNoUsageWithoutFinishIsComplete(t *testing.T) {
	// finish_reason without a usage chunk (the upstream ignored
	// include_usage) is a complete stream, not an error.
	evs := decodeStream(t, chunks(`{"id":"c","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, `{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`))
	if s := summarize(evs); s.Err != "" || s.Stop != llm.StopLength {
		t.Errorf("summary = %+v, want stop length and no error", s)
	}
}

// assertWellFormed checks the neutral stream grammar: dense block indices
// in start order, no interleaving, deltas only inside open blocks.
func assertWellFormed(t *testing.T, evs []llm.Event) {
	t.Helper()
	open, next := -1, 0
	for i, ev := range evs {
		switch ev.Kind {
		case llm.EventBlockStart:
			if open >= 0 || ev.Index != next {
				t.Fatalf("event %d: block_start %d while %d open, want index %d", i, ev.Index, open, next)
			}
			open, next = ev.Index, next+1
		case llm.EventDelta, llm.EventSignature:
			if ev.Index != open {
				t.Fatalf("event %d: delta for %d while %d open", i, ev.Index, open)
			}
		case llm.EventBlockStop:
			if ev.Index != open {
				t.Fatalf("event %d: block_stop %d while %d open", i, ev.Index, open)
			}
			open = -1
		}
	}
}

func TestStreamDecoderFixturesWellFormed(t *testing.T) {
	for _, name := range fixtures(t, "*.sse") {
		assertWellFormed(t, decodeStream(t, fixture(t, name)))
	}
}

func TestStreamEncoderSDKRules(t *testing.T) {
	evs := streamCases["parallel_tools"]
	out := encodeStream(&llm.Request{Model: "m", IncludeUsage: true}, evs)
	roles, ids := 0, map[string]int{}
	for _, ev := range readEvents(t, out) {
		if string(ev.Data) == "[DONE]" {
			continue
		}
		var c map[string]json.RawMessage
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			t.Fatalf("chunk %s: %v", ev.Data, err)
		}
		if _, ok := c["error"]; ok {
			t.Errorf("chunk %s has a top-level error key", ev.Data)
		}
		var w wireChunk
		_ = json.Unmarshal(ev.Data, &w)
		for _, ch := range w.Choices {
			if ch.Delta.Role != "" {
				roles++
			}
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index == nil {
					t.Errorf("tool call delta without index: %s", ev.Data)
				}
				if tc.ID != "" {
					ids[tc.ID]++
				}
			}
		}
	}
	if roles != 1 || ids["call_1"] != 1 || ids["call_2"] != 1 {
		t.Errorf("role sent %d times, ids %v; want each once", roles, ids)
	}
}

func TestUsageScanner(t *testing.T) {
	tests := []struct {
		fixture string
		want    llm.Usage
	}{
		{"openai_chat_stream_text_with_usage.sse", llm.Usage{InputTokens: 14, OutputTokens: 30}},
		{"openai_cassette_chat-streaming-detailed-usage.response.200.sse", llm.Usage{InputTokens: 12, OutputTokens: 100, ReasoningTokens: 100}},
	}
	for _, tt := range tests {
		var s UsageScanner
		for _, ev := range readEvents(t, fixture(t, tt.fixture)) {
			s.Observe(ev)
		}
		got, ok := s.Usage()
		if !ok || got != tt.want {
			t.Errorf("UsageScanner(%s) = %+v, %v, want %+v, true", tt.fixture, got, ok, tt.want)
		}
	}
	var s UsageScanner
	s.Observe(sse.Event{Data: []byte(`{"choices":[{"delta":{"content":"the \"usage\": {x} word"}}],"usage":null}`)})
	if _, ok := s.Usage(); ok {
		t.Error("UsageScanner found usage in a chunk whose usage is null")
	}
}

func TestResponseUsage(t *testing.T) {
	got, ok := ResponseUsage(fixture(t, "openai_cassette_chat-reasoning.response.200.json"))
	want := llm.Usage{InputTokens: 27, OutputTokens: 267, ReasoningTokens: 192}
	if !ok || got != want {
		t.Errorf("ResponseUsage = %+v, %v, want %+v, true", got, ok, want)
	}
	if _, ok := ResponseUsage([]byte(`{"id":"x"}`)); ok {
		t.Error("ResponseUsage(no usage) ok = true, want false")
	}
}

func TestStreamDecoderReasoning(t *testing.T) {
	body := chunks(
		`{"id":"c","model":"deepseek","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"reasoning":"think."}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"reasoning":{"effort":"low"},"content":"42"}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	)
	evs := decodeStream(t, body)
	assertWellFormed(t, evs)
	want := summary{Blocks: []string{"thinking:::Let me think.", "text:::42"}, Stop: llm.StopEnd}
	if diff := cmp.Diff(want, summarize(evs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStreamEncoderEmptyArguments(t *testing.T) {
	out := encodeStream(&llm.Request{Model: "m"}, []llm.Event{
		{Kind: llm.EventStart, ID: "x", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "now"},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	})
	got := summarize(decodeStream(t, out))
	want := summary{Blocks: []string{"tool_call:toolu_1:now:{}"}, Stop: llm.StopToolUse}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
