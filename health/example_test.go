package health_test

import (
	"fmt"
	"time"

	"github.com/llmgw/llmgw/health"
)

func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := health.New(health.Config{Now: func() time.Time { return now }, Jitter: -1})

	// One attempt: Begin before the upstream call, the returned func after
	// it, with the failure class the policy chose.
	done := tr.Begin("anthropic-main")
	done(health.Outcome{Err: true, Cooldown: 30 * time.Second, Reason: "429"})

	st := tr.Snapshot("anthropic-main")
	fmt.Println(st.State, st.CooldownLeft, tr.Available("anthropic-main"))

	// After the cooldown, the next attempt is the half-open trial.
	now = now.Add(30 * time.Second)
	fmt.Println(tr.Snapshot("anthropic-main").State, tr.Available("anthropic-main"))
	trial := tr.Begin("anthropic-main")
	fmt.Println(tr.Available("anthropic-main")) // one trial at a time
	trial(health.Outcome{Latency: 800 * time.Millisecond})
	fmt.Println(tr.Snapshot("anthropic-main").State)
	// Output:
	// cooldown 30s false
	// half_open true
	// false
	// healthy
}
