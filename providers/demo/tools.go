package demo

import (
	"encoding/json"
	"strings"
	"unicode"
)

// tool is a function the client offers.
type tool struct {
	name   string
	schema json.RawMessage // JSON Schema of the arguments, may be empty
}

// Tool choice values of prompt.force besides a tool's name.
const (
	forceNone = "\x00none" // the client forbids tool calls
	forceAny  = "\x00any"  // the client requires some tool call
)

// toolCall is a call the demo makes instead of answering in text.
type toolCall struct {
	name string
	args string // a JSON object
}

// tokens counts the call's output tokens.
func (c *toolCall) tokens() int { return CountTokens(c.name) + CountTokens(c.args) }

// toolCall decides whether to answer with a tool call: when the client
// forces one (any tool: the first one the last message names, else the
// first offered), or when the last message is the user's and names a tool
// as a word. After a tool result the demo answers in text, so that agents
// do not loop.
func (p *prompt) toolCall() *toolCall {
	if len(p.tools) == 0 || p.force == forceNone {
		return nil
	}
	var pick *tool
	switch p.force {
	case "":
		if p.lastIsUser {
			pick = p.mentioned()
		}
	case forceAny:
		if pick = p.mentioned(); pick == nil {
			pick = &p.tools[0]
		}
	default:
		for i := range p.tools {
			if p.tools[i].name == p.force {
				pick = &p.tools[i]
			}
		}
	}
	if pick == nil {
		return nil
	}
	return &toolCall{name: pick.name, args: arguments(pick.schema, quote(p.last))}
}

// mentioned returns the first tool whose name is a word of the last user
// message.
func (p *prompt) mentioned() *tool {
	words := strings.FieldsFunc(p.last, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:!?()[]{}\"'`", r)
	})
	for i := range p.tools {
		for _, w := range words {
			if strings.TrimRight(w, ".") == p.tools[i].name {
				return &p.tools[i]
			}
		}
	}
	return nil
}

// arguments builds a JSON object satisfying the required properties of
// schema: strings get text, numbers 1, booleans true, arrays [] and objects
// {}.
func arguments(schema json.RawMessage, text string) string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s) // no usable schema: no arguments
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range s.Required {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		typ, _ := s.Properties[name].Type.(string)
		switch typ {
		case "integer", "number":
			b.WriteString("1")
		case "boolean":
			b.WriteString("true")
		case "array":
			b.WriteString("[]")
		case "object":
			b.WriteString("{}")
		default:
			v, _ := json.Marshal(text)
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// choiceName reads a tool choice object's tool name from any of the
// protocols' shapes ({"name"}, {"function":{"name"}}).
type choiceName struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// openAIForce maps an OpenAI or Responses tool_choice onto prompt.force.
func openAIForce(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "none":
			return forceNone
		case "required":
			return forceAny
		}
		return ""
	}
	var c choiceName
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	if c.Function.Name != "" {
		return c.Function.Name
	}
	return c.Name
}
