package sharedstate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Replica is one gateway process as the cluster registry knows it: each
// replica publishes itself with every heartbeat into one Redis hash, and an
// entry not renewed within Config.ReplicaTTL is dropped by its readers.
type Replica struct {
	ID         string `json:"id"`
	PolicyHash string `json:"policy_hash"`
	Version    string `json:"version"`
	// State is the state backend: "redis", or "local" for a replica
	// without --state.
	State string `json:"state"`
	// Shared is false while the replica serves from its own state (Redis
	// unreachable or never configured).
	Shared    bool      `json:"shared"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	// Self marks the replica that answered.
	Self bool `json:"self,omitempty"`
	// Drift marks a replica serving another policy than the majority's
	// (see MarkDrift).
	Drift bool `json:"drift"`
}

// Self is this replica's own entry, as of now.
func (s *State) Self() Replica {
	r := Replica{
		ID:        s.cfg.ReplicaID,
		Version:   s.cfg.Version,
		State:     "redis",
		Shared:    s.up.Load(),
		StartedAt: s.startedAt,
		LastSeen:  s.cfg.Now().UTC(),
		Self:      true,
	}
	if s.cfg.PolicyHash != nil {
		r.PolicyHash = s.cfg.PolicyHash()
	}
	return r
}

// heartbeat publishes this replica's entry.
func (s *State) heartbeat() error {
	r := s.Self()
	r.Self, r.Shared = false, true
	b, _ := json.Marshal(r)
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timeout)
	defer cancel()
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, s.key("replicas"), s.cfg.ReplicaID, b)
	// The hash outlives its last replica by a while, then goes.
	pipe.PExpire(ctx, s.key("replicas"), 360*s.cfg.ReplicaTTL)
	_, err := pipe.Exec(ctx)
	return err
}

// leave removes this replica's entry (at shutdown), best effort.
func (s *State) leave() {
	if !s.up.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timeout)
	defer cancel()
	s.rdb.HDel(ctx, s.key("replicas"), s.cfg.ReplicaID)
}

// Replicas lists the replicas whose heartbeat is recent, this one first
// and the others by id, with Drift marked. While this replica has fallen
// back it lists itself alone (it cannot see the others).
func (s *State) Replicas(ctx context.Context) []Replica {
	self := s.Self()
	if !s.up.Load() {
		out := []Replica{self}
		MarkDrift(out)
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Timeout)
	defer cancel()
	all, err := s.rdb.HGetAll(ctx, s.key("replicas")).Result()
	if err != nil {
		if !errors.Is(err, context.Canceled) { // not the caller leaving
			s.fail(err)
		}
		out := []Replica{self}
		MarkDrift(out)
		return out
	}
	now := s.cfg.Now()
	out := []Replica{self}
	var stale []string
	for id, v := range all {
		if id == self.ID {
			continue
		}
		var r Replica
		if json.Unmarshal([]byte(v), &r) != nil || now.Sub(r.LastSeen) > s.cfg.ReplicaTTL {
			stale = append(stale, id)
			continue
		}
		out = append(out, r)
	}
	if len(stale) > 0 {
		s.rdb.HDel(ctx, s.key("replicas"), stale...)
	}
	slices.SortFunc(out[1:], func(a, b Replica) int { return strings.Compare(a.ID, b.ID) })
	MarkDrift(out)
	return out
}

// MarkDrift sets Drift on every replica whose policy hash is not the
// majority's, and returns that hash. When no hash is served by more
// replicas than every other (two replicas that disagree, say), there is no
// majority: every replica is marked and "" is returned.
func MarkDrift(rs []Replica) string {
	count := map[string]int{}
	for _, r := range rs {
		count[r.PolicyHash]++
	}
	best, top, tie := "", 0, false
	for h, n := range count {
		switch {
		case n > top:
			best, top, tie = h, n, false
		case n == top:
			tie = true
		}
	}
	if tie {
		best = ""
	}
	for i := range rs {
		rs[i].Drift = tie || rs[i].PolicyHash != best
	}
	return best
}
