package responses

import "strings"

// forwardedHeaders are the client headers, by lower-case name, that reach
// an OpenAI Responses API upstream when the client speaks the same protocol: what selects
// API behaviour, and what describes the client. Anything else (credentials,
// billing selectors, a Content-Encoding describing a body the gateway
// forwards decoded, headers nobody listed) stays at the gateway.
var forwardedHeaders = map[string]bool{
	"accept": true, "accept-language": true, "user-agent": true,
	"openai-beta": true,
}

// ForwardHeader reports whether a client's header (its lower-case name) may
// be forwarded to an OpenAI Responses API upstream. The SDKs' x-stainless-* telemetry
// headers pass. OpenAI-Organization and OpenAI-Project are left out: they
// pick which organization and project is billed under the provider's key,
// the operator's choice, not the client's.
func (Adapter) ForwardHeader(name string) bool {
	return forwardedHeaders[name] || strings.HasPrefix(name, "x-stainless-")
}

// ForwardQuery reports whether a client's query parameter may be forwarded
// to an OpenAI Responses API upstream: only those listed, so that a client key sent as
// ?api_key= or any other stray parameter never reaches the provider.
func (Adapter) ForwardQuery(name string) bool {
	return forwardedQuery[name]
}

var forwardedQuery = map[string]bool{}
