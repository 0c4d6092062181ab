package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/internal/wirejson"
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
	var f BodyFields
	if err := wirejson.Fields(body, f.Take); err != nil {
		return nil, fmt.Errorf("engine: request body: %w", err)
	}
	return f.Request(protocol, len(body), headers), nil
}

// BodyFields collects the routing features of a request body from its
// top-level members, for a caller that walks the body itself: the gateway
// checks a body and collects its features in one pass of
// wirejson.Fields, feeding Take, then calls Request. The zero value is
// ready. It keeps sub-slices of the body, which must outlive it.
type BodyFields struct {
	f topFields
}

// Take records one top-level member; it has wirejson.Fields' callback
// signature and always asks for more.
func (b *BodyFields) Take(key, value []byte) bool { return b.f.take(key, value) }

// Request builds the routing features from the members taken, as
// RequestFromBody documents; bodyLen is the body's length in bytes.
func (b *BodyFields) Request(protocol string, bodyLen int, headers map[string]string) *Request {
	f := &b.f
	if protocol == "" {
		protocol = f.guess()
	}
	r := &Request{Protocol: protocol, Headers: headers, InputTokensEstimate: bodyLen / 4}
	r.Model = jsonString(f.model)
	r.Stream = jsonBool(f.stream)
	if len(f.metadata) > 2 && f.metadata[0] == '{' {
		r.Metadata = metadata(f.metadata)
	}
	switch protocol {
	case "anthropic":
		r.User = r.Metadata["user_id"]
		r.MaxOutputTokens = jsonInt(f.maxTokens)
		r.HasTools = nonEmpty(f.tools)
		r.HasThinking = thinkingOn(f.thinking)
		r.HasImages = hasMember(f.messages, "type", `"image"`, `"document"`)
	case "responses":
		r.User = jsonString(f.user)
		r.MaxOutputTokens = jsonInt(f.maxOutputTokens)
		r.HasTools = nonEmpty(f.tools)
		r.HasThinking = nonEmpty(f.reasoning)
		r.HasImages = hasAfter(f.input, `"input_`, `image"`, `file"`)
	case "gemini":
		if len(f.generationConfig) > 0 {
			var gc struct {
				MaxOutputTokens int `json:"maxOutputTokens"`
				ThinkingConfig  *struct {
					ThinkingBudget *int `json:"thinkingBudget"`
				} `json:"thinkingConfig"`
			}
			_ = json.Unmarshal(f.generationConfig, &gc)
			r.MaxOutputTokens = gc.MaxOutputTokens
			r.HasThinking = gc.ThinkingConfig != nil && (gc.ThinkingConfig.ThinkingBudget == nil || *gc.ThinkingConfig.ThinkingBudget != 0)
		}
		r.HasTools = nonEmpty(f.tools)
		r.HasImages = hasAfter(f.contents, `"inline`, `Data"`, `_data"`) || hasAfter(f.contents, `"file`, `Data"`, `_data"`)
	default: // openai chat completions
		r.User = jsonString(f.user)
		r.MaxOutputTokens = jsonInt(f.maxCompletionTokens)
		if r.MaxOutputTokens == 0 {
			r.MaxOutputTokens = jsonInt(f.maxTokens)
		}
		r.HasTools = nonEmpty(f.tools) || nonEmpty(f.functions)
		effort := jsonString(f.reasoningEffort)
		r.HasThinking = effort != "" && effort != "none"
		r.HasImages = hasAny(f.messages, `"image_url"`, `"input_audio"`) || hasMember(f.messages, "type", `"file"`)
	}
	r.Session = session(headers, r, f.promptCacheKey)
	return r
}

// metadata reads a metadata object: string values as they are, others as
// compact JSON.
func metadata(raw []byte) map[string]string {
	m := map[string]string{}
	_ = wirejson.Fields(raw, func(k, v []byte) bool {
		if len(v) > 0 && v[0] == '"' {
			m[string(k)] = jsonString(v)
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

// topFields holds the raw values (sub-slices of the body, not copies) of
// the top-level members routing reads, from one pass of the scanner.
type topFields struct {
	model, stream, metadata, user, promptCacheKey          []byte
	maxTokens, maxCompletionTokens, maxOutputTokens        []byte
	tools, functions, thinking, reasoning, reasoningEffort []byte
	messages, input, contents, generationConfig            []byte
	system, anthropicVersion, stopSequences, topK          []byte
}

// take records one member; like encoding/json, a later duplicate wins.
func (f *topFields) take(key, v []byte) bool {
	switch string(key) {
	case "model":
		f.model = v
	case "stream":
		f.stream = v
	case "metadata":
		f.metadata = v
	case "user":
		f.user = v
	case "prompt_cache_key":
		f.promptCacheKey = v
	case "max_tokens":
		f.maxTokens = v
	case "max_completion_tokens":
		f.maxCompletionTokens = v
	case "max_output_tokens":
		f.maxOutputTokens = v
	case "tools":
		f.tools = v
	case "functions":
		f.functions = v
	case "thinking":
		f.thinking = v
	case "reasoning":
		f.reasoning = v
	case "reasoning_effort":
		f.reasoningEffort = v
	case "messages":
		f.messages = v
	case "input":
		f.input = v
	case "contents":
		f.contents = v
	case "generationConfig":
		f.generationConfig = v
	case "generation_config":
		if f.generationConfig == nil {
			f.generationConfig = v
		}
	case "system":
		f.system = v
	case "anthropic_version":
		f.anthropicVersion = v
	case "stop_sequences":
		f.stopSequences = v
	case "top_k":
		f.topK = v
	}
	return true
}

// GuessProtocol guesses a request body's protocol: gemini when it has
// contents, responses when it has input, anthropic when it has a system
// string or block list, max_tokens with messages whose content is a list
// of blocks, or other Anthropic-only fields; else openai.
func GuessProtocol(body []byte) string {
	var f topFields
	if wirejson.Fields(body, f.take) != nil {
		return "openai"
	}
	return f.guess()
}

func (f *topFields) guess() string {
	switch {
	case f.contents != nil:
		return "gemini"
	case f.input != nil:
		return "responses"
	case f.system != nil, f.anthropicVersion != nil, f.thinking != nil,
		f.stopSequences != nil, f.topK != nil:
		return "anthropic"
	case f.maxTokens != nil && f.messages != nil && (hasMember(f.messages, "type", `"text"`) || hasAny(f.messages, `"tool_result"`)):
		var msgs []struct {
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(f.messages, &msgs) == nil {
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
func session(headers map[string]string, r *Request, promptCacheKey []byte) string {
	for _, h := range sessionHeaders {
		if v := headers[h]; v != "" {
			return v
		}
	}
	if v := r.Metadata["user_id"]; v != "" {
		return v
	}
	if v := jsonString(promptCacheKey); v != "" {
		return v
	}
	return r.User
}

// jsonString returns raw as a string, "" when it is not one. Strings
// without escapes (nearly all model names) are sliced, not decoded.
func jsonString(raw []byte) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonBool reports whether raw (checked JSON) is true.
func jsonBool(raw []byte) bool { return string(raw) == "true" }

// jsonInt returns raw as a non-negative int, 0 when it is not one.
func jsonInt(raw []byte) int {
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

// nonEmpty reports whether raw is present and not null, [], {} or "".
func nonEmpty(raw []byte) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "[]", "{}", `""`, "false":
		return false
	}
	return true
}

// thinkingOn reports whether an Anthropic thinking object enables it.
func thinkingOn(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
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
func hasAny(raw []byte, markers ...string) bool {
	for _, mk := range markers {
		if bytes.Contains(raw, []byte(mk)) {
			return true
		}
	}
	return false
}

// hasMember reports whether raw contains a member key (at any depth)
// whose value starts with one of values (JSON text, quotes included),
// whatever blanks the JSON's layout puts around the colon. The key is
// searched with its quotes, which text content cannot contain unescaped.
func hasMember(raw []byte, key string, values ...string) bool {
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

// hasAfter reports whether raw contains prefix immediately followed by one
// of the suffixes: hasAny of every prefix+suffix, in one scan instead of
// one per marker. Scanning is most of what the features of a long agent
// history cost.
func hasAfter(raw []byte, prefix string, suffixes ...string) bool {
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
