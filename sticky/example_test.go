package sticky_test

import (
	"fmt"
	"time"

	"github.com/llmgw/llmgw/sticky"
)

func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tab := sticky.New(sticky.Config{Now: func() time.Time { return now }})

	// The first request of a session is served by anthropic-main.
	tab.Bind("team-a:session-42", "anthropic-main")

	// Later requests find the binding and refresh it once served.
	now = now.Add(50 * time.Minute)
	p, ok := tab.Get("team-a:session-42")
	fmt.Println(p, ok)
	tab.Touch("team-a:session-42")

	// The provider fails; the request fails over and the binding moves.
	tab.Bind("team-a:session-42", "openai-main")
	p, ok = tab.Get("team-a:session-42")
	fmt.Println(p, ok)

	// An hour without use ends the binding.
	now = now.Add(time.Hour)
	p, ok = tab.Get("team-a:session-42")
	fmt.Printf("%q %v\n", p, ok)
	// Output:
	// anthropic-main true
	// openai-main true
	// "" false
}
