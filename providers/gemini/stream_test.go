package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

func TestStreamDecoderGolden(t *testing.T) {
	for _, f := range fixtures(t, "*.sse") {
		t.Run(f, func(t *testing.T) {
			evs := decodeStream(t, readFixture(t, f))
			golden(t, "decode_stream/"+goldenName(f, ".jsonl"), eventLines(t, evs))
		})
	}
}

func TestStreamDecoderEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []llm.Event
	}{
		{"blocked prompt", "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":5},\"responseId\":\"r\"}\r\n\r\n", []llm.Event{
			{Kind: llm.EventStart, ID: "r", Usage: &llm.Usage{InputTokens: 5}},
			{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 5}},
			{Kind: llm.EventFinish, StopReason: llm.StopContentFilter},
		}},
		{"error chunk", "data: {\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n", []llm.Event{
			{Kind: llm.EventError, Err: &llm.Error{Status: 503, Type: llm.ErrOverloaded, Message: "overloaded", Code: "UNAVAILABLE"}},
		}},
		{"truncated", "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}],\"responseId\":\"r\"}\n\n", []llm.Event{
			{Kind: llm.EventStart, ID: "r"},
			{Kind: llm.EventBlockStart, Block: llm.PartText},
			{Kind: llm.EventDelta, Text: "hi"},
			{Kind: llm.EventBlockStop},
			{Kind: llm.EventError, Err: &llm.Error{Status: 502, Type: llm.ErrAPI, Message: "gemini: stream ended without a finishReason"}},
		}},
		{"max tokens after thoughts", "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"t\",\"thought\":true}]},\"finishReason\":\"MAX_TOKENS\"}]}\n\n", []llm.Event{
			{Kind: llm.EventStart},
			{Kind: llm.EventBlockStart, Block: llm.PartThinking},
			{Kind: llm.EventDelta, Text: "t"},
			{Kind: llm.EventBlockStop},
			{Kind: llm.EventFinish, StopReason: llm.StopLength},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeStream(t, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode(%q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
	if _, err := NewStreamDecoder().Decode(sse.Event{Data: []byte(`{"candidates":"x"}`)}); err == nil {
		t.Errorf("Decode(wrong type) error = nil, want an error")
	}
}

func TestStreamEncoderGolden(t *testing.T) {
	for _, tt := range neutralStreams {
		t.Run(tt.Name, func(t *testing.T) {
			e := NewStreamEncoder(tt.Req)
			var out []byte
			for _, ev := range tt.Events {
				out = e.Encode(out, ev)
			}
			out = e.Close(out)
			golden(t, "encode_stream/"+tt.Name+".sse", out)
			checkDataOnly(t, out)

			a := NewArrayStreamEncoder(tt.Req)
			var arr []byte
			for _, ev := range tt.Events {
				arr = a.Encode(arr, ev)
			}
			arr = a.Close(arr)
			var chunks []json.RawMessage
			if err := json.Unmarshal(arr, &chunks); err != nil {
				t.Errorf("array form %q is not a JSON array: %v", arr, err)
			}
			golden(t, "encode_stream/"+tt.Name+".array.json", arr)
		})
	}
}

// checkDataOnly asserts the go-genai framing rule: every block is exactly
// one data: line.
func checkDataOnly(t *testing.T, out []byte) {
	t.Helper()
	for _, block := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		if !strings.HasPrefix(block, "data: ") || strings.Contains(block, "\n") || !json.Valid([]byte(block[6:])) {
			t.Errorf("block %q is not one data: line with JSON", block)
		}
	}
}

// TestStreamRoundTrip: each recorded Gemini stream, decoded and encoded
// again, decodes to the same text, calls, usage and stop reason.
func TestStreamRoundTrip(t *testing.T) {
	for _, f := range fixtures(t, "*.sse") {
		t.Run(f, func(t *testing.T) {
			first := decodeStream(t, readFixture(t, f))
			e := NewStreamEncoder(&llm.Request{Reasoning: &llm.Reasoning{IncludeThoughts: true}})
			var wire []byte
			for _, ev := range first {
				wire = e.Encode(wire, ev)
			}
			wire = e.Close(wire)
			second := decodeStream(t, wire)
			if diff := cmp.Diff(summarize(first), summarize(second)); diff != "" {
				t.Errorf("round trip mismatch (-first +second):\n%s", diff)
			}
		})
	}
}

type streamSummary struct {
	Text, Thinking string
	Calls          []string
	Signatures     []string
	Usage          llm.Usage
	Stop           llm.StopReason
}

func summarize(evs []llm.Event) streamSummary {
	var s streamSummary
	blocks := map[int]llm.PartKind{}
	for _, ev := range evs {
		switch ev.Kind {
		case llm.EventBlockStart:
			blocks[ev.Index] = ev.Block
			if ev.Block == llm.PartToolCall {
				s.Calls = append(s.Calls, ev.ToolName)
			}
		case llm.EventDelta:
			switch blocks[ev.Index] {
			case llm.PartText:
				s.Text += ev.Text
			case llm.PartThinking:
				s.Thinking += ev.Text
			case llm.PartToolCall:
				var b bytes.Buffer
				if json.Compact(&b, []byte(ev.Text)) != nil {
					b.WriteString(ev.Text)
				}
				s.Calls[len(s.Calls)-1] += b.String()
			}
		case llm.EventSignature:
			s.Signatures = append(s.Signatures, ev.Text)
		case llm.EventUsage:
			s.Usage = *ev.Usage
		case llm.EventFinish:
			s.Stop = ev.StopReason
		}
	}
	return s
}

func TestUsageScanner(t *testing.T) {
	var s UsageScanner
	r := sse.NewReader(bytes.NewReader(readFixture(t, "gemini_stream_long_text_thinking_model.sse")))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		s.Observe(ev)
	}
	got, ok := s.Usage()
	evs := decodeStream(t, readFixture(t, "gemini_stream_long_text_thinking_model.sse"))
	want := summarize(evs).Usage
	if !ok || got != want || got.OutputTokens == 0 {
		t.Errorf("UsageScanner.Usage() = %+v, %v, want %+v, true", got, ok, want)
	}
	var empty UsageScanner
	empty.Observe(sse.Event{Data: []byte(`{"candidates":[]}`)})
	if _, ok := empty.Usage(); ok {
		t.Errorf("Usage() after a chunk without usage: ok = true, want false")
	}
}

// TestTextChunkMatchesMarshal: the hand-written text chunk is byte for
// byte what the generic encoder writes (golden files hold the latter).
func TestTextChunkMatchesMarshal(t *testing.T) {
	for _, thought := range []bool{false, true} {
		for _, s := range []string{"plain", "q \" \\ \n\t\x01 日本 \u2028", "bad \xff", "<b>&"} {
			e := &StreamEncoder{id: "r-1", model: "m"}
			got := e.appendTextChunk(nil, s, thought)
			p := textPart(s)
			p.Thought = thought
			want := (&StreamEncoder{id: "r-1", model: "m"}).chunk(nil, p)
			if thought || s == "<b>&" {
				// json.Marshal escapes <, >, & as \u003c…: compare values.
				var a, b any
				_ = json.Unmarshal(got[6:], &a)
				_ = json.Unmarshal(want[6:], &b)
				if diff := cmp.Diff(b, a); diff != "" {
					t.Errorf("appendTextChunk(%q) mismatch (-want +got):\n%s", s, diff)
				}
				continue
			}
			if string(got) != string(want) {
				t.Errorf("appendTextChunk(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func TestJSONObjectAt(t *testing.T) {
	tests := []struct{ in, want string }{
		{`: {"a":1}, "b":2}`, `{"a":1}`},
		{`:{"a":{"b":"}"}}}`, `{"a":{"b":"}"}}`},
		{`: {"a":"\"}"}`, `{"a":"\"}"}`},
		{`: {"a":1`, ``},
		{`: 5`, ``},
		{``, ``},
	}
	for _, tt := range tests {
		if got := string(jsonObjectAt([]byte(tt.in))); got != tt.want {
			t.Errorf("jsonObjectAt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCallIDsNeverRepeat: an upstream that sends neither responseId nor
// call ids (or repeats a responseId) gets distinct ids for the same call
// on every turn, streamed or not.
func TestCallIDsNeverRepeat(t *testing.T) {
	body := []byte(`{"responseId":"same","candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"ls","args":{}}}]},"finishReason":"STOP"}]}`)
	seen := map[string]bool{}
	for turn := 0; turn < 50; turn++ {
		resp, err := DecodeResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := NewStreamDecoder().Decode(sse.Event{Data: body})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{resp.Parts[0].ToolCallID}
		for _, ev := range evs {
			if ev.Kind == llm.EventBlockStart && ev.Block == llm.PartToolCall {
				ids = append(ids, ev.ToolCallID)
			}
		}
		for _, id := range ids {
			if seen[id] || !strings.HasPrefix(id, syntheticIDPrefix) {
				t.Fatalf("turn %d: id %q repeats or is not synthetic", turn, id)
			}
			seen[id] = true
		}
	}
}

// TestCallSignatureFolds: a call's signature, which the decoders put in a
// signature-only thinking part before it, is on the call again in the
// request to Gemini, whatever carried it; a call without one gets the
// sentinel.
func TestCallSignatureFolds(t *testing.T) {
	resp, err := DecodeResponseNonce([]byte(`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"ls","args":{}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"pwd","args":{}}}]},"finishReason":"STOP"}]}`), "n")
	if err != nil {
		t.Fatal(err)
	}
	req := &llm.Request{Model: "gemini-3-pro-preview", Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "go"}}},
		{Role: llm.RoleAssistant, Parts: resp.Parts},
		{Role: llm.RoleTool, Parts: []llm.Part{
			{Kind: llm.PartToolResult, ToolCallID: resp.Parts[1].ToolCallID, Content: []llm.Part{{Kind: llm.PartText, Text: "a"}}},
			{Kind: llm.PartToolResult, ToolCallID: resp.Parts[2].ToolCallID, Content: []llm.Part{{Kind: llm.PartText, Text: "b"}}},
		}},
	}}
	body, _, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role":"model","parts":[{"thoughtSignature":"c2ln","functionCall":{"name":"ls","args":{}}},{"functionCall":{"name":"pwd","args":{}}}]}`
	if !strings.Contains(string(body), want) || strings.Contains(string(body), SkipSignatureSentinel) {
		t.Errorf("model turn sent to Gemini:\n%s\nwant %s and no sentinel", body, want)
	}
	req.Messages[1].Parts = resp.Parts[1:] // the signature was lost on the way
	body, _, _ = EncodeRequest(req)
	if !strings.Contains(string(body), `{"thoughtSignature":"`+SkipSignatureSentinel+`","functionCall":{"name":"ls"`) {
		t.Errorf("an unsigned call got no sentinel: %s", body)
	}
}
