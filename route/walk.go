package route

import (
	"context"
	"fmt"
	"time"
)

// Action is what the walk does after a failed attempt, as the policy's
// classify hook (or the default classification) decides it. The request
// log stores it as the attempt's class, and eval prints it; Skip and
// Cancelled are classes the walk records for attempts nobody classified.
type Action string

// The actions and attempt classes.
const (
	// Retry tries the same provider once more after RetryPause; a second
	// retry of one provider becomes a Failover.
	Retry Action = "retry"
	// Failover moves on to the next candidate.
	Failover Action = "failover"
	// Cooldown cools the provider down for Class.Cooldown (DefaultCooldown
	// when not positive), then fails over.
	Cooldown Action = "cooldown"
	// Fail ends the walk: the failure is the client's answer.
	Fail Action = "fail"
	// Skip is the class of a candidate that cannot serve the request (an
	// operation its protocol lacks, a conversion that would lose state):
	// nothing was sent, and it is not the provider's failure.
	Skip Action = "skip"
	// Cancelled is the class of an attempt during which the client went
	// away: not the provider's failure either.
	Cancelled Action = "cancelled"
)

// DefaultCooldown is how long a cooldown without a positive duration (a
// 429 without Retry-After, or a policy's bare "cooldown") cools a provider
// down.
const DefaultCooldown = 60 * time.Second

// RetryPause is the wait before a Retry, so that an overloaded provider
// gets a moment before it is asked again.
const RetryPause = 100 * time.Millisecond

// Class is what to do about one failed attempt.
type Class struct {
	// Action is Retry, Failover, Cooldown or Fail.
	Action Action `json:"action"`
	// Cooldown is how long to cool the provider down (Cooldown).
	Cooldown time.Duration `json:"cooldown,omitempty"`
	// MarkFailed asks the health tracker to count the failure against the
	// provider (exponential backoff after repeated failures).
	MarkFailed bool `json:"mark_failed,omitempty"`
}

// String formats c the way a policy would write it.
func (c Class) String() string {
	if c.Action == Cooldown {
		return fmt.Sprintf("cooldown(%g)", c.Cooldown.Seconds())
	}
	return string(c.Action)
}

// Settle applies the walk's own rules to the class the policy gave the
// try-th attempt of one candidate (0 for the first): a retry of a retry
// becomes a failover, and a cooldown gets DefaultCooldown when it has no
// positive duration. Walk calls it; it is exported for what reports a
// class without walking.
func (c Class) Settle(try int) Class {
	if c.Action == Retry && try > 0 {
		c.Action = Failover
	}
	if c.Action == Cooldown && c.Cooldown <= 0 {
		c.Cooldown = DefaultCooldown
	}
	return c
}

// Outcome is what one attempt came to, as its driver reports it.
type Outcome uint8

const (
	// Served: the attempt answered the client, successfully or with an
	// error after the response had started. The walk ends.
	Served Outcome = iota
	// Failed: the provider failed before the response started; the walk
	// asks for its class.
	Failed
	// Skipped: the candidate cannot serve this request (Skip). The walk
	// moves on to the next candidate.
	Skipped
	// Stopped: the request ended during the attempt (the client went
	// away). The walk ends.
	Stopped
)

// Driver makes a walk's attempts: the gateway with real HTTP, eval and the
// policy tests' walk() with simulated outcomes. Walk calls its methods in
// order, never concurrently.
type Driver interface {
	// Attempt makes the n-th attempt of the request (from 1) to c.
	Attempt(ctx context.Context, c Candidate, n int) Outcome
	// Classify returns the policy's class of the failed n-th attempt.
	Classify(ctx context.Context, c Candidate, n int) Class
	// Settled learns the class the walk acts on (after Settle), to record
	// it and to tell the provider's health.
	Settled(c Candidate, n int, class Class)
	// Wait waits d before a retry and reports whether the request is still
	// on (false when it ended meanwhile). A simulation returns true at
	// once: its clock is not the wall clock.
	Wait(ctx context.Context, d time.Duration) bool
}

// End is how a walk ended.
type End uint8

const (
	// EndServed: an attempt answered the client.
	EndServed End = iota
	// EndFailed: a failure was classed Fail; it is the client's answer.
	EndFailed
	// EndExhausted: every candidate failed or was skipped.
	EndExhausted
	// EndCapped: the attempt cap stopped the walk before the end of the
	// chain.
	EndCapped
	// EndStopped: the request ended (the client went away, or the
	// context was done before the next attempt or during a retry pause).
	EndStopped
	// EndNoCandidates: there was nothing to try.
	EndNoCandidates
)

// Walked is the result of a walk.
type Walked struct {
	End End
	// Attempts is the number of attempts made, skipped candidates
	// included.
	Attempts int
	// Last is the candidate of the last attempt (the one that served,
	// when End is EndServed).
	Last Candidate
}

// Walk tries the candidates in order (as Order returned them) until one
// serves the request, following the class of each failure: a retry tries
// the same provider once more after RetryPause, failover and cooldown move
// on, fail ends the walk; a skipped candidate is passed over. Each
// provider is tried once (twice with a retry), so that the walk covers the
// whole failover chain. maxAttempts, when positive, caps the attempts,
// skipped candidates included; 0 means no cap besides the chain's length.
//
// The walk stops early (EndStopped) when ctx is done before an attempt
// after the first; a retry pause cut short by it becomes a failover.
func Walk(ctx context.Context, order []Candidate, maxAttempts int, d Driver) Walked {
	if len(order) == 0 {
		return Walked{End: EndNoCandidates}
	}
	var w Walked
	for _, c := range order {
		for try := 0; ; try++ {
			if maxAttempts > 0 && w.Attempts >= maxAttempts {
				w.End = EndCapped
				return w
			}
			if w.Attempts > 0 && ctx.Err() != nil {
				w.End = EndStopped
				return w
			}
			w.Attempts++
			w.Last = c
			switch d.Attempt(ctx, c, w.Attempts) {
			case Served:
				w.End = EndServed
				return w
			case Stopped:
				w.End = EndStopped
				return w
			case Skipped:
				d.Settled(c, w.Attempts, Class{Action: Skip})
			case Failed:
				class := d.Classify(ctx, c, w.Attempts).Settle(try)
				if class.Action == Retry && !d.Wait(ctx, RetryPause) {
					class.Action = Failover // the request ended during the pause
				}
				d.Settled(c, w.Attempts, class)
				switch class.Action {
				case Fail:
					w.End = EndFailed
					return w
				case Retry:
					continue
				}
			}
			break
		}
	}
	w.End = EndExhausted
	return w
}
