package gateway

import (
	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
)

// ReadFeatures reads the routing features of a body posted in protocol p
// with p's built-in adapter, for a caller that has the body alone (`llmgw
// eval`); false when no built-in adapter serves p. The gateway itself
// collects them on its one pass over the body.
func ReadFeatures(p llm.Protocol, body []byte) (llm.Features, bool, error) {
	a, ok := builtinAdapters()[p]
	if !ok {
		return llm.Features{}, false, nil
	}
	f, err := wirefeat.Read(body, a.NewFeatureScanner())
	return f, true, err
}

// GuessProtocol guesses the protocol of a body posted without its door
// (`llmgw eval`, the dashboard's playground), from the members only one
// protocol has; openai when nothing tells.
func GuessProtocol(body []byte) llm.Protocol { return wirefeat.Guess(body) }
