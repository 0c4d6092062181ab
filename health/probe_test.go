package health

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestProberCheck(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.Begin("healthy")(Outcome{})
	tr.MarkFailed("recovers", "500")
	tr.MarkFailed("still-down", "500")
	clk.Advance(time.Second) // "recovers" and "still-down" are half-open
	tr.MarkFailed("cooling", "500")

	var mu sync.Mutex
	var probed []string
	pr := NewProber(ProberConfig{Tracker: tr, Probe: func(ctx context.Context, name string) error {
		mu.Lock()
		probed = append(probed, name)
		mu.Unlock()
		// While a probe runs, it is the trial: no one else is admitted.
		if tr.Available(name) {
			t.Errorf("Available(%s) during its probe = true, want false", name)
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("probe of %s: ctx has no deadline, want the probe timeout", name)
		}
		if name == "still-down" {
			return errors.New("connection refused")
		}
		return nil
	}})
	pr.Check(t.Context())

	slices.Sort(probed)
	if want := []string{"recovers", "still-down"}; !slices.Equal(probed, want) {
		t.Errorf("Check probed %v, want %v", probed, want)
	}
	wantState(t, tr, "recovers", Healthy, true)
	st := tr.Snapshot("still-down")
	if st.State != Cooling || st.CooldownLeft != 2*time.Second || st.LastError != "probe: connection refused" {
		t.Errorf("Snapshot(still-down) = %s for %v, last error %q; want %s for 2s, last error %q",
			st.State, st.CooldownLeft, st.LastError, Cooling, "probe: connection refused")
	}
	if st.Requests != 0 {
		t.Errorf("Snapshot(still-down).Requests = %d, want 0: probes are not requests", st.Requests)
	}
	wantState(t, tr, "cooling", Cooling, false)
}

func TestProberSkipsTrialInFlight(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.MarkFailed("p", "500")
	clk.Advance(time.Second)
	done := tr.Begin("p") // a request holds the trial
	pr := NewProber(ProberConfig{Tracker: tr, Probe: func(context.Context, string) error {
		t.Error("probe ran while a trial request was in flight")
		return nil
	}})
	pr.Check(t.Context())
	done(Outcome{})
	wantState(t, tr, "p", Healthy, true)
}

func TestProberRunStops(t *testing.T) {
	tr := New(Config{})
	pr := NewProber(ProberConfig{Tracker: tr, Probe: func(context.Context, string) error { return nil }, Interval: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- pr.Run(ctx) }()
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

func TestNewProberPanicsWithoutProbe(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewProber without a Probe did not panic")
		}
	}()
	NewProber(ProberConfig{Tracker: New(Config{})})
}
