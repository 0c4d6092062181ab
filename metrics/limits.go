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
}

var limitUseDesc = prometheus.NewDesc("llmgw_limit_use_ratio",
	"Each policy limit's use: the used fraction of its tightest bound, the highest among its counters (1: spent).",
	[]string{"limit"}, nil)

func newLimitMetrics() *limitMetrics {
	return &limitMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_limit_refusals_total", Help: "Requests a policy limit refused (shadow=\"false\": answered 429) or would have refused (shadow=\"true\": served).",
		}, []string{"limit", "shadow"}),
	}
}

// Describe and Collect make limitMetrics the collector of
// llmgw_limit_use_ratio.
func (l *limitMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- limitUseDesc }

func (l *limitMetrics) Collect(ch chan<- prometheus.Metric) {
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
