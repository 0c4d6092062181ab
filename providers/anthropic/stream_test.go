package anthropic

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// summary is what a client makes of a stream: the content of each block,
// the signatures, the stop reason and the final usage.
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
			s.Blocks = append(s.Blocks, string(ev.Block)+":"+ev.ToolCallID+":"+ev.ToolName+":"+ev.Text)
		case llm.EventDelta:
			s.Blocks[byIndex[ev.Index]] += ev.Text
		case llm.EventSignature:
			s.Blocks[byIndex[ev.Index]] += "|sig=" + string(ev.SignatureProtocol) + ":" + ev.Text
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

func TestStreamRoundTrip(t *testing.T) {
	for _, name := range fixtures(t, "*.sse") {
		t.Run(name, func(t *testing.T) {
			first := decodeStream(t, fixture(t, name))
			second := decodeStream(t, encodeStream(&llm.Request{Model: "m"}, first))
			if diff := cmp.Diff(summarize(first), summarize(second)); diff != "" {
				t.Errorf("round trip changed the stream (-first +second):\n%s", diff)
			}
		})
	}
}

// TestStreamEncoderForeignEvents encodes other protocols' event streams
// and decodes the result: the content survives, foreign signatures come
// back with their origin, usage that arrived after the finish is in the
// message_delta.
func TestStreamEncoderForeignEvents(t *testing.T) {
	tests := map[string]summary{
		"openai_usage_after_finish": {
			Blocks: []string{"thinking:::Hmm.", "text:::Hello wörld\n"},
			Stop:   llm.StopLength,
			Usage:  llm.Usage{InputTokens: 20, CacheReadTokens: 5, OutputTokens: 9, ReasoningTokens: 3},
		},
		"gemini_tools": {
			Blocks: []string{"thinking:::Two calls.|sig=gemini:c2ln", `tool_call:call_1:get_weather:{"city":"Paris"}`, `tool_call:call_2:get_weather:{"city":"Rome"}`},
			Stop:   llm.StopToolUse,
			Usage:  llm.Usage{InputTokens: 80, OutputTokens: 40},
		},
		"refusal":          {Blocks: []string{"text:::No."}, Stop: llm.StopRefusal},
		"empty":            {Stop: llm.StopEnd},
		"error_mid_stream": {Blocks: []string{"text:::partial"}, Err: "Rate limited"},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			got := summarize(decodeStream(t, encodeStream(&llm.Request{Model: "m"}, streamCases[name])))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamEncoderEventNames(t *testing.T) {
	for name, evs := range streamCases {
		for _, ev := range readEvents(t, encodeStream(&llm.Request{Model: "m"}, evs)) {
			if ev.Name == "" {
				t.Errorf("%s: event without a name: %q", name, ev.Raw)
			}
		}
	}
}

func TestStreamDecoderErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"error event", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", "Overloaded"},
		{"cut", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n", "upstream stream ended before message_delta"},
		{"empty", "", "upstream stream ended without message_start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := decodeStream(t, []byte(tt.body))
			if got := summarize(evs).Err; got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
	evs := decodeStream(t, []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"))
	if e := evs[0].Err; e.Status != 529 || e.Type != llm.ErrOverloaded {
		t.Errorf("overloaded_error = %d %s, want 529 overloaded", e.Status, e.Type)
	}
	if _, err := NewStreamDecoder().Decode(sse.Event{Name: "message_start", Data: []byte(`{"type":`)}); err == nil {
		t.Error("Decode(truncated JSON) = nil error, want one")
	}
}

func TestStreamDecoderSkipsServerToolBlocks(t *testing.T) {
	body := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"found\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
	evs := decodeStream(t, []byte(body))
	want := summary{Blocks: []string{"text:::found"}, Stop: llm.StopEnd, Usage: llm.Usage{OutputTokens: 3}}
	if diff := cmp.Diff(want, summarize(evs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if evs[1].Kind != llm.EventBlockStart || evs[1].Index != 0 {
		t.Errorf("first neutral block = %+v, want block_start 0", evs[1])
	}
}

func TestUsageScanner(t *testing.T) {
	tests := []struct {
		fixture string
		want    llm.Usage
	}{
		{"anthropic_stream_text_then_tool_use_recorded.sse", llm.Usage{InputTokens: 397, OutputTokens: 89}},
		{"anthropic_stream_thinking_refusal.sse", llm.Usage{InputTokens: 28, OutputTokens: 106, ReasoningTokens: 67}},
		{"anthropic_stream_tool_use_sonnet4_recorded.sse", llm.Usage{InputTokens: 0, OutputTokens: 0}},
	}
	for _, tt := range tests {
		var s UsageScanner
		var want llm.Usage
		for _, ev := range readEvents(t, fixture(t, tt.fixture)) {
			s.Observe(ev)
		}
		// The decoder's view is the reference.
		for _, ev := range decodeStream(t, fixture(t, tt.fixture)) {
			if ev.Usage != nil {
				want = *ev.Usage
			}
		}
		got, ok := s.Usage()
		if !ok || got != want {
			t.Errorf("UsageScanner(%s) = %+v, %v, want %+v, true", tt.fixture, got, ok, want)
		}
		if tt.want.OutputTokens != 0 && got != tt.want {
			t.Errorf("UsageScanner(%s) = %+v, want %+v", tt.fixture, got, tt.want)
		}
	}
}

func TestResponseUsage(t *testing.T) {
	got, ok := ResponseUsage(fixture(t, "anthropic_nonstream_tool_use_response.json"))
	resp, err := DecodeResponse(fixture(t, "anthropic_nonstream_tool_use_response.json"))
	if err != nil || !ok || got != resp.Usage || got.InputTokens == 0 {
		t.Errorf("ResponseUsage = %+v, %v, want %+v", got, ok, resp.Usage)
	}
	if _, ok := ResponseUsage([]byte(`{"id":"x"}`)); ok {
		t.Error("ResponseUsage(no usage) ok = true, want false")
	}
}
