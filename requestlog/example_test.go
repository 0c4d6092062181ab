package requestlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "llmgw")
	defer os.RemoveAll(dir)
	db, err := requestlog.Open(ctx, filepath.Join(dir, "llmgw.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	// main starts the writer under its errgroup and cancels to stop it.
	w := requestlog.NewWriter(db, requestlog.WriterConfig{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(runCtx) }()

	// Request goroutines record.
	cost := int64(4500)
	w.Record(&requestlog.Record{
		Time: time.Now(), RequestID: "req-1", Key: "team-a", Model: "gpt-4o", Provider: "openai-main",
		Status: 200, Usage: llm.Usage{InputTokens: 1000, OutputTokens: 200}, CostMicros: &cost, PriceSource: "builtin",
	})

	stop()
	<-done // everything recorded is committed
	st, _ := db.Stats(ctx, time.Now().Add(-time.Hour))
	fmt.Println(st.Requests, st.InputTokens, st.CostUSD, w.Stats().Written)
	// Output: 1 1000 0.0045 1
}
