// Package gateway is llmgw's HTTP layer and request pipeline: the front
// doors of the three wire protocols, client authentication, the attempt
// loop (policy decision, ordering, failover, health, sticky sessions), the
// relays (byte-faithful pass-through when the protocols match, conversion
// through package llm when they differ), request logging, and the JSON API
// behind the dashboard.
//
// Request flow:
//
//	read body (≤ MaxBodyBytes) → authenticate → features (the adapter's scanner, engine.NewRequest)
//	→ Policy.Decide → route.Order → for each candidate:
//	      build upstream request (bytes as they are, or converted)
//	      → send → classify failure (Policy.Classify) → retry / fail over / fail
//	→ relay the response (flushed before each upstream read) → record (requestlog, metrics)
//
// A request keeps the policy snapshot it started with for its whole retry
// chain. Once a byte of the response went to the client there is no
// failover: a failure after that reaches the client as its protocol's error
// event.
//
// gateway may import every library package of llmgw; nothing imports
// gateway but cmd/llmgw.
package gateway
