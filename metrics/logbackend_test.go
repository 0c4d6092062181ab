package metrics

import (
	"strings"
	"testing"
)

// TestLogBackend: the writer's held rows, the log's reachability, its
// outages and refused rows are exported; a second registration replaces
// the first instead of failing.
func TestLogBackend(t *testing.T) {
	m := New()
	m.RegisterLogBackend(func() LogBackend { return LogBackend{} })
	m.RegisterLogBackend(func() LogBackend { return LogBackend{Buffered: 1500, Unavailable: true, Outages: 2, Failed: 3} })
	body := scrape(t, m)
	for _, want := range []string{
		"llmgw_log_rows_buffered 1500",
		"llmgw_log_unavailable 1",
		"llmgw_log_outages_total 2",
		"llmgw_log_rows_failed_total 3",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.RegisterLogBackend(func() LogBackend { return LogBackend{} }) // no panic
}
