package metrics

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// LogBackend is what the request-log writer reports beyond its queue: the
// rows it holds in memory (on PostgreSQL, while the server does not
// answer), whether the server is unreachable now, how often it has been,
// and the rows the database refused.
type LogBackend struct {
	Buffered    int64
	Unavailable bool
	Outages     int64
	Failed      int64
}

// RegisterLogBackend sets the function that reports LogBackend (wire it
// to requestlog.Writer.Stats). It is read at every scrape; a later call
// replaces the earlier one. An alert on llmgw_log_unavailable says that
// the log is being held in memory before any row is lost.
func (m *Metrics) RegisterLogBackend(f func() LogBackend) {
	if m == nil {
		return
	}
	c := &logBackendCollector{}
	c.f.Store(&f)
	if err := m.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(*logBackendCollector); ok {
				old.f.Store(&f)
			}
		}
	}
}

// logBackendCollector exports LogBackend at scrape time.
type logBackendCollector struct {
	f atomic.Pointer[func() LogBackend]
}

var (
	logBufferedDesc    = prometheus.NewDesc("llmgw_log_rows_buffered", "Request-log rows the writer holds in memory (on PostgreSQL: waiting for their batch or for the server to answer).", nil, nil)
	logUnavailableDesc = prometheus.NewDesc("llmgw_log_unavailable", "1 while the request log's PostgreSQL does not answer (rows are held in memory), else 0.", nil, nil)
	logOutagesDesc     = prometheus.NewDesc("llmgw_log_outages_total", "Times the request log's PostgreSQL stopped answering.", nil, nil)
	logFailedDesc      = prometheus.NewDesc("llmgw_log_rows_failed_total", "Request-log rows the database refused (or that a stopping writer could not write).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *logBackendCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logBufferedDesc
	ch <- logUnavailableDesc
	ch <- logOutagesDesc
	ch <- logFailedDesc
}

// Collect implements prometheus.Collector.
func (c *logBackendCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f.Load()
	if f == nil {
		return
	}
	b := (*f)()
	down := 0.0
	if b.Unavailable {
		down = 1
	}
	ch <- prometheus.MustNewConstMetric(logBufferedDesc, prometheus.GaugeValue, float64(b.Buffered))
	ch <- prometheus.MustNewConstMetric(logUnavailableDesc, prometheus.GaugeValue, down)
	ch <- prometheus.MustNewConstMetric(logOutagesDesc, prometheus.CounterValue, float64(b.Outages))
	ch <- prometheus.MustNewConstMetric(logFailedDesc, prometheus.CounterValue, float64(b.Failed))
}
