package sharedstate

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/health"
)

// randRead fills b with random bytes.
var randRead = rand.Read

// Provider cooldowns are shared two ways: a message on the events channel
// reaches the replicas joined now within milliseconds, and the cooldowns
// hash (provider → end instant and reason) lets a replica that joins or
// rejoins later adopt the cooldowns still running. Messages carry the time
// left, so that replicas need not agree on the clock; the hash carries an
// instant, read by late joiners only.

// OnCooldown is the health.Config.OnCooldown of the replica's Tracker: it
// queues the cooldown for the peers and returns at once.
func (s *State) OnCooldown(c health.Cooldown) {
	s.enqueue(write{op: opCooldown, key: c.Provider, val: c.Reason, ttl: c.For})
}

// FollowHealth makes t honour the cooldowns the peers start. Call it
// before Run.
func (s *State) FollowHealth(t *health.Tracker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trackers = append(s.trackers, t)
}

// cooldownEvent is a message on the events channel: a cooldown (Provider,
// MS, Reason) or a sticky binding moved (Moved, its Redis key).
type cooldownEvent struct {
	Origin   string `json:"o"`
	Provider string `json:"p,omitempty"`
	MS       int64  `json:"ms,omitempty"`
	Reason   string `json:"r,omitempty"`
	Moved    string `json:"s,omitempty"`
}

// cooldownEntry is a field's value in the cooldowns hash.
type cooldownEntry struct {
	UntilMS int64  `json:"until"`
	Reason  string `json:"r,omitempty"`
}

func encodeCooldown(origin string, c health.Cooldown) string {
	b, _ := json.Marshal(cooldownEvent{Origin: origin, Provider: c.Provider, MS: c.For.Milliseconds(), Reason: c.Reason})
	return string(b)
}

// encodeMoved is the message that a sticky binding (its Redis key) moved.
func encodeMoved(origin, key string) string {
	b, _ := json.Marshal(cooldownEvent{Origin: origin, Moved: key})
	return string(b)
}

func encodeEntry(until time.Time, reason string) string {
	b, _ := json.Marshal(cooldownEntry{UntilMS: until.UnixMilli(), Reason: reason})
	return string(b)
}

// apply takes one message from the events channel.
func (s *State) apply(payload string) {
	var ev cooldownEvent
	if json.Unmarshal([]byte(payload), &ev) != nil || ev.Origin == s.cfg.ReplicaID {
		return
	}
	if ev.Moved != "" {
		s.cache.drop(ev.Moved)
		return
	}
	if ev.Provider == "" {
		return
	}
	s.applyCooldown(health.Cooldown{Provider: ev.Provider, For: time.Duration(ev.MS) * time.Millisecond, Reason: ev.Reason})
}

func (s *State) applyCooldown(c health.Cooldown) {
	s.mu.Lock()
	ts := s.trackers
	s.mu.Unlock()
	for _, t := range ts {
		t.ApplyCooldown(c)
	}
}

// syncCooldowns adopts the cooldowns running in the cluster, drops the
// ended ones from the hash, and publishes this replica's own (started
// while it had fallen back, when no peer heard of them).
func (s *State) syncCooldowns() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timeout)
	defer cancel()
	all, err := s.rdb.HGetAll(ctx, s.key("cooldowns")).Result()
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	pipe := s.rdb.Pipeline()
	for provider, v := range all {
		var e cooldownEntry
		if json.Unmarshal([]byte(v), &e) != nil {
			pipe.HDel(ctx, s.key("cooldowns"), provider)
			continue
		}
		left := time.UnixMilli(e.UntilMS).Sub(now)
		if left <= 0 {
			pipe.HDel(ctx, s.key("cooldowns"), provider)
			continue
		}
		s.applyCooldown(health.Cooldown{Provider: provider, For: left, Reason: e.Reason})
	}
	s.mu.Lock()
	ts := s.trackers
	s.mu.Unlock()
	for _, t := range ts {
		for _, st := range t.All() {
			if st.State != health.Cooling || st.CooldownLeft <= 0 {
				continue
			}
			c := health.Cooldown{Provider: st.Name, For: st.CooldownLeft, Reason: st.LastError}
			pipe.HSet(ctx, s.key("cooldowns"), st.Name, encodeEntry(now.Add(c.For), c.Reason))
			pipe.Publish(ctx, s.key("events"), encodeCooldown(s.cfg.ReplicaID, c))
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	_, err = pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return err
}

// subscribe starts listening to the events channel, replacing an earlier
// subscription; it returns once Redis has confirmed it.
func (s *State) subscribe(ctx context.Context) error {
	s.stopSubscription()
	sctx, stop := context.WithCancel(ctx)
	rctx, cancel := context.WithTimeout(sctx, 4*s.cfg.Timeout)
	defer cancel()
	ps := s.rdb.Subscribe(rctx, s.key("events"))
	if _, err := ps.Receive(rctx); err != nil {
		ps.Close()
		stop()
		return err
	}
	s.mu.Lock()
	s.subStop = func() { stop(); ps.Close() }
	s.mu.Unlock()
	go s.listen(sctx, ps)
	return nil
}

// stopSubscription ends the current subscription, if any.
func (s *State) stopSubscription() {
	s.mu.Lock()
	stop := s.subStop
	s.subStop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// listen applies the peers' messages until ctx ends or the connection
// fails (which falls back; the probe subscribes anew on rejoining). A quiet
// channel is pinged so that a dead connection is noticed.
func (s *State) listen(ctx context.Context, ps *redis.PubSub) {
	quiet := s.cfg.Heartbeat
	for {
		msg, err := ps.ReceiveTimeout(ctx, quiet)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				pctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Timeout)
				err = ps.Ping(pctx)
				cancel()
				if err == nil || ctx.Err() != nil {
					continue
				}
			}
			s.fail(err)
			return
		}
		if m, ok := msg.(*redis.Message); ok {
			s.apply(m.Payload)
		}
	}
}

// cooldownValue is the hash field value written for a queued cooldown.
func cooldownValue(now time.Time, w write) string {
	return encodeEntry(now.Add(w.ttl), w.val)
}
