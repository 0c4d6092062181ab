package responses

import (
	"encoding/json"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" back \\ nl \n cr \r tab \t", "\x00\x1f ctl", "日本語 ✓", "bad \xff utf8", "sep \u2028 \u2029", "<html>&"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendJSONString(%q) = %s: invalid JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

// TestTextDeltaMatchesMarshal: the hand-written delta event says what the
// generic encoder would.
func TestTextDeltaMatchesMarshal(t *testing.T) {
	got := appendTextDelta(nil, 7, "msg_x_0", 2, "a \"b\" ✓")
	var a, b map[string]any
	if err := json.Unmarshal(got[len("event: response.output_text.delta\ndata: "):len(got)-2], &a); err != nil {
		t.Fatalf("appendTextDelta = %s: %v", got, err)
	}
	d := "a \"b\" ✓"
	idx := 2
	e := NewStreamEncoder(nil)
	e.seq = 7
	ref := e.emit(nil, streamEvent{Type: "response.output_text.delta", ItemID: "msg_x_0", OutputIndex: &idx, ContentIndex: &zero, Delta: &d, Logprobs: []any{}})
	if string(ref[:len("event: response.output_text.delta\n")]) != string(got[:len("event: response.output_text.delta\n")]) {
		t.Errorf("event line differs: %q vs %q", ref, got)
	}
	if err := json.Unmarshal(ref[len("event: response.output_text.delta\ndata: "):len(ref)-2], &b); err != nil {
		t.Fatal(err)
	}
	if lp, ok := a["logprobs"].([]any); !ok || len(lp) != 0 {
		t.Errorf("fast event logprobs = %v, want []", a["logprobs"])
	}
	delete(a, "logprobs") // the generic encoder omits the empty list
	if len(a) != len(b) {
		t.Errorf("fast event %v, generic event %v", a, b)
	}
	for k, v := range b {
		if ja, jb := mustJSON(a[k]), mustJSON(v); string(ja) != string(jb) {
			t.Errorf("field %s = %s, want %s", k, ja, jb)
		}
	}
	_ = llm.Event{}
}
