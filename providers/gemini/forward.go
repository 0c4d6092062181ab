package gemini

import "strings"

// forwardedHeaders are the client headers, by lower-case name, that reach
// a Gemini upstream when the client speaks the same protocol: what selects
// API behaviour, and what describes the client. Anything else (credentials,
// billing selectors, a Content-Encoding describing a body the gateway
// forwards decoded, headers nobody listed) stays at the gateway.
var forwardedHeaders = map[string]bool{
	"accept": true, "accept-language": true, "user-agent": true,
	"x-goog-api-client": true,
}

// ForwardHeader reports whether a client's header (its lower-case name) may
// be forwarded to a Gemini upstream. The SDKs' x-stainless-* telemetry
// headers pass. x-goog-user-project is left out: it picks the Google
// Cloud project billed, the operator's choice.
func (Adapter) ForwardHeader(name string) bool {
	return forwardedHeaders[name] || strings.HasPrefix(name, "x-stainless-")
}

// ForwardQuery reports whether a client's query parameter may be forwarded
// to a Gemini upstream: only those listed, so that a client key sent as
// ?api_key= or any other stray parameter never reaches the provider.
// None is: the gateway sets alt=sse itself, and ?key= is the client's
// credential.
func (Adapter) ForwardQuery(name string) bool {
	return forwardedQuery[name]
}

var forwardedQuery = map[string]bool{}
