package responses

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/neutralcases"
	"github.com/llmgw/llmgw/sse"
)

func encodeAll(req *llm.Request, evs []llm.Event) []byte {
	e := NewStreamEncoder(req)
	e.now = fixedNow
	var out []byte
	for _, ev := range evs {
		out = e.Encode(out, ev)
	}
	return e.Close(out)
}

func TestStreamEncoderGolden(t *testing.T) {
	cases := append(neutralStreams, neutralcases.StreamCase{Name: "codex_custom_tool", Req: codexRequest, Events: codexStream})
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			out := encodeAll(tt.Req, tt.Events)
			golden(t, "encode_stream/"+tt.Name+".sse", out)
			checkSequence(t, out)
		})
	}
}

// checkSequence asserts the framing Codex and the SDKs rely on: event:
// names equal to the JSON type, sequence numbers from 0 without gaps, one
// terminal event, item ids consistent between added and done.
func checkSequence(t *testing.T, out []byte) {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(out))
	seq, terminal := 0, 0
	added := map[int]string{}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		var v struct {
			Type        string              `json:"type"`
			Seq         int                 `json:"sequence_number"`
			OutputIndex *int                `json:"output_index"`
			Item        struct{ ID string } `json:"item"`
		}
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			t.Fatalf("event %q: %v", ev.Data, err)
		}
		if v.Type != ev.Name || v.Seq != seq {
			t.Errorf("event %s seq %d = type %q seq %d, want type %q seq %d", ev.Name, seq, v.Type, v.Seq, ev.Name, seq)
		}
		seq++
		switch v.Type {
		case "response.output_item.added":
			added[*v.OutputIndex] = v.Item.ID
		case "response.output_item.done":
			if added[*v.OutputIndex] != v.Item.ID {
				t.Errorf("output_item.done id %q, want %q as added", v.Item.ID, added[*v.OutputIndex])
			}
		case "response.completed", "response.failed", "response.incomplete":
			terminal++
		}
	}
	if terminal != 1 {
		t.Errorf("%d terminal events, want 1", terminal)
	}
}

func decodeStream(t testing.TB, body []byte) []llm.Event {
	t.Helper()
	d := NewStreamDecoder()
	r := sse.NewReader(bytes.NewReader(body))
	var out []llm.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := d.Decode(ev)
		if err != nil {
			t.Fatalf("Decode(%q) error: %v", ev.Data, err)
		}
		out = append(out, evs...)
	}
	return append(out, d.Close()...)
}

func TestStreamDecoderGolden(t *testing.T) {
	evs := decodeStream(t, readFixture(t, "openai_responses_stream_function_call_o3.sse"))
	golden(t, "decode_stream/function_call_o3.jsonl", eventLines(t, evs))
}

// TestStreamRoundTrip: neutral events encoded as a Responses stream and
// decoded again keep their text, calls, usage and stop reason; and the o3
// recording survives decode → encode → decode.
func TestStreamRoundTrip(t *testing.T) {
	inputs := map[string][]llm.Event{"o3 fixture": decodeStream(t, readFixture(t, "openai_responses_stream_function_call_o3.sse"))}
	for _, s := range neutralStreams {
		if s.Name != "error_midstream" {
			inputs[s.Name] = s.Events
		}
	}
	// The Responses API has no refusal without refusal text: it says
	// content_filter.
	lossy := map[string]llm.StopReason{"safety_refusal": llm.StopContentFilter}
	for name, evs := range inputs {
		t.Run(name, func(t *testing.T) {
			back := decodeStream(t, encodeAll(nil, evs))
			want := summarize(evs)
			if r, ok := lossy[name]; ok {
				want.Stop = r
			}
			if diff := cmp.Diff(want, summarize(back)); diff != "" {
				t.Errorf("round trip mismatch (-in +out):\n%s", diff)
			}
		})
	}
}

type streamSummary struct {
	Text, Thinking, Refusal string
	Calls                   []string
	Usage                   llm.Usage
	Stop                    llm.StopReason
}

func summarize(evs []llm.Event) streamSummary {
	var s streamSummary
	blocks := map[int]llm.PartKind{}
	for _, ev := range evs {
		switch ev.Kind {
		case llm.EventBlockStart:
			blocks[ev.Index] = ev.Block
			if ev.Block == llm.PartToolCall {
				s.Calls = append(s.Calls, ev.ToolCallID+" "+ev.ToolName+" ")
			}
		case llm.EventDelta:
			switch blocks[ev.Index] {
			case llm.PartText:
				s.Text += ev.Text
			case llm.PartThinking:
				s.Thinking += ev.Text
			case llm.PartRefusal:
				s.Refusal += ev.Text
			case llm.PartToolCall:
				s.Calls[len(s.Calls)-1] += ev.Text
			}
		case llm.EventUsage:
			s.Usage = *ev.Usage
		case llm.EventFinish:
			s.Stop = ev.StopReason
		}
	}
	if s.Stop == llm.StopEnd && len(s.Calls) > 0 {
		s.Stop = llm.StopToolUse
	}
	return s
}

func TestStreamDecoderErrors(t *testing.T) {
	evs := decodeStream(t, []byte("event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"try again in 2s\"}}}\n\n"))
	last := evs[len(evs)-1]
	if last.Kind != llm.EventError || last.Err.Status != 429 || last.Err.Code != "rate_limit_exceeded" {
		t.Errorf("last event = %+v, want a 429 rate_limit_exceeded error", last)
	}
	evs = decodeStream(t, []byte("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n"))
	if last := evs[len(evs)-1]; last.Kind != llm.EventError {
		t.Errorf("stream without completed ends with %+v, want an error", last)
	}
	if _, err := NewStreamDecoder().Decode(sse.Event{Data: []byte(`{"type":5}`)}); err == nil {
		t.Errorf("Decode(wrong type) error = nil, want an error")
	}
}

func TestUsageScanner(t *testing.T) {
	var s UsageScanner
	r := sse.NewReader(bytes.NewReader(readFixture(t, "openai_responses_stream_function_call_o3.sse")))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		s.Observe(ev)
	}
	want := llm.Usage{InputTokens: 84, OutputTokens: 94, ReasoningTokens: 64}
	if got, ok := s.Usage(); !ok || got != want {
		t.Errorf("Usage() = %+v, %v, want %+v, true", got, ok, want)
	}
}

func TestEncodeStreamError(t *testing.T) {
	out := EncodeStreamError(nil, &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "slow down"})
	checkSequence(t, out)
	if !bytes.Contains(out, []byte(`"code":"rate_limit_exceeded"`)) {
		t.Errorf("EncodeStreamError = %s, want code rate_limit_exceeded", out)
	}
}
