package llm

// Protocol names a wire protocol spoken by a client or an upstream.
type Protocol string

// The wire protocols llmgw speaks. The string values are the ones the
// contract uses (eval --protocol, the request log, the policy's
// req.protocol).
const (
	ProtocolOpenAI    Protocol = "openai"    // OpenAI chat completions
	ProtocolResponses Protocol = "responses" // OpenAI Responses API
	ProtocolAnthropic Protocol = "anthropic" // Anthropic Messages
	ProtocolGemini    Protocol = "gemini"    // Gemini generateContent
)

// Valid reports whether p is one of the known protocols.
func (p Protocol) Valid() bool {
	switch p {
	case ProtocolOpenAI, ProtocolResponses, ProtocolAnthropic, ProtocolGemini:
		return true
	}
	return false
}
