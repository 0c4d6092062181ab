package llm

import "encoding/json"

// Role is the author of a message.
type Role string

// Roles. System text normally travels in Request.System; RoleSystem exists
// for protocols that allow system messages mid-conversation.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool" // OpenAI-style tool result message; decoders may also use RoleUser with PartToolResult
)

// PartKind says which fields of a Part are meaningful.
type PartKind string

// Part kinds.
const (
	PartText             PartKind = "text"              // Text
	PartImage            PartKind = "image"             // MediaType + Data (base64) or URL
	PartDocument         PartKind = "document"          // MediaType + Data (base64) or URL; Name is the file name
	PartAudio            PartKind = "audio"             // MediaType (format) + Data (base64)
	PartToolCall         PartKind = "tool_call"         // ToolCallID, ToolName, Arguments
	PartToolResult       PartKind = "tool_result"       // ToolCallID, ToolName (when known), Content, IsError
	PartThinking         PartKind = "thinking"          // Text, Signature, SignatureProtocol
	PartRedactedThinking PartKind = "redacted_thinking" // Data (opaque), SignatureProtocol
	PartRefusal          PartKind = "refusal"           // Text
)

// Part is one piece of message content. Only the fields named by Kind are
// meaningful; the rest stay zero.
type Part struct {
	Kind PartKind `json:"kind"`

	Text string `json:"text,omitempty"`

	// MediaType is the MIME type of inline data ("image/png",
	// "application/pdf"), or the audio format.
	MediaType string `json:"media_type,omitempty"`
	// Data is base64-encoded bytes, kept encoded so that converting never
	// decodes and re-encodes large images. For redacted thinking it is the
	// opaque payload.
	Data string `json:"data,omitempty"`
	// URL is a remote (https) location of an image or document.
	URL string `json:"url,omitempty"`
	// Detail is OpenAI's image detail hint (auto, low, high).
	Detail string `json:"detail,omitempty"`
	// Name is a file name for documents.
	Name string `json:"name,omitempty"`

	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	// Arguments is the tool call's input as JSON text (an object). Streams
	// may have delivered it in fragments; here it is whole.
	Arguments json.RawMessage `json:"arguments,omitempty"`

	// Content is a tool result's content (text, images).
	Content []Part `json:"content,omitempty"`
	IsError bool   `json:"is_error,omitempty"`

	// Signature is an opaque continuity token: an Anthropic thinking
	// signature or a Gemini thoughtSignature (which may sit on text and tool
	// call parts too). SignatureProtocol says who issued it: signatures are
	// provider-bound and must never be sent to another vendor.
	Signature         string   `json:"signature,omitempty"`
	SignatureProtocol Protocol `json:"signature_protocol,omitempty"`

	// CacheControl is Anthropic's cache_control object, kept verbatim so it
	// survives a round trip to an Anthropic upstream.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Message is one turn of the conversation.
type Message struct {
	Role  Role   `json:"role"`
	Parts []Part `json:"parts"`
	// Name is OpenAI's optional participant name.
	Name string `json:"name,omitempty"`
}

// Tool is a function the model may call.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments (an object schema), or
	// nil for a tool without parameters.
	Parameters   json.RawMessage `json:"parameters,omitempty"`
	Strict       *bool           `json:"strict,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
	// FreeForm marks a tool whose input is free text rather than JSON (a
	// Codex custom tool such as apply_patch). Parameters is then the object
	// schema {"input": string} and calls carry {"input": "..."} as their
	// Arguments, so protocols without free-form tools send it as an
	// ordinary function; the Responses encoder turns those calls back into
	// custom_tool_call items.
	FreeForm bool `json:"free_form,omitempty"`
	// Raw is a vendor-specific tool definition (a server tool such as
	// web_search, a Codex custom tool) that has no neutral form. Encoders of
	// the same protocol (RawProtocol) may forward it; others drop it with a
	// warning.
	Raw         json.RawMessage `json:"raw,omitempty"`
	RawProtocol Protocol        `json:"raw_protocol,omitempty"`
	// Namespace is the Responses API namespace tool (Codex's
	// multi_agent_v1) the tool was declared in. Protocols without
	// namespaces see a plain function whose Name is the qualified
	// "<namespace>__<name>" (see QualifiedToolName), and the Responses
	// encoders nest it again.
	Namespace string `json:"namespace,omitempty"`
}

// NamespaceSep joins a namespace and a tool name into a function name
// every protocol accepts (^[a-zA-Z0-9_-]+$).
const NamespaceSep = "__"

// QualifiedToolName is the flat name of tool name declared in namespace
// ns; name alone when ns is "".
func QualifiedToolName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + NamespaceSep + name
}

// ToolChoiceMode is how the model may use tools.
type ToolChoiceMode string

// Tool choice modes.
const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required" // any tool (Anthropic "any", Gemini ANY)
	ToolChoiceTool     ToolChoiceMode = "tool"     // the tool named by Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode `json:"mode"`
	Name string         `json:"name,omitempty"`
}

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type   string          `json:"type"` // "text", "json_object" or "json_schema"
	Name   string          `json:"name,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict *bool           `json:"strict,omitempty"`
}

// Reasoning asks for extended thinking. Effort and BudgetTokens are two
// views of the same wish; decoders fill the one their wire carries and
// encoders derive the other when they need it (see EffortToBudget).
type Reasoning struct {
	// Effort is none, minimal, low, medium, high, xhigh or max.
	Effort string `json:"effort,omitempty"`
	// BudgetTokens is an explicit thinking budget; 0 means unset, -1 means
	// dynamic (Gemini).
	BudgetTokens int `json:"budget_tokens,omitempty"`
	// Disabled is an explicit "no thinking".
	Disabled bool `json:"disabled,omitempty"`
	// IncludeThoughts says the client wants to see reasoning text
	// (Anthropic thinking display, Responses reasoning.summary, Gemini
	// includeThoughts).
	IncludeThoughts bool `json:"include_thoughts,omitempty"`
	// Summary is the Responses API's reasoning.summary (auto, concise,
	// detailed).
	Summary string `json:"summary,omitempty"`
}

// Request is a generation request in neutral form.
type Request struct {
	Model string `json:"model"`
	// System holds system instructions (text parts, possibly with cache
	// control), OpenAI developer messages included.
	System   []Part    `json:"system,omitempty"`
	Messages []Message `json:"messages"`

	Tools             []Tool      `json:"tools,omitempty"`
	ToolChoice        *ToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool       `json:"parallel_tool_calls,omitempty"`

	// MaxTokens caps output tokens (reasoning included); 0 means unset.
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	TopK        *int     `json:"top_k,omitempty"`
	Stop        []string `json:"stop,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`

	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	Reasoning      *Reasoning      `json:"reasoning,omitempty"`

	Stream bool `json:"stream,omitempty"`
	// IncludeUsage is OpenAI's stream_options.include_usage: the client
	// wants the final usage chunk.
	IncludeUsage bool `json:"include_usage,omitempty"`

	// User identifies the end user (OpenAI user, Anthropic
	// metadata.user_id).
	User string `json:"user,omitempty"`

	// CacheKey is a stable key of the conversation (derived from the
	// session, see CacheKeyFor), sent as prompt_cache_key to OpenAI
	// upstreams when the client sent none, so that a converted session's
	// turns reach the same prompt cache; "" for none.
	CacheKey string `json:"cache_key,omitempty"`
	// NoAutoCache keeps the Anthropic encoder from adding cache_control
	// breakpoints the client did not place. An Anthropic client's
	// placement is final (its decoder sets this); other clients' requests
	// get breakpoints by default, since their own providers cache prompt
	// prefixes unasked and a converted agent session without cache hits
	// costs several times as much; the gateway sets it too for a provider
	// whose policy turns automatic hints off (auto_cache = False).
	NoAutoCache bool `json:"no_auto_cache,omitempty"`

	// Extra holds top-level fields the decoder did not map, verbatim, as
	// they appeared on the wire of ExtraProtocol. An encoder for the same
	// protocol (or one that knows a field by the same name and meaning)
	// keeps them; others drop them and say so in a warning.
	Extra         map[string]json.RawMessage `json:"extra,omitempty"`
	ExtraProtocol Protocol                   `json:"extra_protocol,omitempty"`
}
