package engine

import (
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/responses"
	"github.com/llmgw/llmgw/route"
)

// cands builds candidates from "provider/priority/weight" strings (an
// optional fourth part is the model).
func cands(specs ...string) []route.Candidate {
	out := make([]route.Candidate, len(specs))
	for i, s := range specs {
		parts := strings.Split(s, "/")
		c := route.Candidate{Provider: parts[0]}
		fmt.Sscan(parts[1], &c.Priority)
		fmt.Sscan(parts[2], &c.Weight)
		if len(parts) > 3 {
			c.Model = parts[3]
		}
		out[i] = c
	}
	return out
}

// featureScanners are the client protocols' feature scanners, for tests
// that post wire bodies: the engine reads no wire format, the adapters do.
var featureScanners = map[string]func() llm.FeatureScanner{
	"openai":    openai.Adapter{}.NewFeatureScanner,
	"responses": responses.Adapter{}.NewFeatureScanner,
	"anthropic": anthropic.Adapter{}.NewFeatureScanner,
	"gemini":    gemini.Adapter{}.NewFeatureScanner,
}

// requestFromBody is the request the gateway builds for body posted in
// protocol ("" guesses it, as `llmgw eval` does): its adapter's features,
// through NewRequest.
func requestFromBody(protocol string, body []byte, headers map[string]string) (*Request, error) {
	if protocol == "" {
		protocol = string(wirefeat.Guess(body))
	}
	newScanner, ok := featureScanners[protocol]
	if !ok {
		return nil, fmt.Errorf("no feature scanner for protocol %q", protocol)
	}
	f, err := wirefeat.Read(body, newScanner())
	if err != nil {
		return nil, err
	}
	return NewRequest(protocol, f, len(body), headers), nil
}

// testKinds are the provider kinds the tests' policies declare, from the
// adapters as cmd/llmgw lists them (gateway.ProviderKinds, which the
// engine's tests cannot import), and the demo.
func testKinds() []ProviderKind {
	return []ProviderKind{
		{Name: "anthropic", Title: anthropic.Adapter{}.Vendor(), BaseURL: anthropic.Adapter{}.DefaultBaseURL()},
		{Name: "gemini", Title: gemini.Adapter{}.Vendor(), BaseURL: gemini.Adapter{}.DefaultBaseURL()},
		{Name: "openai", Title: openai.Adapter{}.Vendor(), BaseURL: openai.Adapter{}.DefaultBaseURL()},
		{Name: "demo", Title: "demo", NoKey: true},
	}
}
