package pricing_test

import (
	"fmt"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/pricing"
)

func ExampleTable_Cost() {
	input, _ := pricing.FromUSD(0.5) // a policy's price("house-model", input = 0.5, output = 1.5)
	output, _ := pricing.FromUSD(1.5)
	prices := pricing.Default().With(pricing.Override{Model: "house-model", Price: pricing.Price{Input: input, Output: output}})

	u := llm.Usage{InputTokens: 12_000, OutputTokens: 800, CacheReadTokens: 40_000}
	for _, model := range []string{"claude-3-7-sonnet-20250219", "house-model", "unknown-model"} {
		cost, source, ok := prices.Cost(model, u)
		if !ok {
			fmt.Printf("%s: unpriced\n", model)
			continue
		}
		fmt.Printf("%s: %s (%s)\n", model, cost, source)
	}
	// Output:
	// claude-3-7-sonnet-20250219: $0.060000 (builtin)
	// house-model: $0.027200 (policy)
	// unknown-model: unpriced
}
