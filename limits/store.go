package limits

import (
	"context"
	"time"
)

// Store keeps the counters of limits. Every method is atomic over all the
// counters it is given, also across the replicas a shared Store serves:
// two requests never both take the last unit of a bound. Bounds travel
// with every call (Charge.Bounds), so a Store keeps usage only and a
// policy reload that changes a bound applies at once; a counter is
// identified by its limit name and each value (Charge.Limit, Charge.Each).
//
// The semantics every implementation keeps (Memory is the reference):
//
//   - rpm and tpm count the last Window in one-second buckets: a request
//     admitted at second s stops counting at s+60.
//   - A request over rpm is one whose admission would make the window's
//     requests exceed RPM; over tpm, one whose estimated tokens would make
//     the window's tokens exceed TPM while the window already holds
//     tokens (alone in an empty window, a request larger than TPM is
//     admitted); over usd, one arriving when the period's spend has
//     reached USDMicros (a request is not priced before it runs, so the
//     one that crosses the bound finishes and counts); over concurrency,
//     one that would put more than Concurrency requests in flight.
//   - Admit checks the enforced charges (Shadow false) first; if one
//     refuses, nothing is added anywhere. Otherwise the request is added
//     to every enforced charge and to every shadow charge it does not go
//     over; the shadow charges it goes over are reported in WouldRefuse.
//   - Settle removes the estimate from the admission second's bucket
//     while it is in the window, adds the real tokens at now, adds the
//     cost to the period containing now, and releases the in-flight slot.
type Store interface {
	// Admit admits a request with tokens estimated tokens against
	// charges, or refuses it (Verdict.Refusal) and adds nothing. An
	// admitted request must be settled, once, with Verdict.Ticket.
	Admit(ctx context.Context, now time.Time, charges []Charge, tokens int64) (Verdict, error)
	// Settle ends an admitted request: its real tokens (input and
	// output) and cost in micro-USD.
	Settle(ctx context.Context, now time.Time, t Ticket, tokens, usdMicros int64) error
	// Usage reads one counter's usage at now.
	Usage(ctx context.Context, now time.Time, c Charge) (Usage, error)
}

// Charge is one counter a request counts in, with its limit's bounds.
type Charge struct {
	Limit  string `json:"limit"`
	Each   string `json:"each,omitempty"`
	Bounds Bounds `json:"bounds"`
	Shadow bool   `json:"shadow,omitempty"`
	// Pinned marks a counter of a bounded set, which a full in-process
	// table never forgets: a limit's own (no each) or one per client key
	// (keys are the policy's). Counters per user, session or metadata,
	// whose values clients choose, are not.
	Pinned bool `json:"-"`
}

// Usage is a counter's usage at some time.
type Usage struct {
	Requests  int64 `json:"requests"`   // in the last Window
	Tokens    int64 `json:"tokens"`     // in the last Window
	USDMicros int64 `json:"usd_micros"` // in the current period
	InFlight  int64 `json:"in_flight"`
}

// Refusal is a counter over one of its bounds.
type Refusal struct {
	Limit  string `json:"limit"`
	Each   string `json:"each,omitempty"`
	Bound  string `json:"bound"` // BoundRPM, BoundTPM, BoundUSD or BoundConcurrency
	Shadow bool   `json:"shadow,omitempty"`
	// RetryAfter is when the bound would admit the request, as far as
	// the counter knows (concurrency: unknown, 1 s).
	RetryAfter time.Duration `json:"retry_after_ns"`
}

// Verdict is what Admit decided.
type Verdict struct {
	// Refusal is the first enforced charge over a bound; nil when the
	// request was admitted.
	Refusal *Refusal
	// WouldRefuse are the shadow charges the request went over (it was
	// admitted and not added to them).
	WouldRefuse []Refusal
	// Ticket settles an admitted request.
	Ticket Ticket
}

// Ticket is what Settle needs of an admitted request.
type Ticket struct {
	At      time.Time `json:"at"`     // the admission's now
	Tokens  int64     `json:"tokens"` // the estimate added
	Charges []Charge  `json:"charges"`
	// Held, when not nil, has one entry per charge: the request was
	// admitted from capacity the store had set aside in advance (a
	// shared store's allowance), which Settle turns into the request.
	Held []Hold `json:"-"`
}

// Hold is where a request admitted from an allowance was counted in
// advance: the Unix second the allowance was granted in, and the tokens it
// took from it (0 when the counter bounds no tokens).
type Hold struct {
	Sec, Tokens int64
}
