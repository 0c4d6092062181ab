// Command bareproxy is the benchmark baseline: net/http/httputil's
// ReverseProxy with a pooled copy buffer and enough idle upstream
// connections, the floor any Go gateway is measured against.
//
//	bareproxy -listen 127.0.0.1:9102 -upstream http://127.0.0.1:9101
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
}

// bufferPool is httputil.BufferPool over a sync.Pool of 32 KiB buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func run() error {
	listen := flag.String("listen", "127.0.0.1:9102", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:9101", "upstream base URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		return fmt.Errorf("parse upstream: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.BufferPool = &bufferPool{}
	rp.Transport = &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
