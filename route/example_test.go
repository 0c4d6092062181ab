package route_test

import (
	"fmt"

	"github.com/llmgw/llmgw/route"
)

func ExampleOrder() {
	cands := []route.Candidate{
		{Provider: "openai-backup", Priority: 2, Weight: 100},
		{Provider: "anthropic-main", Priority: 1, Weight: 100},
		{Provider: "openai-main", Priority: 1, Weight: 100},
		{Provider: "anthropic-main", Priority: 1, Weight: 100},
	}
	cooling := map[string]bool{"anthropic-main": true}
	order, explain := route.Order(cands, route.Options{
		Sticky:    "openai-backup",
		Available: func(p string) bool { return !cooling[p] },
	})
	for _, c := range order {
		fmt.Println(c.Provider)
	}
	for _, line := range explain {
		fmt.Println("#", line)
	}
	// Output:
	// openai-backup
	// openai-main
	// anthropic-main
	// # anthropic-main: removed, already a candidate (one provider is tried once per request)
	// # anthropic-main: moved last, cooling down
	// # openai-backup: first, sticky binding
}
