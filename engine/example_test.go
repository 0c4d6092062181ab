package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/route"
)

func Example() {
	dir, _ := os.MkdirTemp("", "policy")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "policies.star"), []byte(`
main = provider("openai-main", kind = "openai", api_key = "sk-...")
backup = provider("anthropic-main", kind = "anthropic", api_key = "sk-ant-...", priority = 2)

def route(req, ctx):
    if req.has_tools:
        note("tools: anthropic first")
        return [target(backup, priority = 0), target(main, model = "gpt-4.1")]
    return [main, backup]
`), 0o644)

	e, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: []engine.ProviderKind{
		// The kinds a policy may declare: cmd/llmgw lists the adapters'.
		{Name: "openai", BaseURL: "https://api.openai.com/v1"},
		{Name: "anthropic", BaseURL: "https://api.anthropic.com"},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &engine.Request{Model: "gpt-4o", Protocol: "openai", HasTools: true}
	dec, err := e.Policy().Decide(context.Background(), req, engine.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	order, _ := route.Order(dec.Candidates, route.Options{})
	for _, c := range order {
		fmt.Println(c.Provider, c.Model, c.Priority)
	}
	fmt.Println(dec.Notes)

	class, _ := e.Policy().Classify(context.Background(), engine.ErrorInfo{Status: 429, Kind: "http"}, engine.Env{})
	fmt.Println(class)
	// Output:
	// anthropic-main  0
	// openai-main gpt-4.1 1
	// [tools: anthropic first]
	// cooldown(60)
}
