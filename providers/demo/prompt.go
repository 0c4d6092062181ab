package demo

import (
	"bytes"
	"encoding/json"
	"strings"
)

// prompt is what the demo provider needs from a generation request,
// whatever its protocol.
type prompt struct {
	model string
	// texts is every text of the request (instructions, messages, tool
	// calls and results), in order: the input tokens count them.
	texts []string
	// last is the text of the last user message: the reply quotes it.
	last string
	// maxTokens caps the output; 0 means no cap.
	maxTokens int
	// tools are the functions offered, force the tool choice (see
	// toolCall), and lastIsUser reports that the conversation ends with the
	// user's words rather than a tool result.
	tools      []tool
	force      string
	lastIsUser bool
}

// inputTokens counts the prompt's tokens.
func (p *prompt) inputTokens() int {
	n := 0
	for _, t := range p.texts {
		n += CountTokens(t)
	}
	return n
}

// answer composes the reply to p for a protocol and returns it with the
// request's fingerprint, from which ids derive.
func (s *Server) answer(protocol string, p *prompt) (reply, fingerprint) {
	if p.model == "" {
		p.model = models[0]
	}
	f := newFingerprint(s.cfg.Seed, protocol, p.model, p.texts)
	return compose(p.last, f.uint64(), s.cfg.Chunks, p.maxTokens), f
}

// part is the subset of a content part of any protocol that carries text:
// text parts, Anthropic tool results (content), Responses tool outputs
// (output) and thinking.
type part struct {
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	Content  json.RawMessage `json:"content"`
	Output   json.RawMessage `json:"output"`
	// Input and Arguments are tool call arguments (Anthropic, OpenAI).
	Input     json.RawMessage `json:"input"`
	Arguments json.RawMessage `json:"arguments"`
}

// texts returns the texts in raw, which is a JSON string, an array of
// parts, or absent. Anything else contributes nothing: the demo provider
// does not validate what it does not need.
func texts(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil
		}
		return []string{s}
	case '[':
		var parts []part
		if json.Unmarshal(raw, &parts) != nil {
			return nil
		}
		var out []string
		for _, p := range parts {
			out = append(out, p.texts()...)
		}
		return out
	}
	return nil
}

// texts returns the texts of one part.
func (p *part) texts() []string {
	var out []string
	for _, s := range []string{p.Text, p.Thinking} {
		if s != "" {
			out = append(out, s)
		}
	}
	out = append(out, texts(p.Content)...)
	out = append(out, texts(p.Output)...)
	for _, args := range []json.RawMessage{p.Input, p.Arguments} {
		if a := bytes.TrimSpace(args); len(a) > 0 && a[0] == '{' {
			out = append(out, string(a))
		} else {
			out = append(out, texts(a)...)
		}
	}
	return out
}

// join concatenates texts with blank lines between them.
func join(texts []string) string { return strings.Join(texts, "\n\n") }
