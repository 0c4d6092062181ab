// Command mockupstream serves the benchmark mock upstream (see package
// bench/mockupstream) on a loopback address.
//
//	mockupstream -listen 127.0.0.1:9101 -paced-chunks 64 -paced-interval 20ms -slow-latency 1s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmgw/llmgw/bench/mockupstream"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mockupstream:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg mockupstream.Config
	listen := flag.String("listen", "127.0.0.1:9101", "address to listen on")
	flag.DurationVar(&cfg.Fast.Latency, "latency", 0, "default profile: wait before headers")
	flag.DurationVar(&cfg.Fast.TTFT, "ttft", 0, "default profile: wait before the first content")
	flag.IntVar(&cfg.Fast.Chunks, "chunks", 0, "default profile: stream chunks (0: one per token)")
	flag.DurationVar(&cfg.Fast.Interval, "interval", 0, "default profile: wait between chunks")
	flag.DurationVar(&cfg.Paced.TTFT, "paced-ttft", 0, "model mock-paced: wait before the first content")
	flag.IntVar(&cfg.Paced.Chunks, "paced-chunks", 64, "model mock-paced: stream chunks")
	flag.DurationVar(&cfg.Paced.Interval, "paced-interval", 20*time.Millisecond, "model mock-paced: wait between chunks")
	flag.DurationVar(&cfg.Slow.Latency, "slow-latency", time.Second, "model mock-slow: wait before headers")
	flag.IntVar(&cfg.Slow.Chunks, "slow-chunks", 10, "model mock-slow: stream chunks")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: mockupstream.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
