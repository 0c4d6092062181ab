package metrics

import "testing"

func TestStateMetrics(t *testing.T) {
	m := New()
	stats := StateStats{Shared: false, Fallbacks: 2, Rejoins: 1, Errors: 7, Dropped: 3, AllowanceAdmits: 11}
	m.RegisterState(func() StateStats { return stats })
	read := func() map[string]float64 {
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, mt := range mf.GetMetric() {
				switch {
				case mt.GetCounter() != nil:
					got[mf.GetName()] = mt.GetCounter().GetValue()
				case mt.GetGauge() != nil:
					got[mf.GetName()] = mt.GetGauge().GetValue()
				}
			}
		}
		return got
	}
	want := map[string]float64{
		"llmgw_state_shared": 0, "llmgw_state_fallbacks_total": 2, "llmgw_state_rejoins_total": 1,
		"llmgw_state_errors_total": 7, "llmgw_state_writes_dropped_total": 3,
		"llmgw_state_allowance_admits_total": 11,
	}
	got := read()
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	stats.Shared = true
	if got := read()["llmgw_state_shared"]; got != 1 {
		t.Errorf("llmgw_state_shared = %v after rejoining, want 1", got)
	}
}
