package metrics

import "github.com/prometheus/client_golang/prometheus"

// StateStats are the shared state's counters (`llmgw start --state`), read
// at every scrape.
type StateStats struct {
	// Shared is true while the replica uses the shared state, false while
	// it serves from its own (fallback).
	Shared bool
	// Fallbacks and Rejoins count the transitions since start; Errors the
	// failed calls to the shared state; Dropped the writes dropped.
	Fallbacks, Rejoins, Errors, Dropped int64
	// AllowanceAdmits counts the requests admitted from the replica's
	// limit allowances, without a round trip.
	AllowanceAdmits int64
}

var (
	stateSharedDesc    = prometheus.NewDesc("llmgw_state_shared", "1 while this replica uses the shared state (Redis), 0 while it serves from its own after a failure.", nil, nil)
	stateFallbacksDesc = prometheus.NewDesc("llmgw_state_fallbacks_total", "Times this replica fell back to its own state because Redis was unreachable.", nil, nil)
	stateRejoinsDesc   = prometheus.NewDesc("llmgw_state_rejoins_total", "Times this replica rejoined the shared state after a fallback.", nil, nil)
	stateErrorsDesc    = prometheus.NewDesc("llmgw_state_errors_total", "Calls to the shared state that failed or timed out.", nil, nil)
	stateDroppedDesc   = prometheus.NewDesc("llmgw_state_writes_dropped_total", "Writes to the shared state dropped (queue full, or Redis unreachable).", nil, nil)
	stateAllowedDesc   = prometheus.NewDesc("llmgw_state_allowance_admits_total", "Requests admitted from this replica's limit allowances, without a round trip to Redis.", nil, nil)
)

// RegisterState exports the shared state's counters, read through f at
// every scrape. Call it once; a gateway without --state does not, and has
// none of these metrics.
func (m *Metrics) RegisterState(f func() StateStats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(stateCollector(f))
}

// stateCollector exports StateStats at scrape time.
type stateCollector func() StateStats

// Describe implements prometheus.Collector.
func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateSharedDesc
	ch <- stateFallbacksDesc
	ch <- stateRejoinsDesc
	ch <- stateErrorsDesc
	ch <- stateDroppedDesc
	ch <- stateAllowedDesc
}

// Collect implements prometheus.Collector.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	shared := 0.0
	if s.Shared {
		shared = 1
	}
	ch <- prometheus.MustNewConstMetric(stateSharedDesc, prometheus.GaugeValue, shared)
	ch <- prometheus.MustNewConstMetric(stateFallbacksDesc, prometheus.CounterValue, float64(s.Fallbacks))
	ch <- prometheus.MustNewConstMetric(stateRejoinsDesc, prometheus.CounterValue, float64(s.Rejoins))
	ch <- prometheus.MustNewConstMetric(stateErrorsDesc, prometheus.CounterValue, float64(s.Errors))
	ch <- prometheus.MustNewConstMetric(stateDroppedDesc, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(stateAllowedDesc, prometheus.CounterValue, float64(s.AllowanceAdmits))
}
