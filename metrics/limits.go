package metrics

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// limitMetrics are the metrics of the policy's limit() declarations.
type limitMetrics struct {
	refusals *prometheus.CounterVec
	// use reads each limit's use when /metrics is scraped: the counters
	// live in the limits Store, and reading them per request would cost
	// every request a scan.
	use atomic.Pointer[func() map[string]float64]
	// table reads the size of the in-process counters' table and how many
	// were evicted from it, when the store has one.
	table atomic.Pointer[func() (held int, evicted int64)]
}

var limitUseDesc = prometheus.NewDesc("llmgw_limit_use_ratio",
	"Each policy limit's use: the used fraction of its tightest bound, the highest among its counters (1: spent).",
	[]string{"limit"}, nil)

var (
	limitCountersDesc = prometheus.NewDesc("llmgw_limit_counters",
		"Counters the in-process limits store holds: one per limit, or per value of the field a limit is split by.", nil, nil)
	limitEvictedDesc = prometheus.NewDesc("llmgw_limit_counters_evicted_total",
		"Counters the in-process limits store forgot before they were idle, to stay within its bound (their values' counts start again).", nil, nil)
)

func newLimitMetrics() *limitMetrics {
	return &limitMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_limit_refusals_total", Help: "Requests a policy limit refused (shadow=\"false\": answered 429) or would have refused (shadow=\"true\": served).",
		}, []string{"limit", "shadow"}),
	}
}

// Describe and Collect make limitMetrics the collector of
// llmgw_limit_use_ratio.
func (l *limitMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- limitUseDesc
	ch <- limitCountersDesc
	ch <- limitEvictedDesc
}

func (l *limitMetrics) Collect(ch chan<- prometheus.Metric) {
	if f := l.table.Load(); f != nil {
		held, evicted := (*f)()
		ch <- prometheus.MustNewConstMetric(limitCountersDesc, prometheus.GaugeValue, float64(held))
		ch <- prometheus.MustNewConstMetric(limitEvictedDesc, prometheus.CounterValue, float64(evicted))
	}
	f := l.use.Load()
	if f == nil {
		return
	}
	for name, v := range (*f)() {
		ch <- prometheus.MustNewConstMetric(limitUseDesc, prometheus.GaugeValue, v, name)
	}
}

// LimitRefusal counts a request the limit refused, or would have refused
// when shadow.
func (m *Metrics) LimitRefusal(limit string, shadow bool) {
	if m == nil {
		return
	}
	m.limits.refusals.WithLabelValues(limit, strconv.FormatBool(shadow)).Inc()
}

// SetLimitUse sets where llmgw_limit_use_ratio comes from: use returns
// each declared limit's use (limit name → used fraction of its tightest
// bound) and is called at every scrape. Limit names come from the policy,
// never from clients, so the series stay few.
func (m *Metrics) SetLimitUse(use func() map[string]float64) {
	if m == nil {
		return
	}
	m.limits.use.Store(&use)
}

// SetLimitTable sets where llmgw_limit_counters and
// llmgw_limit_counters_evicted_total come from: table returns the number
// of counters the in-process limits store holds and how many it evicted
// to stay within its bound. Without it neither is exported.
func (m *Metrics) SetLimitTable(table func() (held int, evicted int64)) {
	if m == nil {
		return
	}
	m.limits.table.Store(&table)
}
