package engine

import "github.com/llmgw/llmgw/llm"

// sessionHeaders are the headers clients carry a session id in, in order
// of preference: Claude Code, Codex (session, then thread), generic.
var sessionHeaders = []string{"x-claude-code-session-id", "session-id", "thread-id", "x-session-id"}

// NewRequest is the request the policy sees, from the routing features
// the client protocol's adapter read from the body (the engine reads no
// wire format). bodyLen is the body's length in bytes, a quarter of which
// estimates the input tokens. headers are the request headers with
// lower-case names (credentials redacted); they are kept as req.headers,
// and a session header wins over the session the body carries. Key is
// left empty: the gateway sets it after authentication.
func NewRequest(protocol string, f llm.Features, bodyLen int, headers map[string]string) *Request {
	r := &Request{
		Protocol:            protocol,
		Model:               f.Model,
		Stream:              f.Stream,
		User:                f.User,
		Headers:             headers,
		Metadata:            f.Metadata,
		HasTools:            f.HasTools,
		HasImages:           f.HasImages,
		HasThinking:         f.HasThinking,
		InputTokensEstimate: bodyLen / 4,
		MaxOutputTokens:     f.MaxOutputTokens,
		Session:             f.Session,
	}
	for _, h := range sessionHeaders {
		if v := headers[h]; v != "" {
			r.Session = v
			break
		}
	}
	return r
}
