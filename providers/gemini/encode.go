package gemini

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// maxStopSequences is Gemini's limit on generationConfig.stopSequences.
const maxStopSequences = 5

// EncodeRequest converts a neutral request into a Gemini generateContent
// body for an upstream. The model and streaming go in the URL (see
// ParseModelAction), not in the body. Warnings name what was dropped; an
// *llm.Error (400) reports what Gemini cannot express at all.
func EncodeRequest(req *llm.Request) ([]byte, []string, error) {
	e := &requestEncoder{req: req, names: map[string]string{}}
	wr := generateRequest{}
	wr.SystemInstruction = e.system()
	wr.Contents = e.contents()
	wr.Tools, wr.ToolConfig = e.tools()
	wr.GenerationConfig = e.generation()
	extra := e.extra(&wr)
	if e.err != nil {
		return nil, e.warnings, e.err
	}
	body, err := marshalWithExtra(wr, extra, e.genExtra)
	if err != nil {
		return nil, e.warnings, fmt.Errorf("gemini: encode request: %w", err)
	}
	return body, e.warnings, nil
}

type requestEncoder struct {
	req      *llm.Request
	names    map[string]string // tool call id → function name
	warnings []string
	err      error
	dropped  map[string]int
	rawTools []json.RawMessage          // Gemini built-in tools, forwarded
	genExtra map[string]json.RawMessage // generationConfig fields to add
}

func (e *requestEncoder) warn(format string, args ...any) {
	e.warnings = append(e.warnings, "gemini: "+fmt.Sprintf(format, args...))
}

// drop counts a dropped kind of content, reported once by flushDrops.
func (e *requestEncoder) drop(what string) {
	if e.dropped == nil {
		e.dropped = map[string]int{}
	}
	e.dropped[what]++
}

func (e *requestEncoder) system() *content {
	var parts []part
	for _, p := range e.req.System {
		if p.Kind == llm.PartText && p.Text != "" {
			parts = append(parts, textPart(p.Text))
		}
	}
	// Gemini has no mid-conversation system slot: hoist, keeping order.
	for _, m := range e.req.Messages {
		if m.Role != llm.RoleSystem {
			continue
		}
		for _, p := range m.Parts {
			if p.Kind == llm.PartText && p.Text != "" {
				parts = append(parts, textPart(p.Text))
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &content{Parts: parts}
}

func textPart(s string) part { return part{Text: &s} }

func (e *requestEncoder) contents() []content {
	var out []content
	// Each model turn's functionCalls need their functionResponses in the
	// next turn, one per call, in the calls' order.
	for _, m := range llm.PairToolResults(e.req.Messages) {
		role := "user"
		switch m.Role {
		case llm.RoleSystem:
			continue
		case llm.RoleAssistant:
			role = "model"
		}
		var parts []part
		for _, p := range foldCallSignatures(m.Parts) {
			parts = append(parts, e.part(p, role)...)
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Parts = append(out[n-1].Parts, parts...)
		} else {
			out = append(out, content{Role: role, Parts: parts})
		}
	}
	for i := range out {
		if out[i].Role == "model" {
			signSteps(out[i].Parts)
		} else if i > 0 && out[i-1].Role == "model" {
			orderResponses(out[i].Parts, out[i-1].Parts)
		}
	}
	kinds := make([]string, 0, len(e.dropped))
	for what := range e.dropped {
		kinds = append(kinds, what)
	}
	sort.Strings(kinds)
	for _, what := range kinds {
		e.warn("dropped %d %s", e.dropped[what], what)
	}
	return out
}

// signSteps gives the first functionCall of a model turn the skip
// sentinel when no Gemini signature is present on it: Gemini 3 rejects
// unsigned calls in the current turn, and a call another provider made
// has no signature Gemini would accept.
func signSteps(parts []part) {
	for i := range parts {
		if parts[i].FunctionCall != nil {
			if parts[i].ThoughtSignature == "" {
				parts[i].ThoughtSignature = SkipSignatureSentinel
			}
			return
		}
	}
}

// orderResponses sorts the functionResponse parts of a user turn into the
// order of the calls in the model turn before it, as Gemini requires;
// other parts follow them. A response finds its call by the request's own
// call id (part.callID), else by the id and name sent to Gemini.
func orderResponses(parts, calls []part) {
	byCall, byWire := map[string]int{}, map[string]int{}
	for i, c := range calls {
		if c.FunctionCall == nil {
			continue
		}
		if _, dup := byCall[c.callID]; c.callID != "" && !dup {
			byCall[c.callID] = i
		}
		byWire[c.FunctionCall.ID+"\x00"+c.FunctionCall.Name] = i
	}
	rank := func(p part) int {
		if p.FunctionResponse == nil {
			return len(calls) + 1
		}
		if i, ok := byCall[p.callID]; ok && p.callID != "" {
			return i
		}
		if i, ok := byWire[p.FunctionResponse.ID+"\x00"+p.FunctionResponse.Name]; ok {
			return i
		}
		return len(calls)
	}
	sort.SliceStable(parts, func(i, j int) bool { return rank(parts[i]) < rank(parts[j]) })
}

func (e *requestEncoder) part(p llm.Part, role string) []part {
	switch p.Kind {
	case llm.PartText, llm.PartRefusal:
		if p.Text == "" && p.SignatureProtocol != llm.ProtocolGemini {
			return nil
		}
		out := textPart(p.Text)
		out.ThoughtSignature = e.ownSignature(p)
		return []part{out}
	case llm.PartThinking:
		if p.Signature == "" && p.Text != "" {
			// Unsigned text (a summary a client shows and replays, an
			// Anthropic client's copy of Gemini's thoughts): nothing to
			// continue, as for Claude and OpenAI.
			return nil
		}
		if p.SignatureProtocol != llm.ProtocolGemini {
			e.drop("thinking blocks from another provider")
			return nil
		}
		out := textPart(p.Text)
		out.Thought, out.ThoughtSignature = true, p.Signature
		return []part{out}
	case llm.PartRedactedThinking:
		e.drop("redacted thinking blocks")
		return nil
	case llm.PartImage, llm.PartDocument, llm.PartAudio:
		return e.media(p)
	case llm.PartToolCall:
		e.names[p.ToolCallID] = p.ToolName
		fc := &functionCall{ID: geminiID(p.ToolCallID), Name: llm.ShortToolName(p.ToolName), Args: argsObject(p.Arguments)}
		return []part{{FunctionCall: fc, ThoughtSignature: e.ownSignature(p), callID: p.ToolCallID}}
	case llm.PartToolResult:
		return e.toolResult(p)
	}
	e.drop(string(p.Kind) + " parts")
	return nil
}

func (e *requestEncoder) ownSignature(p llm.Part) string {
	if p.SignatureProtocol == llm.ProtocolGemini {
		return p.Signature
	}
	return ""
}

// geminiID returns the id to send for a tool call: ids this package
// synthesized for id-less Gemini 2.x calls are left out; every other id
// (Gemini 3's own, or another provider's) is sent so that Gemini 3 can
// match functionResponse.id with functionCall.id.
func geminiID(id string) string {
	if strings.HasPrefix(id, syntheticIDPrefix) {
		return ""
	}
	return id
}

func (e *requestEncoder) media(p llm.Part) []part {
	if p.Data != "" {
		return []part{{InlineData: &blob{MimeType: p.MediaType, Data: p.Data}}}
	}
	if p.URL == "" {
		e.drop("empty media parts")
		return nil
	}
	if mt, data, ok := llm.ParseDataURL(p.URL); ok {
		return []part{{InlineData: &blob{MimeType: mt, Data: data}}}
	}
	mt := p.MediaType
	if mt == "" {
		mt = mimeFromExt(p.URL)
	}
	if !strings.HasPrefix(p.URL, "https://generativelanguage.googleapis.com/") && !strings.Contains(p.URL, "youtube.com/") && !strings.HasPrefix(p.URL, "gs://") {
		e.warn("remote URL %q sent as fileData: the Gemini Developer API only fetches Files API and YouTube URIs", truncate(p.URL, 80))
	}
	return []part{{FileData: &fileData{MimeType: mt, FileURI: p.URL}}}
}

func (e *requestEncoder) toolResult(p llm.Part) []part {
	name := p.ToolName
	if name == "" {
		name = e.names[p.ToolCallID]
	}
	if name == "" {
		// Gemini requires the function name; without the call it is an
		// orphan, which only plain text can carry.
		return []part{textPart("Tool result: " + resultText(p.Content))}
	}
	fr := &functionResponse{ID: geminiID(p.ToolCallID), Name: llm.ShortToolName(name)}
	text := resultText(p.Content)
	key := "result"
	if p.IsError {
		key = "error"
	}
	if !p.IsError && isJSONObject(text) {
		fr.Response = json.RawMessage(text)
	} else {
		fr.Response, _ = json.Marshal(map[string]string{key: text})
	}
	out := []part{{FunctionResponse: fr, callID: p.ToolCallID}}
	for _, c := range p.Content {
		if c.Kind != llm.PartText {
			out = append(out, e.media(c)...)
		}
	}
	return out
}

func resultText(parts []llm.Part) string {
	var b strings.Builder
	for _, c := range parts {
		if c.Kind == llm.PartText {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

func isJSONObject(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") && json.Valid([]byte(s))
}

// argsObject returns tool call arguments as a JSON object, tolerating the
// truncated or empty argument strings some upstreams produce.
func argsObject(raw json.RawMessage) json.RawMessage {
	if isJSONObject(string(raw)) {
		return raw
	}
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return json.RawMessage("{}")
	}
	out, _ := json.Marshal(map[string]string{"raw_input": s})
	return out
}

func (e *requestEncoder) tools() ([]tool, *toolConfig) {
	var decls []functionDeclaration
	var raw []json.RawMessage
	for _, t := range e.req.Tools {
		if len(t.Raw) > 0 && !t.FreeForm {
			if t.RawProtocol == llm.ProtocolGemini {
				raw = append(raw, t.Raw)
			} else {
				e.warn("dropped %s tool %q: no Gemini equivalent", t.RawProtocol, t.Name)
			}
			continue
		}
		fd := functionDeclaration{Name: llm.ShortToolName(t.Name), Description: t.Description}
		if len(t.Parameters) > 0 {
			if needsJSONSchema(t.Parameters) {
				fd.ParametersJSONSchema = stripSchemaKey(t.Parameters)
			} else {
				fd.Parameters = sanitizeSchema(t.Parameters)
			}
		}
		decls = append(decls, fd)
	}
	var tools []tool
	if len(decls) > 0 {
		tools = append(tools, tool{FunctionDeclarations: decls})
	}
	e.rawTools = raw
	if e.req.ParallelToolCalls != nil && !*e.req.ParallelToolCalls {
		e.warn("dropped parallel_tool_calls=false: Gemini cannot forbid parallel calls")
	}
	tc := e.req.ToolChoice
	if tc == nil || len(decls) == 0 {
		return tools, nil
	}
	fcc := &functionCallingConfig{}
	switch tc.Mode {
	case llm.ToolChoiceNone:
		fcc.Mode = "NONE"
	case llm.ToolChoiceRequired:
		fcc.Mode = "ANY"
	case llm.ToolChoiceTool:
		fcc.Mode, fcc.AllowedFunctionNames = "ANY", []string{llm.ShortToolName(tc.Name)}
	default:
		fcc.Mode = "AUTO"
	}
	return tools, &toolConfig{FunctionCallingConfig: fcc}
}

func (e *requestEncoder) generation() *generationConfig {
	r := e.req
	g := &generationConfig{Temperature: r.Temperature, TopP: r.TopP, MaxOutputTokens: r.MaxTokens, Seed: r.Seed}
	if r.TopK != nil {
		k := float64(*r.TopK)
		g.TopK = &k
	}
	g.StopSequences = r.Stop
	if len(r.Stop) > maxStopSequences {
		e.warn("kept the first %d of %d stop sequences", maxStopSequences, len(r.Stop))
		g.StopSequences = r.Stop[:maxStopSequences]
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			g.ResponseMimeType = "application/json"
		case "json_schema":
			g.ResponseMimeType = "application/json"
			if len(rf.Schema) > 0 {
				g.ResponseJSONSchema = stripSchemaKey(rf.Schema)
			}
		}
	}
	g.ThinkingConfig = e.thinking()
	if g.Temperature == nil && g.TopP == nil && g.TopK == nil && g.MaxOutputTokens == 0 && len(g.StopSequences) == 0 &&
		g.Seed == nil && g.ResponseMimeType == "" && g.ThinkingConfig == nil {
		return nil
	}
	return g
}

func (e *requestEncoder) thinking() *thinkingConfig {
	rs := e.req.Reasoning
	if rs == nil {
		return nil
	}
	f := modelFamily(e.req.Model)
	tc := &thinkingConfig{IncludeThoughts: rs.IncludeThoughts}
	effort := rs.Effort
	if rs.Disabled {
		effort = "none"
	}
	switch {
	case f == family3 && effort != "":
		tc.ThinkingLevel = strings.ToUpper(levelForEffort(effort, e.req.Model))
	case f == family3 && rs.BudgetTokens > 0:
		tc.ThinkingLevel = strings.ToUpper(levelForEffort(EffortForBudget(rs.BudgetTokens), e.req.Model))
	case rs.BudgetTokens != 0 && !rs.Disabled:
		b := rs.BudgetTokens
		if b > 0 {
			b = clampBudget(b, f)
		}
		tc.ThinkingBudget = &b
	case effort != "":
		b, ok := budgetForEffort(effort, f)
		if !ok {
			e.warn("dropped unknown reasoning effort %q", effort)
			break
		}
		tc.ThinkingBudget = &b
	}
	if *tc == (thinkingConfig{}) {
		return nil
	}
	return tc
}

// openAIExtras are fields of the OpenAI wires that Gemini knows under
// another name; harmless ones are dropped without a warning.
var (
	openAIExtras = map[string]string{"presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty"}
	silentExtras = map[string]bool{
		"store": true, "include": true, "stream_options": true, "prompt_cache_key": true,
		"metadata": true, "client_metadata": true, "truncation": true, "anthropic_beta": true,
	}
)

// extra returns the top-level fields to add to the body: Gemini's own
// unmapped fields, and the few foreign ones Gemini knows by another name.
func (e *requestEncoder) extra(wr *generateRequest) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, t := range e.rawTools {
		out["tools"] = appendRawList(out["tools"], t)
	}
	if len(out["tools"]) > 0 {
		for _, t := range wr.Tools {
			b, _ := json.Marshal(t)
			out["tools"] = appendRawList(out["tools"], b)
		}
	}
	switch {
	case e.req.ExtraProtocol == llm.ProtocolGemini:
		for k, v := range e.req.Extra {
			if k == "candidateCount" {
				e.mergeGeneration(wr, map[string]json.RawMessage{k: v})
				continue
			}
			if k == "generationConfig" {
				var m map[string]json.RawMessage
				if json.Unmarshal(v, &m) == nil {
					e.mergeGeneration(wr, m)
				}
				continue
			}
			out[k] = v
		}
	default:
		gen := map[string]json.RawMessage{}
		var dropped []string
		for k, v := range e.req.Extra {
			switch {
			case k == "n" && string(v) != "1":
				e.err = llm.Errorf(400, llm.ErrInvalidRequest, "gemini: n=%s (several choices) is not supported when converting to Gemini", v)
			case openAIExtras[k] != "":
				gen[openAIExtras[k]] = v
			case k == "previous_response_id":
				e.err = llm.Errorf(400, llm.ErrInvalidRequest, "gemini: previous_response_id needs an OpenAI upstream that stored the response; send the full input instead")
			case !silentExtras[k]:
				dropped = append(dropped, k)
			}
		}
		if len(gen) > 0 {
			e.mergeGeneration(wr, gen)
		}
		if len(dropped) > 0 {
			sort.Strings(dropped)
			e.warn("dropped %s fields unknown to Gemini: %s", e.req.ExtraProtocol, strings.Join(dropped, ", "))
		}
	}
	return out
}

// mergeGeneration records generationConfig fields to add to the encoded
// generationConfig.
func (e *requestEncoder) mergeGeneration(wr *generateRequest, m map[string]json.RawMessage) {
	if e.genExtra == nil {
		e.genExtra = map[string]json.RawMessage{}
	}
	for k, v := range m {
		e.genExtra[k] = v
	}
	if wr.GenerationConfig == nil {
		wr.GenerationConfig = &generationConfig{}
	}
}

func appendRawList(list json.RawMessage, item json.RawMessage) json.RawMessage {
	if len(list) == 0 {
		return append(append(json.RawMessage{'['}, item...), ']')
	}
	out := append(json.RawMessage{}, list[:len(list)-1]...)
	out = append(append(out, ','), item...)
	return append(out, ']')
}

func mimeFromExt(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch strings.ToLower(path.Ext(u)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".pdf":
		return "application/pdf"
	case ".mp3":
		return "audio/mp3"
	case ".wav":
		return "audio/wav"
	}
	return "application/octet-stream"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// marshalWithExtra encodes wr with extra top-level fields (which replace
// wr's own) and extra generationConfig fields.
func marshalWithExtra(wr generateRequest, extra, gen map[string]json.RawMessage) ([]byte, error) {
	body, err := json.Marshal(wr)
	if err != nil || len(extra) == 0 && len(gen) == 0 {
		return body, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	if len(gen) > 0 {
		var g map[string]json.RawMessage
		if raw, ok := top["generationConfig"]; ok {
			if err := json.Unmarshal(raw, &g); err != nil {
				return nil, err
			}
		}
		if g == nil {
			g = map[string]json.RawMessage{}
		}
		for k, v := range gen {
			g[k] = v
		}
		if top["generationConfig"], err = json.Marshal(g); err != nil {
			return nil, err
		}
	}
	for k, v := range extra {
		top[k] = v
	}
	return json.Marshal(top)
}
