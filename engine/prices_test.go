package engine

import (
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/pricing"
)

// A policy version's price table is compiled when it loads: price()
// declarations over the engine's base table (a --prices file over the
// built-in prices), each replacing only the rates it gives.
func TestPriceTableCompiledWithThePolicy(t *testing.T) {
	base := pricing.Default().With(pricing.Override{Model: "house-model", Price: pricing.Price{Input: 1_000_000, Output: 3_000_000}, Source: pricing.SourceFile})
	e := newEngine(t, map[string]string{"main.star": simplePolicy + `
price("house-model", output = 5)
price("new-model", input = 0.5, output = 1.5)
`}, Config{Prices: base})
	p := e.Policy()
	table := p.PriceTable()
	if table == nil || table != p.PriceTable() {
		t.Fatal("PriceTable is not one table compiled with the policy")
	}
	u := llm.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}
	for _, tt := range []struct {
		model string
		cost  pricing.Micros
		src   string
	}{
		{"house-model", 6_000_000, pricing.SourcePolicy}, // input from the file, output from the policy
		{"new-model", 2_000_000, pricing.SourcePolicy},
	} {
		cost, src, ok := table.Cost(tt.model, u)
		if !ok || cost != tt.cost || src != tt.src {
			t.Errorf("Cost(%s) = %v %q %v, want %v %q", tt.model, cost, src, ok, tt.cost, tt.src)
		}
	}
	if _, _, ok := base.Cost("new-model", u); ok {
		t.Error("compiling the policy's prices changed the base table")
	}

	// Without price() the base table itself serves, and the built-in one
	// when the engine was given none.
	if got := newEngine(t, map[string]string{"main.star": simplePolicy}, Config{Prices: base}).Policy().PriceTable(); got != base {
		t.Error("a policy without price() does not use the base table as is")
	}
	if _, src, ok := newEngine(t, map[string]string{"main.star": simplePolicy}, Config{}).Policy().PriceTable().Cost("gpt-4o", u); !ok || src != pricing.SourceBuiltin {
		t.Errorf("without Config.Prices gpt-4o is priced %v from %q, want the built-in table", ok, src)
	}
}
