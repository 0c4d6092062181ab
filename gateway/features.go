package gateway

import (
	"sort"

	"github.com/llmgw/llmgw/engine"
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

// ProviderKinds are the provider kinds a policy may declare
// (engine.Config.Kinds): each built-in adapter's kind with its default
// base URL, sorted by name, then the demo, which needs no key.
func ProviderKinds() []engine.ProviderKind {
	return providerKinds(builtinAdapters())
}

// providerKinds are the kinds of adapters, deduplicated (the Responses
// API is served by the openai kind), sorted, then the demo.
func providerKinds(adapters map[llm.Protocol]Adapter) []engine.ProviderKind {
	seen := map[string]bool{}
	var out []engine.ProviderKind
	for _, a := range adapters {
		if seen[a.Kind()] {
			continue
		}
		seen[a.Kind()] = true
		out = append(out, engine.ProviderKind{Name: a.Kind(), Title: a.Vendor(), BaseURL: a.DefaultBaseURL()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return append(out, engine.ProviderKind{Name: demoKind, Title: "demo", NoKey: true})
}
