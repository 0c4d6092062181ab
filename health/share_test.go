package health

import (
	"testing"
	"time"
)

// TestOnCooldownReportsOwnCooldowns checks that every cooldown a Tracker
// starts itself reaches Config.OnCooldown with the time left and the
// reason, and that a cooldown applied from a peer is not echoed back.
func TestOnCooldownReportsOwnCooldowns(t *testing.T) {
	clk := newClock()
	var got []Cooldown
	tr := New(Config{Now: clk.Now, BaseCooldown: time.Second, MaxCooldown: 10 * time.Second, Jitter: -1,
		OnCooldown: func(c Cooldown) { got = append(got, c) }})

	tr.MarkFailed("a", "timeout")
	tr.MarkFailed("a", "again") // already cooling: no new cooldown
	tr.Cooldown("b", 30*time.Second, "429")
	tr.Begin("c")(Outcome{Err: true, MarkFailed: true, Reason: "500"})
	tr.Begin("d")(Outcome{Err: true, Reason: "503"}) // a failure without cooldown
	tr.ApplyCooldown(Cooldown{Provider: "e", For: 5 * time.Second, Reason: "peer"})

	want := []Cooldown{
		{Provider: "a", For: time.Second, Reason: "timeout"},
		{Provider: "b", For: 30 * time.Second, Reason: "429"},
		{Provider: "c", For: time.Second, Reason: "500"},
	}
	if len(got) != len(want) {
		t.Fatalf("OnCooldown got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("OnCooldown #%d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestApplyCooldown checks that a peer's cooldown takes the provider out
// of traffic for its time left, never shortens a longer one, and leaves
// the backoff exponent alone.
func TestApplyCooldown(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)

	tr.ApplyCooldown(Cooldown{Provider: "p", For: 3 * time.Second, Reason: "429 on a peer"})
	wantState(t, tr, "p", Cooling, false)
	if st := tr.Snapshot("p"); st.CooldownLeft != 3*time.Second || st.LastError != "429 on a peer" {
		t.Errorf("after ApplyCooldown: left %v, last error %q; want 3s and the peer's reason", st.CooldownLeft, st.LastError)
	}
	tr.ApplyCooldown(Cooldown{Provider: "p", For: time.Second})
	if left := tr.Snapshot("p").CooldownLeft; left != 3*time.Second {
		t.Errorf("a shorter peer cooldown changed the time left to %v, want 3s", left)
	}
	tr.ApplyCooldown(Cooldown{Provider: "q", For: 0})
	wantState(t, tr, "q", Healthy, true)

	clk.Advance(3 * time.Second)
	wantState(t, tr, "p", HalfOpen, true)
	// The trial fails: the backoff starts at its first step, since a
	// peer's cooldown did not count as a local failure level.
	tr.Begin("p")(Outcome{Err: true, MarkFailed: true})
	if left := tr.Snapshot("p").CooldownLeft; left != time.Second {
		t.Errorf("first local failure after a peer cooldown: %v left, want the base 1s", left)
	}
}
