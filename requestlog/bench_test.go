package requestlog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmgw/llmgw/llm"
)

func benchRecord(i int) *Record {
	return &Record{
		Time: t0, RequestID: fmt.Sprint("req-", i), Key: "team-a", Endpoint: "/v1/chat/completions",
		ProtocolIn: "openai", ProtocolOut: "openai", Model: "gpt-4o", UpstreamModel: "gpt-4o", Provider: "openai-main",
		Status: 200, Latency: 850 * time.Millisecond, TTFT: 120 * time.Millisecond,
		Usage:      llm.Usage{InputTokens: 1200, OutputTokens: 300, CacheReadTokens: 4000},
		CostMicros: ptr[int64](9000), PriceSource: "builtin", PolicyHash: "ab12cd", Sticky: "hit",
		Features: []byte(`{"model":"gpt-4o","stream":true,"key":"team-a"}`),
		Attempts: []Attempt{{N: 1, Provider: "openai-main", Model: "gpt-4o", Status: 200, Latency: 840 * time.Millisecond, FirstByte: true}},
	}
}

// BenchmarkWriterBatch measures committed rows per second through the
// writer, by batch size. Records are queued up front, so the figure is
// the writer's own throughput (one request row plus one attempt row each).
func BenchmarkWriterBatch(b *testing.B) {
	for _, size := range []int{1, 16, 100, 256, 1024} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			db := openTest(b)
			recs := make([]*Record, b.N)
			for i := range recs {
				recs[i] = benchRecord(i)
			}
			w := NewWriter(db, WriterConfig{QueueSize: b.N + 1, BatchSize: size})
			b.ResetTimer()
			for _, r := range recs {
				w.Record(r)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Run drains everything queued, then returns
			start := time.Now()
			if err := w.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
			if st := w.Stats(); st.Written != int64(b.N) {
				b.Fatalf("Written = %d, want %d", st.Written, b.N)
			}
		})
	}
}

// BenchmarkRecord measures what Record costs the request goroutine when
// the queue has room: the queue holds b.N records, so it never blocks.
func BenchmarkRecord(b *testing.B) {
	db := openTest(b)
	w := NewWriter(db, WriterConfig{QueueSize: b.N + 1, MaxWait: -1})
	r := benchRecord(0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(r)
		}
	})
	if st := w.Stats(); st.Shed != 0 {
		b.Fatalf("Shed = %d, want 0", st.Shed)
	}
}

// BenchmarkPostgresWriter measures committed rows per second through the
// writer on PostgreSQL (COPY batches of up to pgMaxBatch rows), each
// record a request row and an attempt row, as BenchmarkWriterBatch does
// for SQLite. The goal is at least 20k rows/s on a development machine.
func BenchmarkPostgresWriter(b *testing.B) {
	db := openPGTest(b)
	recs := make([]*Record, b.N)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	w := NewWriter(db, WriterConfig{QueueSize: b.N + 1})
	b.ResetTimer()
	for _, r := range recs {
		w.Record(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run drains everything queued, then returns
	start := time.Now()
	if err := w.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	if st := w.Stats(); st.Written != int64(b.N) {
		b.Fatalf("Written = %d, want %d (%+v)", st.Written, b.N, st)
	}
}
