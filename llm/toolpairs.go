package llm

import "strings"

// UnexecutedResult is the text of the error result PairToolResults gives a
// tool call that no message answered.
const UnexecutedResult = "tool call was not executed"

// PairToolResults returns msgs arranged as every protocol's tool loop
// requires. Histories that a client compacted, reordered or cut short (a
// cancelled tool) break it, and each provider answers that with a 400:
//
//   - each assistant message's tool calls are answered right after it, by
//     one tool message holding a result per call, in call order, ahead of
//     any other content of the messages up to the next assistant message;
//   - a call that no result answers gets an error result
//     (UnexecutedResult), unless the assistant message is the last one;
//   - a result that answers no call of the assistant message before it
//     becomes user text (OrphanResultText), and so does a second result
//     for the same call.
//
// Everything else keeps its order. msgs itself is not modified, and is
// returned as it is when it holds no tool call or result.
func PairToolResults(msgs []Message) []Message {
	if !hasToolParts(msgs) {
		return msgs
	}
	out := make([]Message, 0, len(msgs)+1)
	for i := 0; i < len(msgs); {
		var calls []Part
		if msgs[i].Role == RoleAssistant {
			out = append(out, msgs[i])
			for _, p := range msgs[i].Parts {
				if p.Kind == PartToolCall {
					calls = append(calls, p)
				}
			}
			i++
		}
		// The messages that may answer those calls: up to the next
		// assistant message.
		j := i
		for j < len(msgs) && msgs[j].Role != RoleAssistant {
			j++
		}
		results := make(map[string]Part, len(calls))
		pending := make(map[string]bool, len(calls))
		for _, c := range calls {
			pending[c.ToolCallID] = true
		}
		var rest []Message
		for _, m := range msgs[i:j] {
			var keep []Part
			for _, p := range m.Parts {
				if p.Kind != PartToolResult {
					keep = append(keep, p)
					continue
				}
				if pending[p.ToolCallID] {
					pending[p.ToolCallID] = false
					results[p.ToolCallID] = p
					continue
				}
				keep = append(keep, OrphanResultText(p))
			}
			if len(keep) == 0 {
				continue
			}
			m.Parts = keep
			if m.Role == RoleTool {
				m.Role = RoleUser // what is left of it is text
			}
			rest = append(rest, m)
		}
		if len(calls) > 0 && i < len(msgs) { // the assistant message is not the last
			answers := make([]Part, 0, len(calls))
			for _, c := range calls {
				r, ok := results[c.ToolCallID]
				if !ok {
					r = Part{Kind: PartToolResult, ToolCallID: c.ToolCallID, ToolName: c.ToolName, IsError: true,
						Content: []Part{{Kind: PartText, Text: UnexecutedResult}}}
				}
				answers = append(answers, r)
			}
			out = append(out, Message{Role: RoleTool, Parts: answers})
		}
		out = append(out, rest...)
		i = j
	}
	return out
}

// OrphanResultText is a tool result that answers no call, as user text:
// no protocol takes a result without its call, and its content is still
// what the client sent.
func OrphanResultText(p Part) Part {
	var b strings.Builder
	b.WriteString("Tool result")
	if p.ToolName != "" {
		b.WriteString(" (" + p.ToolName + ")")
	}
	b.WriteString(":")
	for _, c := range p.Content {
		if c.Kind == PartText {
			b.WriteString("\n" + c.Text)
		}
	}
	return Part{Kind: PartText, Text: b.String()}
}

func hasToolParts(msgs []Message) bool {
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Kind == PartToolCall || p.Kind == PartToolResult {
				return true
			}
		}
	}
	return false
}
