package llm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPairToolResults(t *testing.T) {
	text := func(s string) Part { return Part{Kind: PartText, Text: s} }
	call := func(id string) Part { return Part{Kind: PartToolCall, ToolCallID: id, ToolName: "f"} }
	result := func(id, s string) Part {
		return Part{Kind: PartToolResult, ToolCallID: id, Content: []Part{text(s)}}
	}
	user := func(ps ...Part) Message { return Message{Role: RoleUser, Parts: ps} }
	tool := func(ps ...Part) Message { return Message{Role: RoleTool, Parts: ps} }
	asst := func(ps ...Part) Message { return Message{Role: RoleAssistant, Parts: ps} }

	tests := []struct {
		name string
		in   []Message
		want []string // one line per message: role, then its parts
	}{
		{"answered in order: unchanged",
			[]Message{user(text("go")), asst(call("a"), call("b")), tool(result("a", "1")), tool(result("b", "2")), user(text("next"))},
			[]string{"user: go", "assistant: call a, call b", "tool: result a 1, result b 2", "user: next"}},
		{"results answered out of order and after text",
			[]Message{user(text("go")), asst(call("a"), call("b")), user(text("hm"), result("b", "2")), tool(result("a", "1"))},
			[]string{"user: go", "assistant: call a, call b", "tool: result a 1, result b 2", "user: hm"}},
		{"a cancelled call gets an error result",
			[]Message{user(text("go")), asst(call("a"), call("b")), tool(result("a", "1")), user(text("stop"))},
			[]string{"user: go", "assistant: call a, call b", "tool: result a 1, error b tool call was not executed", "user: stop"}},
		{"an orphan result becomes text, a second answer too",
			[]Message{user(text("go"), result("x", "lost")), asst(call("a")), tool(result("a", "1"), result("a", "again"))},
			[]string{"user: go, text Tool result:\nlost", "assistant: call a", "tool: result a 1", "user: text Tool result:\nagain"}},
		{"calls followed by another assistant message",
			[]Message{user(text("go")), asst(call("a")), asst(text("done"))},
			[]string{"user: go", "assistant: call a", "tool: error a tool call was not executed", "assistant: done"}},
		{"calls at the end stay unanswered",
			[]Message{user(text("go")), asst(call("a"))},
			[]string{"user: go", "assistant: call a"}},
		{"no tools: unchanged",
			[]Message{user(text("hi")), asst(text("hello"))},
			[]string{"user: hi", "assistant: hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.in)
			got := describe(PairToolResults(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if fmt.Sprint(tt.in) != before {
				t.Errorf("PairToolResults modified its input")
			}
		})
	}
}

// describe renders messages compactly for comparison.
func describe(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		var ps []string
		for _, p := range m.Parts {
			switch p.Kind {
			case PartText:
				if m.Role == RoleTool || strings.HasPrefix(p.Text, "Tool result") {
					ps = append(ps, "text "+p.Text)
				} else {
					ps = append(ps, p.Text)
				}
			case PartToolCall:
				ps = append(ps, "call "+p.ToolCallID)
			case PartToolResult:
				kind := "result"
				if p.IsError {
					kind = "error"
				}
				ps = append(ps, kind+" "+p.ToolCallID+" "+p.Content[0].Text)
			}
		}
		out = append(out, string(m.Role)+": "+strings.Join(ps, ", "))
	}
	return out
}
