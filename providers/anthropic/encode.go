package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// defaultMaxTokens is the max_tokens sent when the client gave none and
// the model family is unknown: the Messages API requires one, and every
// Claude model accepts this much.
const defaultMaxTokens = 4096

// maxTokensFor is the max_tokens sent when the client gave none: a cap
// every model of the family accepts (Anthropic requires max_tokens;
// OpenAI and Gemini do not).
func maxTokensFor(model string) int {
	switch {
	case strings.Contains(model, "claude-3-5"):
		return 8192
	case strings.Contains(model, "claude-3-7"), strings.Contains(model, "-4"):
		// Claude 3.7 and the 4.x families (sonnet-4, opus-4-1,
		// haiku-4-5, claude-sonnet-4-5…) accept at least 32000.
		if strings.Contains(model, "claude") {
			return 16384
		}
	}
	return defaultMaxTokens
}

// minBudget is the smallest thinking budget the API accepts.
const minBudget = 1024

// budgetForEffort maps an effort onto a thinking budget, the thresholds
// LiteLLM uses, from the API's minimum of 1024 up.
func budgetForEffort(effort string) int {
	switch effort {
	case "minimal", "low":
		return 1024
	case "medium":
		return 2048
	case "high":
		return 4096
	case "xhigh":
		return 8192
	case "max":
		return 16384
	}
	return 2048
}

// EncodeRequest encodes req for an Anthropic upstream. Warnings name what
// the Messages API cannot express and was dropped or adjusted; a feature
// whose loss would change the meaning of the request (audio, a document
// type Claude does not read) is an *llm.Error (400).
func EncodeRequest(req *llm.Request) ([]byte, []string, error) {
	e := &requestEncoder{req: req}
	if raw, ok := req.Extra["n"]; ok && req.ExtraProtocol == llm.ProtocolOpenAI {
		var n int
		if json.Unmarshal(raw, &n) == nil && n > 1 {
			return nil, nil, unsupported("n=%d: Claude returns one completion per request", n)
		}
	}
	out := make(map[string]any, 16)
	for k, v := range req.Extra {
		if req.ExtraProtocol == llm.ProtocolAnthropic {
			out[k] = v
		} else {
			e.warnf("dropped %q: no Messages API equivalent", k)
		}
	}
	out["model"] = req.Model
	msgs, err := e.messages()
	if err != nil {
		return nil, e.warnings, err
	}
	out["messages"] = msgs
	if sys := e.system(); sys != nil {
		out["system"] = sys
	}
	if len(req.Stop) > 0 {
		out["stop_sequences"] = req.Stop
	}
	if tools := e.tools(); len(tools) > 0 {
		out["tools"] = tools
	}
	e.sampling(out)
	if tc := e.toolChoice(); tc != nil {
		out["tool_choice"] = tc
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		e.outputConfig(out)["format"] = map[string]any{"type": "json_schema", "schema": rf.Schema}
	}
	if req.Seed != nil {
		e.warnf("dropped seed: the Messages API has none")
	}
	if req.Stream {
		out["stream"] = true
	}
	if req.User != "" {
		out["metadata"] = map[string]string{"user_id": req.User}
	}
	if !req.NoAutoCache && !placesCacheHints(req) {
		autoCache(out)
	}
	body, err := marshal(out)
	if err != nil {
		return nil, e.warnings, fmt.Errorf("anthropic: encode request: %w", err)
	}
	return body, e.warnings, nil
}

type requestEncoder struct {
	req      *llm.Request
	warnings []string
	seen     map[string]bool
	thinking bool // thinking is on in the encoded request
}

func (e *requestEncoder) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if e.seen[w] {
		return
	}
	if e.seen == nil {
		e.seen = make(map[string]bool)
	}
	e.seen[w] = true
	e.warnings = append(e.warnings, "anthropic: "+w)
}

func (e *requestEncoder) outputConfig(out map[string]any) map[string]any {
	if oc, ok := out["output_config"].(map[string]any); ok {
		return oc
	}
	oc := map[string]any{}
	out["output_config"] = oc
	return oc
}

// system builds the system value: a string, or text blocks when any part
// carries cache_control (kept byte for byte for prompt caching).
func (e *requestEncoder) system() any {
	parts := e.req.System
	if rf := e.req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		e.warnf("response_format json_object has no Messages API equivalent: asked for JSON in the system prompt")
		parts = append(parts[:len(parts):len(parts)], llm.Part{Kind: llm.PartText,
			Text: "Respond with a single valid JSON object and nothing else."})
	}
	var blocks []map[string]any
	cached := false
	for _, p := range parts {
		if p.Kind != llm.PartText || strings.TrimSpace(p.Text) == "" {
			continue
		}
		b := map[string]any{"type": "text", "text": p.Text}
		if p.CacheControl != nil {
			b["cache_control"] = p.CacheControl
			cached = true
		}
		blocks = append(blocks, b)
	}
	switch {
	case len(blocks) == 0:
		return nil
	case len(blocks) == 1 && !cached:
		return blocks[0]["text"]
	}
	return blocks
}

func (e *requestEncoder) tools() []any {
	var out []any
	for _, t := range e.req.Tools {
		if t.Raw != nil {
			if t.RawProtocol == llm.ProtocolAnthropic {
				out = append(out, t.Raw)
			} else {
				e.warnf("dropped tool %q: %s built-in tools have no Messages API equivalent", t.Name, t.RawProtocol)
			}
			continue
		}
		schema := t.Parameters
		if len(schema) == 0 || isNull(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out = append(out, wireTool{Name: t.Name, Description: t.Description, InputSchema: schema,
			CacheControl: t.CacheControl, Strict: t.Strict})
	}
	return out
}

func (e *requestEncoder) toolChoice() any {
	tc, parallel := e.req.ToolChoice, e.req.ParallelToolCalls
	if len(e.req.Tools) == 0 {
		return nil
	}
	w := wireToolChoice{Type: "auto"}
	if tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceNone:
			w.Type = "none"
		case llm.ToolChoiceRequired:
			w.Type = "any"
		case llm.ToolChoiceTool:
			w.Type, w.Name = "tool", tc.Name
		}
	}
	if e.thinking && (w.Type == "any" || w.Type == "tool") {
		e.warnf("tool_choice %s downgraded to auto: Claude cannot force tool use while thinking", w.Type)
		w.Type, w.Name = "auto", ""
	}
	if parallel != nil && !*parallel && w.Type != "none" {
		t := true
		w.DisableParallelToolUse = &t
	}
	if tc == nil && w.DisableParallelToolUse == nil {
		return nil
	}
	return w
}

// sampling sets max_tokens, thinking, temperature, top_p and top_k,
// resolving the API's constraints between them.
func (e *requestEncoder) sampling(out map[string]any) {
	req := e.req
	maxTokens := req.MaxTokens
	budget, adaptive := e.budget()
	switch {
	case budget > 0 && maxTokens == 0:
		maxTokens = max(budget+defaultMaxTokens, maxTokensFor(req.Model))
	case budget > 0 && budget >= maxTokens:
		// The client's cap includes thinking: shrink the budget to fit.
		budget = maxTokens - 1
		if budget < minBudget {
			e.warnf("thinking disabled: max_tokens %d leaves no room for the minimum budget of %d", maxTokens, minBudget)
			budget = 0
		}
	case maxTokens == 0:
		maxTokens = maxTokensFor(req.Model)
	}
	out["max_tokens"] = maxTokens
	switch {
	case budget > 0:
		out["thinking"] = wireThinking{Type: "enabled", BudgetTokens: budget}
		e.thinking = true
	case adaptive:
		out["thinking"] = wireThinking{Type: "adaptive"}
		if r := req.Reasoning; r.Effort != "" {
			e.outputConfig(out)["effort"] = r.Effort
		}
		e.thinking = true
	case req.Reasoning != nil && (req.Reasoning.Disabled || req.Reasoning.Effort == "none"):
		out["thinking"] = wireThinking{Type: "disabled"}
	}
	temp, topP := req.Temperature, req.TopP
	if e.thinking {
		if temp != nil && *temp != 1 {
			e.warnf("dropped temperature: Claude requires the default temperature while thinking")
		}
		temp = nil
		if topP != nil && *topP < 0.95 {
			e.warnf("dropped top_p: Claude accepts top_p below 0.95 only without thinking")
			topP = nil
		}
		if req.TopK != nil {
			e.warnf("dropped top_k: Claude does not accept it while thinking")
		}
	} else if req.TopK != nil {
		out["top_k"] = *req.TopK
	}
	if temp != nil {
		t := *temp
		if t > 1 {
			e.warnf("temperature %g clamped to 1, the Messages API maximum", t)
			t = 1
		}
		out["temperature"] = t
	}
	if topP != nil {
		if temp != nil {
			e.warnf("dropped top_p: newer Claude models reject temperature and top_p together")
		} else {
			out["top_p"] = *topP
		}
	}
}

// budget returns the thinking budget to request (0: no thinking) or
// adaptive thinking. Thinking is turned off when the history cannot
// satisfy it: with thinking on, Anthropic wants the last assistant turn
// with a tool_use to start with a thinking block carrying an Anthropic
// signature, and rejects another provider's.
func (e *requestEncoder) budget() (budget int, adaptive bool) {
	r := e.req.Reasoning
	if r == nil || r.Disabled || r.Effort == "none" {
		return 0, false
	}
	if !e.historyAllowsThinking() {
		e.warnf("thinking disabled: the last assistant tool turn has no Anthropic thinking block to replay")
		return 0, false
	}
	switch {
	case r.BudgetTokens < 0:
		return 0, true
	case r.BudgetTokens > 0:
		return max(r.BudgetTokens, minBudget), false
	}
	return budgetForEffort(r.Effort), false
}

// historyAllowsThinking reports whether the last assistant turn, when it
// calls tools, starts with a thinking block Anthropic issued, as the API
// requires with thinking on.
func (e *requestEncoder) historyAllowsThinking() bool {
	msgs := e.req.Messages
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		hasCall := false
		for _, p := range m.Parts {
			hasCall = hasCall || p.Kind == llm.PartToolCall
		}
		if !hasCall {
			return true
		}
		for _, p := range m.Parts {
			if keepThinking(p) {
				return true
			}
			if p.Kind != llm.PartThinking && p.Kind != llm.PartRedactedThinking {
				return false
			}
		}
		return false
	}
	return true
}

// keepThinking reports whether a thinking part may be sent to Anthropic:
// only Anthropic's own signed blocks are.
func keepThinking(p llm.Part) bool {
	switch p.Kind {
	case llm.PartThinking:
		return p.SignatureProtocol == llm.ProtocolAnthropic && p.Signature != ""
	case llm.PartRedactedThinking:
		return p.SignatureProtocol == llm.ProtocolAnthropic && p.Data != ""
	}
	return false
}

// turn is one message being built.
type turn struct {
	role  string
	parts []llm.Part
}

// messages builds the messages array: consecutive same-role turns merged,
// a user turn first, every tool_use answered in the next user turn with
// tool_result blocks first, orphan results turned into text.
func (e *requestEncoder) messages() ([]any, error) {
	var turns []turn
	for _, m := range e.req.Messages {
		role, parts, err := e.filter(m)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].parts = append(turns[n-1].parts, parts...)
			continue
		}
		turns = append(turns, turn{role: role, parts: parts})
	}
	if len(turns) > 0 && turns[0].role == "assistant" {
		turns = append([]turn{{role: "user", parts: []llm.Part{{Kind: llm.PartText, Text: "..."}}}}, turns...)
	}
	pairToolResults(turns)
	out := make([]any, 0, len(turns))
	for _, t := range turns {
		blocks := make([]any, 0, len(t.parts))
		for _, p := range t.parts {
			b, err := encodeBlock(p)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, b)
		}
		out = append(out, map[string]any{"role": t.role, "content": blocks})
	}
	return out, nil
}

// filter maps a message onto an Anthropic role and the parts Anthropic
// takes: no empty text, no foreign thinking.
func (e *requestEncoder) filter(m llm.Message) (string, []llm.Part, error) {
	role := "user"
	if m.Role == llm.RoleAssistant {
		role = "assistant"
	}
	parts := make([]llm.Part, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			if strings.TrimSpace(p.Text) == "" {
				continue // Anthropic rejects empty and blank text blocks
			}
			p.Kind = llm.PartText
			if m.Role == llm.RoleSystem {
				p.Text = "<system-reminder>\n" + p.Text + "\n</system-reminder>"
			}
		case llm.PartThinking, llm.PartRedactedThinking:
			if !keepThinking(p) {
				continue // provider-bound: foreign or unsigned thinking is dropped
			}
		case llm.PartAudio:
			return "", nil, unsupported("audio input cannot be sent to Claude")
		case llm.PartImage:
			if p.Data != "" && !anthropicImageType(p.MediaType) {
				return "", nil, unsupported("image type %q is not supported by Claude (jpeg, png, gif and webp are)", p.MediaType)
			}
		case llm.PartDocument:
			if p.Data != "" && p.MediaType != "application/pdf" && !strings.HasPrefix(p.MediaType, "text/") {
				return "", nil, unsupported("document type %q is not supported by Claude (PDF and plain text are)", p.MediaType)
			}
		}
		parts = append(parts, p)
	}
	return role, parts, nil
}

func anthropicImageType(mt string) bool {
	switch mt {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

// pairToolResults makes every tool_use of an assistant turn answered by a
// tool_result at the start of the next user turn, as Anthropic requires
// (it answers anything else with a 400): results that answer no call
// become text, calls with no result get an error result. It is
// llm.PairToolResults's rule applied after same-role turns are merged and
// ids sanitized, because two ids that sanitize alike must not both answer
// one tool_use.
func pairToolResults(turns []turn) {
	for i := range turns {
		if turns[i].role != "user" {
			continue
		}
		calls := map[string]bool{}
		var order []string
		if i > 0 {
			for _, p := range turns[i-1].parts {
				if p.Kind == llm.PartToolCall {
					id := sanitizeID(p.ToolCallID)
					calls[id] = true
					order = append(order, id)
				}
			}
		}
		var results, rest []llm.Part
		answered := map[string]bool{}
		for _, p := range turns[i].parts {
			if p.Kind != llm.PartToolResult {
				rest = append(rest, p)
				continue
			}
			if id := sanitizeID(p.ToolCallID); calls[id] && !answered[id] {
				answered[id] = true
				results = append(results, p)
				continue
			}
			rest = append(rest, llm.OrphanResultText(p))
		}
		for _, id := range order {
			if !answered[id] {
				results = append(results, llm.Part{Kind: llm.PartToolResult, ToolCallID: id, IsError: true,
					Content: []llm.Part{{Kind: llm.PartText, Text: llm.UnexecutedResult}}})
			}
		}
		turns[i].parts = append(results, rest...)
	}
}

// sanitizeID maps a tool call id onto Anthropic's ^[a-zA-Z0-9_-]+$,
// deterministically, so that a call and its result stay paired.
func sanitizeID(id string) string {
	if id == "" {
		return "toolu_empty"
	}
	ok := true
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			ok = false
			break
		}
	}
	if ok {
		return id
	}
	b := []byte(id)
	for i := range b {
		if !idChar(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// encodeBlock converts a part the filter kept into a request block.
func encodeBlock(p llm.Part) (map[string]any, error) {
	b := map[string]any{}
	switch p.Kind {
	case llm.PartText:
		b["type"], b["text"] = "text", p.Text
	case llm.PartImage, llm.PartDocument:
		b["type"] = "image"
		if p.Kind == llm.PartDocument {
			b["type"] = "document"
			if p.Name != "" {
				b["title"] = p.Name
			}
		}
		b["source"] = mediaSource(p)
	case llm.PartToolCall:
		b["type"], b["id"], b["name"] = "tool_use", sanitizeID(p.ToolCallID), p.ToolName
		b["input"] = objectArguments(p.Arguments)
	case llm.PartToolResult:
		b["type"], b["tool_use_id"] = "tool_result", sanitizeID(p.ToolCallID)
		if p.IsError {
			b["is_error"] = true
		}
		var content []map[string]any
		for _, c := range p.Content {
			switch c.Kind {
			case llm.PartText, llm.PartImage, llm.PartDocument:
				if c.Kind == llm.PartText && strings.TrimSpace(c.Text) == "" {
					continue
				}
				cb, err := encodeBlock(c)
				if err != nil {
					return nil, err
				}
				content = append(content, cb)
			}
		}
		if len(content) > 0 {
			b["content"] = content
		}
	case llm.PartThinking:
		b["type"], b["thinking"], b["signature"] = "thinking", p.Text, p.Signature
	case llm.PartRedactedThinking:
		b["type"], b["data"] = "redacted_thinking", p.Data
	}
	if p.CacheControl != nil {
		b["cache_control"] = p.CacheControl
	}
	return b, nil
}

func mediaSource(p llm.Part) wireSource {
	switch {
	case p.Data == "":
		return wireSource{Type: "url", URL: p.URL}
	case p.Kind == llm.PartDocument && strings.HasPrefix(p.MediaType, "text/"):
		text, err := base64.StdEncoding.DecodeString(p.Data)
		if err != nil {
			text = []byte(p.Data)
		}
		return wireSource{Type: "text", MediaType: "text/plain", Data: string(text)}
	}
	return wireSource{Type: "base64", MediaType: p.MediaType, Data: p.Data}
}
