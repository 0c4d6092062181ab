// Package metrics is llmgw's Prometheus instrumentation: one registry per
// Metrics (never the global default), the counters and histograms the
// gateway updates per request, attempt, failover, policy reload and hook
// call, and a collector that reads the request-log writer's queue.
//
// Every metric name starts with "llmgw_". Label values that come from
// clients (the requested model) are capped: after MaxModels distinct
// values, further ones are reported as "other", so a client cannot blow up
// the series count.
//
// metrics imports llm and client_golang; only the gateway and cmd/llmgw
// import it.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llmgw/llmgw/llm"
)

// MaxModels bounds the distinct values of the model label; later models
// are counted under "other".
const MaxModels = 200

// latencyBuckets span a cached 5 ms answer to a ten-minute reasoning run.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// hookBuckets are for policy hooks, which run in microseconds.
var hookBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .1}

// Metrics holds llmgw's Prometheus registry and metrics. Its methods are
// safe for concurrent use; a nil *Metrics ignores every call.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	ttft         *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	cost         *prometheus.CounterVec
	unpriced     *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	failovers    *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	hookErrors   *prometheus.CounterVec
	hookDuration *prometheus.HistogramVec

	logQueue atomic.Pointer[func() (queued, written, shed int64)]
	limits   *limitMetrics

	// guards the following
	mu     sync.Mutex
	models map[string]struct{}
}

// New returns Metrics with its own registry, which also carries the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		models: make(map[string]struct{}),
		limits: newLimitMetrics(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_requests_total", Help: "Client requests by protocol, provider, requested model and HTTP status (0: no response).",
		}, []string{"protocol", "provider", "model", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llmgw_request_duration_seconds", Help: "Whole request duration.", Buckets: latencyBuckets,
		}, []string{"protocol", "provider"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llmgw_time_to_first_byte_seconds", Help: "Time to the first response byte sent to the client.", Buckets: latencyBuckets,
		}, []string{"protocol", "provider"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_tokens_total", Help: "Tokens by provider, requested model and type (input excludes cache; output includes reasoning).",
		}, []string{"provider", "model", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_cost_usd_total", Help: "Cost of priced requests in US dollars.",
		}, []string{"provider", "model"}),
		unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_unpriced_requests_total", Help: "Requests whose model has no price.",
		}, []string{"provider", "model"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_upstream_attempts_total", Help: "Upstream attempts by provider and outcome.",
		}, []string{"provider", "outcome"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_failovers_total", Help: "Failovers from one provider to the next (to is empty when none was left).",
		}, []string{"from", "to"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_policy_reloads_total", Help: "Policy reloads by result.",
		}, []string{"result"}),
		hookErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmgw_policy_hook_errors_total", Help: "Policy hook errors (exceptions, step limit, bad return values).",
		}, []string{"hook"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "llmgw_policy_hook_duration_seconds", Help: "Policy hook run time.", Buckets: hookBuckets,
		}, []string{"hook"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.ttft, m.tokens, m.cost, m.unpriced, m.attempts,
		m.failovers, m.reloads, m.hookErrors, m.hookDuration, logQueueCollector{m}, m.limits.refusals, m.limits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// model returns the label value for a requested model, capped at
// MaxModels distinct values.
func (m *Metrics) model(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.models[name]; ok {
		return name
	}
	if len(m.models) >= MaxModels {
		return "other"
	}
	m.models[name] = struct{}{}
	return name
}

// Request records one finished client request: its status (0 when no
// response was sent), latency, time to first byte (0: none), usage and
// cost (costMicros is ignored unless priced).
func (m *Metrics) Request(protocol, provider, model string, status int, latency, ttft time.Duration, u llm.Usage, costMicros int64, priced bool) {
	if m == nil {
		return
	}
	model = m.model(model)
	m.requests.WithLabelValues(protocol, provider, model, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(protocol, provider).Observe(latency.Seconds())
	if ttft > 0 {
		m.ttft.WithLabelValues(protocol, provider).Observe(ttft.Seconds())
	}
	for _, t := range []struct {
		typ string
		n   int64
	}{
		{"input", u.InputTokens}, {"output", u.OutputTokens}, {"cache_read", u.CacheReadTokens},
		{"cache_write", u.CacheWriteTokens}, {"reasoning", u.ReasoningTokens},
	} {
		if t.n > 0 {
			m.tokens.WithLabelValues(provider, model, t.typ).Add(float64(t.n))
		}
	}
	switch {
	case !priced:
		m.unpriced.WithLabelValues(provider, model).Inc()
	case costMicros > 0:
		m.cost.WithLabelValues(provider, model).Add(float64(costMicros) / 1e6)
	}
}

// Attempt records one upstream attempt; outcome is "ok" or the failure's
// class ("retry", "failover", "fail", "cooldown", "error").
func (m *Metrics) Attempt(provider, outcome string) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(provider, outcome).Inc()
}

// Failover records a move from one provider to the next; to is "" when
// the chain was exhausted.
func (m *Metrics) Failover(from, to string) {
	if m == nil {
		return
	}
	m.failovers.WithLabelValues(from, to).Inc()
}

// PolicyReload records a reload attempt; result is e.g. "ok", "error" or
// "tests_failed".
func (m *Metrics) PolicyReload(result string) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(result).Inc()
}

// HookError records a failing policy hook ("route", "classify",
// "sticky_key").
func (m *Metrics) HookError(hook string) {
	if m == nil {
		return
	}
	m.hookErrors.WithLabelValues(hook).Inc()
}

// HookLatency records how long a policy hook ran.
func (m *Metrics) HookLatency(hook string, d time.Duration) {
	if m == nil {
		return
	}
	m.hookDuration.WithLabelValues(hook).Observe(d.Seconds())
}

// RegisterLogQueue sets the function that reports the request-log
// writer's queue depth and rows written and shed since start (wire it to
// requestlog.Writer.Stats). It is read at every scrape; a later call
// replaces the earlier one.
func (m *Metrics) RegisterLogQueue(f func() (queued, written, shed int64)) {
	if m == nil {
		return
	}
	m.logQueue.Store(&f)
}

// logQueueCollector exports the request-log writer's counters at scrape
// time.
type logQueueCollector struct{ m *Metrics }

var (
	logQueuedDesc  = prometheus.NewDesc("llmgw_log_queue_depth", "Request-log records waiting to be written.", nil, nil)
	logWrittenDesc = prometheus.NewDesc("llmgw_log_rows_written_total", "Request-log rows committed.", nil, nil)
	logShedDesc    = prometheus.NewDesc("llmgw_log_rows_shed_total", "Request-log rows dropped because the queue stayed full (or the writer had stopped).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c logQueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logQueuedDesc
	ch <- logWrittenDesc
	ch <- logShedDesc
}

// Collect implements prometheus.Collector.
func (c logQueueCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.logQueue.Load()
	if f == nil {
		return
	}
	queued, written, shed := (*f)()
	ch <- prometheus.MustNewConstMetric(logQueuedDesc, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(logWrittenDesc, prometheus.CounterValue, float64(written))
	ch <- prometheus.MustNewConstMetric(logShedDesc, prometheus.CounterValue, float64(shed))
}

// Interface guards.
var _ prometheus.Collector = logQueueCollector{}
