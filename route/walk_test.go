package route

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// script is a Driver whose attempts and classes follow a table: each
// provider's outcome, and the class of its failures.
type script struct {
	outcome map[string]Outcome
	class   map[string]Class
	waits   int
	tried   []string
	cancel  func() // called on the first Wait, when set
}

func (s *script) Attempt(_ context.Context, c Candidate, n int) Outcome {
	if n != len(s.tried)+1 {
		panic(fmt.Sprintf("attempt %d after %d", n, len(s.tried)))
	}
	s.tried = append(s.tried, c.Provider)
	return s.outcome[c.Provider]
}

func (s *script) Classify(_ context.Context, c Candidate, _ int) Class { return s.class[c.Provider] }

func (s *script) Settled(_ Candidate, n int, class Class) {
	s.tried[n-1] += ":" + class.String()
}

func (s *script) Wait(context.Context, time.Duration) bool {
	s.waits++
	if s.cancel != nil {
		s.cancel()
		return false
	}
	return true
}

func cands(names ...string) []Candidate {
	out := make([]Candidate, len(names))
	for i, n := range names {
		out[i] = Candidate{Provider: n}
	}
	return out
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name    string
		order   []Candidate
		max     int
		outcome map[string]Outcome
		class   map[string]Class
		end     End
		tried   string
		waits   int
	}{
		{"nothing to try", nil, 0, nil, nil, EndNoCandidates, "", 0},
		{"first serves", cands("a", "b"), 0, map[string]Outcome{"a": Served}, nil, EndServed, "a", 0},
		{"a retry of a retry fails over", cands("a", "b"), 0,
			map[string]Outcome{"a": Failed, "b": Served}, map[string]Class{"a": {Action: Retry}},
			EndServed, "a:retry a:failover b", 1},
		{"cooldown without a duration gets the default", cands("a", "b"), 0,
			map[string]Outcome{"a": Failed, "b": Served}, map[string]Class{"a": {Action: Cooldown}},
			EndServed, "a:cooldown(60) b", 0},
		{"fail ends the walk", cands("a", "b"), 0,
			map[string]Outcome{"a": Failed}, map[string]Class{"a": {Action: Fail}},
			EndFailed, "a:fail", 0},
		{"skipped candidates are passed over", cands("a", "b", "c"), 0,
			map[string]Outcome{"a": Skipped, "b": Failed, "c": Skipped}, map[string]Class{"b": {Action: Failover}},
			EndExhausted, "a:skip b:failover c:skip", 0},
		{"the whole chain without a cap", cands("a", "b", "c", "d", "e", "f"), 0,
			map[string]Outcome{"a": Failed, "b": Failed, "c": Failed, "d": Failed, "e": Failed, "f": Failed},
			map[string]Class{"a": {Action: Failover}, "b": {Action: Failover}, "c": {Action: Failover}, "d": {Action: Failover}, "e": {Action: Failover}, "f": {Action: Failover}},
			EndExhausted, "a:failover b:failover c:failover d:failover e:failover f:failover", 0},
		{"a cap counts retries", cands("a", "b", "c"), 2,
			map[string]Outcome{"a": Failed, "b": Failed, "c": Served}, map[string]Class{"a": {Action: Retry}, "b": {Action: Failover}},
			EndCapped, "a:retry a:failover", 1},
		{"a client gone ends the walk", cands("a", "b"), 0,
			map[string]Outcome{"a": Stopped}, nil, EndStopped, "a", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{outcome: tt.outcome, class: tt.class}
			w := Walk(context.Background(), tt.order, tt.max, s)
			if got := strings.Join(s.tried, " "); w.End != tt.end || got != tt.tried || s.waits != tt.waits {
				t.Errorf("end %d, tried %q, %d waits; want %d, %q, %d", w.End, got, s.waits, tt.end, tt.tried, tt.waits)
			}
			if w.Attempts != len(s.tried) {
				t.Errorf("Attempts = %d, made %d", w.Attempts, len(s.tried))
			}
		})
	}
}

// A request that ends during a retry's pause fails over in name only: the
// walk makes no further attempt.
func TestWalkStopsWhenTheRequestEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &script{outcome: map[string]Outcome{"a": Failed, "b": Served}, class: map[string]Class{"a": {Action: Retry}}, cancel: cancel}
	w := Walk(ctx, cands("a", "b"), 0, s)
	if got := strings.Join(s.tried, " "); w.End != EndStopped || got != "a:failover" {
		t.Errorf("end %d, tried %q; want EndStopped after a:failover", w.End, got)
	}
}
