package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// sessionHeaders are the headers clients carry a session id in, in order
// of preference: Claude Code, Codex (session, then thread), generic.
var sessionHeaders = []string{"x-claude-code-session-id", "session-id", "thread-id", "x-session-id"}

// RequestFromBody extracts the routing features of a request body in the
// given protocol (openai, responses, anthropic or gemini; "" guesses with
// GuessProtocol). headers are the request headers with lower-case names
// (credentials redacted); they are kept as req.headers and searched for a
// session id. It reads only what routing needs and never validates: an
// unknown field is ignored, a body that is not a JSON object is an error.
// Key is left empty: the gateway sets it after authentication. For Gemini
// the model is in the URL, so Model stays empty unless the body names one.
func RequestFromBody(protocol string, body []byte, headers map[string]string) (*Request, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("engine: request body: %w", err)
	}
	if m == nil {
		return nil, errors.New("engine: request body: not a JSON object")
	}
	if protocol == "" {
		protocol = guess(m)
	}
	r := &Request{Protocol: protocol, Headers: headers, InputTokensEstimate: len(body) / 4}
	r.Model = jsonString(m["model"])
	r.Stream = jsonBool(m["stream"])
	var meta map[string]any
	_ = json.Unmarshal(m["metadata"], &meta)
	if len(meta) > 0 {
		r.Metadata = make(map[string]string, len(meta))
		for k, v := range meta {
			if s, ok := v.(string); ok {
				r.Metadata[k] = s
			} else if b, err := json.Marshal(v); err == nil {
				r.Metadata[k] = string(b)
			}
		}
	}
	switch protocol {
	case "anthropic":
		r.User = r.Metadata["user_id"]
		r.MaxOutputTokens = jsonInt(m["max_tokens"])
		r.HasTools = nonEmpty(m["tools"])
		r.HasThinking = thinkingOn(m["thinking"])
		r.HasImages = hasAny(m["messages"], `"type":"image"`, `"type": "image"`, `"type":"document"`)
	case "responses":
		r.User = jsonString(m["user"])
		r.MaxOutputTokens = jsonInt(m["max_output_tokens"])
		r.HasTools = nonEmpty(m["tools"])
		r.HasThinking = nonEmpty(m["reasoning"])
		r.HasImages = hasAny(m["input"], `"input_image"`, `"input_file"`)
	case "gemini":
		var gc struct {
			MaxOutputTokens int `json:"maxOutputTokens"`
			ThinkingConfig  *struct {
				ThinkingBudget *int `json:"thinkingBudget"`
			} `json:"thinkingConfig"`
		}
		_ = json.Unmarshal(firstOf(m, "generationConfig", "generation_config"), &gc)
		r.MaxOutputTokens = gc.MaxOutputTokens
		r.HasThinking = gc.ThinkingConfig != nil && (gc.ThinkingConfig.ThinkingBudget == nil || *gc.ThinkingConfig.ThinkingBudget != 0)
		r.HasTools = nonEmpty(m["tools"])
		r.HasImages = hasAny(m["contents"], `"inlineData"`, `"inline_data"`, `"fileData"`, `"file_data"`)
	default: // openai chat completions
		r.User = jsonString(m["user"])
		r.MaxOutputTokens = jsonInt(m["max_completion_tokens"])
		if r.MaxOutputTokens == 0 {
			r.MaxOutputTokens = jsonInt(m["max_tokens"])
		}
		r.HasTools = nonEmpty(m["tools"]) || nonEmpty(m["functions"])
		r.HasThinking = jsonString(m["reasoning_effort"]) != "" && jsonString(m["reasoning_effort"]) != "none"
		r.HasImages = hasAny(m["messages"], `"image_url"`, `"input_audio"`, `"type":"file"`)
	}
	r.Session = session(headers, r, m)
	return r, nil
}

// GuessProtocol guesses a request body's protocol: gemini when it has
// contents, responses when it has input, anthropic when it has a system
// string or block list, max_tokens with messages whose content is a list
// of blocks, or other Anthropic-only fields; else openai.
func GuessProtocol(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return "openai"
	}
	return guess(m)
}

func guess(m map[string]json.RawMessage) string {
	switch {
	case m["contents"] != nil:
		return "gemini"
	case m["input"] != nil:
		return "responses"
	case m["system"] != nil, m["anthropic_version"] != nil, m["thinking"] != nil,
		m["stop_sequences"] != nil, m["top_k"] != nil:
		return "anthropic"
	case m["max_tokens"] != nil && m["messages"] != nil && hasAny(m["messages"], `"type":"text"`, `"type": "text"`, `"tool_result"`):
		var msgs []struct {
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(m["messages"], &msgs) == nil {
			for _, msg := range msgs {
				if strings.HasPrefix(strings.TrimSpace(string(msg.Content)), "[") && !hasAny(msg.Content, `"image_url"`) {
					return "anthropic"
				}
			}
		}
	}
	return "openai"
}

// session finds a session id: the session headers, then Anthropic
// metadata.user_id, OpenAI prompt_cache_key, then user.
func session(headers map[string]string, r *Request, m map[string]json.RawMessage) string {
	for _, h := range sessionHeaders {
		if v := headers[h]; v != "" {
			return v
		}
	}
	if v := r.Metadata["user_id"]; v != "" {
		return v
	}
	if v := jsonString(m["prompt_cache_key"]); v != "" {
		return v
	}
	return r.User
}

func firstOf(m map[string]json.RawMessage, keys ...string) json.RawMessage {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func jsonBool(raw json.RawMessage) bool {
	var b bool
	return json.Unmarshal(raw, &b) == nil && b
}

func jsonInt(raw json.RawMessage) int {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f > 1<<31 {
		return 0
	}
	return int(f)
}

// nonEmpty reports whether raw is present and not null, [], {} or "".
func nonEmpty(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "[]", "{}", `""`, "false":
		return false
	}
	return true
}

// thinkingOn reports whether an Anthropic thinking object enables it.
func thinkingOn(raw json.RawMessage) bool {
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &t) != nil {
		return false
	}
	return t.Type != "" && t.Type != "disabled"
}

// hasAny reports whether raw contains any of the markers. It is a cheap
// scan, not a parse: good enough for routing features.
func hasAny(raw json.RawMessage, markers ...string) bool {
	s := string(raw)
	for _, mk := range markers {
		if strings.Contains(s, mk) {
			return true
		}
	}
	return false
}
