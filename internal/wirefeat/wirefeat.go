// Package wirefeat holds what the protocol adapters share to read a
// request's routing features (llm.Features) from the raw values of its
// top-level members: cheap readers of JSON scalars, byte-level marker
// scans that stand in for a parse, and the guess of a body's protocol for
// tools that get a body without the door it was posted to. Each adapter
// knows its own wire's member names; this package knows none but the
// guess's.
package wirefeat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
)

// Read feeds every top-level member of body to s and returns the
// features: for a caller that has the body alone (the gateway collects
// them on its own pass). A body that is not a JSON object is an error.
func Read(body []byte, s llm.FeatureScanner) (llm.Features, error) {
	if err := wirejson.Fields(body, s.Take); err != nil {
		return llm.Features{}, fmt.Errorf("wirefeat: request body: %w", err)
	}
	return s.Features(), nil
}

// String returns raw as a string, "" when it is not one. Strings without
// escapes (nearly all model names) are sliced, not decoded.
func String(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Bool reports whether raw (checked JSON) is true.
func Bool(raw []byte) bool { return string(raw) == "true" }

// Int returns raw as a non-negative int, 0 when it is not one.
func Int(raw []byte) int {
	if len(raw) == 0 || raw[0] == 'n' {
		return 0
	}
	if n, err := strconv.Atoi(string(raw)); err == nil {
		if n < 0 || n > 1<<31 {
			return 0
		}
		return n
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f > 1<<31 {
		return 0
	}
	return int(f)
}

// NonEmpty reports whether raw is present and not null, [], {}, "" or
// false.
func NonEmpty(raw []byte) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "[]", "{}", `""`, "false":
		return false
	}
	return true
}

// Metadata reads a metadata object: string values as they are, others as
// compact JSON; nil when raw is no object or an empty one.
func Metadata(raw []byte) map[string]string {
	if len(raw) <= 2 || raw[0] != '{' {
		return nil
	}
	m := map[string]string{}
	_ = wirejson.Fields(raw, func(k, v []byte) bool {
		if len(v) > 0 && v[0] == '"' {
			m[string(k)] = String(v)
			return true
		}
		var buf bytes.Buffer
		if json.Compact(&buf, v) == nil {
			m[string(k)] = buf.String()
		}
		return true
	})
	if len(m) == 0 {
		return nil
	}
	return m
}

// Session is the session id a body carries, in order of preference: the
// metadata's user_id (Claude Code's), a prompt cache key (Codex's), the
// user.
func Session(metadata map[string]string, promptCacheKey, user string) string {
	if v := metadata["user_id"]; v != "" {
		return v
	}
	if promptCacheKey != "" {
		return promptCacheKey
	}
	return user
}

// HasAny reports whether raw contains any of the markers. It is a cheap
// scan, not a parse: good enough for routing features.
func HasAny(raw []byte, markers ...string) bool {
	for _, mk := range markers {
		if bytes.Contains(raw, []byte(mk)) {
			return true
		}
	}
	return false
}

// HasMember reports whether raw contains a member key (at any depth)
// whose value starts with one of values (JSON text, quotes included),
// whatever blanks the JSON's layout puts around the colon. The key is
// searched with its quotes, which text content cannot contain unescaped.
func HasMember(raw []byte, key string, values ...string) bool {
	k := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(raw, k)
		if i < 0 {
			return false
		}
		raw = raw[i+len(k):]
		j := skipBlanks(raw, 0)
		if j < len(raw) && raw[j] == ':' {
			rest := raw[skipBlanks(raw, j+1):]
			for _, v := range values {
				if bytes.HasPrefix(rest, []byte(v)) {
					return true
				}
			}
		}
	}
}

// skipBlanks returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// HasAfter reports whether raw contains prefix immediately followed by one
// of the suffixes: HasAny of every prefix+suffix, in one scan instead of
// one per marker. Scanning is most of what the features of a long agent
// history cost.
func HasAfter(raw []byte, prefix string, suffixes ...string) bool {
	p := []byte(prefix)
	for {
		i := bytes.Index(raw, p)
		if i < 0 {
			return false
		}
		rest := raw[i+len(p):]
		for _, s := range suffixes {
			if bytes.HasPrefix(rest, []byte(s)) {
				return true
			}
		}
		if i == len(raw) {
			return false // an empty prefix, at the end
		}
		raw = raw[i+1:] // not past the prefix: another could overlap it
	}
}

// Guess guesses a request body's protocol, for a body without the door
// it was posted to (`llmgw eval`, the dashboard's playground): gemini when
// it has contents, responses when it has input, anthropic when it has a
// system member, a thinking object or other Anthropic-only fields, or
// max_tokens with messages whose content is a list of text or tool-result
// blocks; else openai. A body that is not a JSON object is openai's.
func Guess(body []byte) llm.Protocol {
	var contents, input, messages, maxTokens, anthropicOnly bool
	var msgs []byte
	err := wirejson.Fields(body, func(k, v []byte) bool {
		switch string(k) {
		case "contents":
			contents = true
		case "input":
			input = true
		case "system", "anthropic_version", "thinking", "stop_sequences", "top_k":
			anthropicOnly = true
		case "max_tokens":
			maxTokens = true
		case "messages":
			messages, msgs = true, v
		}
		return true
	})
	switch {
	case err != nil:
		return llm.ProtocolOpenAI
	case contents:
		return llm.ProtocolGemini
	case input:
		return llm.ProtocolResponses
	case anthropicOnly:
		return llm.ProtocolAnthropic
	case maxTokens && messages && (HasMember(msgs, "type", `"text"`) || HasAny(msgs, `"tool_result"`)):
		var list []struct {
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(msgs, &list) == nil {
			for _, m := range list {
				if strings.HasPrefix(strings.TrimSpace(string(m.Content)), "[") && !HasAny(m.Content, `"image_url"`) {
					return llm.ProtocolAnthropic
				}
			}
		}
	}
	return llm.ProtocolOpenAI
}
