package crosstest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// clock matches the wall-clock timestamps some encoders stamp.
var clock = regexp.MustCompile(`"created_at":\d+`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldentest.Golden(t, *update, name, clock.ReplaceAll(got, []byte(`"created_at":0`)))
}

func fixture(t *testing.T, name string) []byte { return goldentest.Fixture(t, name) }

// fixtures lists the fixture names with the given prefix and suffix.
func fixtures(t *testing.T, prefix, suffix string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("testdata", "fixtures", prefix+"*"+suffix))
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

func pretty(t *testing.T, body []byte, warnings []string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", body, err)
	}
	out := any(v)
	if warnings != nil {
		out = map[string]any{"body": v, "warnings": warnings}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return b.Bytes()
}

// compact normalises JSON text for comparisons.
func compact(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// outcome is what survives any conversion: answer text, tool calls, stop
// reason class and usage.
type outcome struct {
	Text  string
	Tools []string
	Stop  string
	Usage llm.Usage
	Err   string
}

// stopClass groups the stop reasons every protocol can tell apart.
func stopClass(r llm.StopReason) string {
	switch r {
	case llm.StopLength, llm.StopContextWindow:
		return "length"
	case llm.StopToolUse:
		return "tool_use"
	case llm.StopRefusal, llm.StopContentFilter:
		return "filter"
	case "":
		return ""
	}
	return "end"
}

func responseOutcome(r *llm.Response) outcome {
	o := outcome{Stop: stopClass(r.StopReason), Usage: r.Usage}
	for _, p := range r.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			o.Text += p.Text
		case llm.PartToolCall:
			o.Tools = append(o.Tools, p.ToolName+" "+compact(p.Arguments))
		}
	}
	return o
}

func streamOutcome(evs []llm.Event) outcome {
	var o outcome
	kinds := map[int]llm.PartKind{}
	var calls []*strings.Builder
	callOf := map[int]int{}
	var names []string
	for _, ev := range evs {
		switch ev.Kind {
		case llm.EventBlockStart:
			kinds[ev.Index] = ev.Block
			if ev.Block == llm.PartToolCall {
				callOf[ev.Index] = len(calls)
				calls = append(calls, &strings.Builder{})
				names = append(names, ev.ToolName)
			}
		case llm.EventDelta:
			switch kinds[ev.Index] {
			case llm.PartText, llm.PartRefusal:
				o.Text += ev.Text
			case llm.PartToolCall:
				calls[callOf[ev.Index]].WriteString(ev.Text)
			}
		case llm.EventUsage:
			o.Usage = *ev.Usage
		case llm.EventFinish:
			o.Stop = stopClass(ev.StopReason)
		case llm.EventError:
			o.Err = ev.Err.Message
		}
	}
	for i, c := range calls {
		o.Tools = append(o.Tools, names[i]+" "+compact([]byte(c.String())))
	}
	return o
}

func decodeStream(t *testing.T, c codec, body []byte) []llm.Event {
	t.Helper()
	d := c.newStreamDecoder()
	var out []llm.Event
	for _, ev := range goldentest.ReadEvents(t, body) {
		evs, err := d.Decode(ev)
		if err != nil {
			t.Fatalf("%s Decode(%q): %v", c.proto, ev.Data, err)
		}
		out = append(out, evs...)
	}
	return append(out, d.Close()...)
}

// clientRequest is the decoded request of a client of the target
// protocol: it asks for usage and thoughts.
func clientRequest() *llm.Request {
	return &llm.Request{Model: "client-model", Stream: true, IncludeUsage: true,
		Reasoning: &llm.Reasoning{IncludeThoughts: true}}
}

// directions calls f for every ordered pair of different codecs.
func directions(t *testing.T, f func(t *testing.T, from, to codec)) {
	for _, from := range codecs {
		for _, to := range codecs {
			if from.proto == to.proto {
				continue
			}
			t.Run(fmt.Sprintf("%s_to_%s", from.proto, to.proto), func(t *testing.T) { f(t, from, to) })
		}
	}
}

// TestStreamDirections converts every recorded upstream stream for every
// other client protocol.
func TestStreamDirections(t *testing.T) {
	directions(t, func(t *testing.T, from, to codec) {
		for _, name := range fixtures(t, from.prefix, ".sse") {
			t.Run(name, func(t *testing.T) {
				evs := decodeStream(t, from, fixture(t, name))
				enc := to.newStreamEncoder(clientRequest())
				var wire []byte
				for _, ev := range evs {
					wire = enc.Encode(wire, ev)
				}
				wire = enc.Close(wire)
				golden(t, fmt.Sprintf("stream/%s_to_%s/%s", from.proto, to.proto, name), wire)
				want, got := streamOutcome(evs), streamOutcome(decodeStream(t, to, wire))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s stream as %s lost content (-%s +%s):\n%s", name, to.proto, from.proto, to.proto, diff)
				}
			})
		}
	})
}

// TestResponseDirections converts every recorded upstream response body
// for every other client protocol.
func TestResponseDirections(t *testing.T) {
	directions(t, func(t *testing.T, from, to codec) {
		for _, name := range fixtures(t, from.prefix, from.responseSuffix) {
			t.Run(name, func(t *testing.T) {
				resp, err := from.decodeResponse(fixture(t, name))
				if err != nil {
					t.Fatal(err)
				}
				if resp.Created == 0 {
					resp.Created = 1700000000 // golden files need a fixed time
				}
				body, err := to.encodeResponse(resp, clientRequest())
				if err != nil {
					t.Fatalf("%s EncodeResponse: %v", to.proto, err)
				}
				golden(t, fmt.Sprintf("response/%s_to_%s/%s", from.proto, to.proto, strings.TrimSuffix(name, from.responseSuffix)+".json"), pretty(t, body, nil))
				back, err := to.decodeResponse(body)
				if err != nil {
					t.Fatalf("%s DecodeResponse(own output): %v", to.proto, err)
				}
				if diff := cmp.Diff(responseOutcome(resp), responseOutcome(back)); diff != "" {
					t.Errorf("%s as %s lost content (-%s +%s):\n%s", name, to.proto, from.proto, to.proto, diff)
				}
			})
		}
	})
}

// conversation is what survives a request conversion: the system text and
// the sequence of texts, images, tool calls and tool results.
func conversation(r *llm.Request) []string {
	var out []string
	var sys []string
	for _, p := range r.System {
		sys = append(sys, p.Text)
	}
	if len(sys) > 0 {
		out = append(out, "system: "+strings.Join(sys, "\n\n"))
	}
	for _, m := range r.Messages {
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "assistant"
		}
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText:
				if strings.TrimSpace(p.Text) != "" {
					out = append(out, role+": "+p.Text)
				}
			case llm.PartImage, llm.PartDocument:
				out = append(out, role+": "+string(p.Kind))
			case llm.PartToolCall:
				out = append(out, "call "+p.ToolName+" "+compact(p.Arguments))
			case llm.PartToolResult:
				out = append(out, "result")
			}
		}
	}
	for _, tool := range r.Tools {
		out = append(out, "tool "+tool.Name)
	}
	return out
}

// TestRequestDirections converts every recorded client request for every
// other upstream protocol, then reads the result back with the target's
// own decoder.
func TestRequestDirections(t *testing.T) {
	directions(t, func(t *testing.T, from, to codec) {
		for _, name := range fixtures(t, from.prefix, from.requestSuffix) {
			t.Run(name, func(t *testing.T) {
				req, err := from.decodeRequest(fixture(t, name))
				if err != nil {
					t.Fatal(err)
				}
				body, warnings, err := to.encodeRequest(req)
				if err != nil {
					t.Fatalf("%s EncodeRequest: %v", to.proto, err)
				}
				if warnings == nil {
					warnings = []string{}
				}
				golden(t, fmt.Sprintf("request/%s_to_%s/%s", from.proto, to.proto, strings.TrimSuffix(name, from.requestSuffix)+".json"), pretty(t, body, warnings))
				back, err := to.decodeRequest(body)
				if err != nil {
					t.Fatalf("%s DecodeRequest(own upstream body): %v", to.proto, err)
				}
				got := conversation(back)
				if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object" && to.proto == llm.ProtocolAnthropic {
					// Anthropic has no JSON mode: the encoder asks for
					// JSON in the system prompt, and warns.
					got = slicesDelete(got, "system: Respond with a single valid JSON object and nothing else.")
				}
				if diff := cmp.Diff(conversation(req), got); diff != "" {
					t.Errorf("%s for %s lost content (-%s +%s):\n%s", name, to.proto, from.proto, to.proto, diff)
				}
			})
		}
	})
}

func slicesDelete(s []string, v string) []string {
	var out []string
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
