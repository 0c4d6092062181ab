package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/providers/providertest"
)

// Server limits: what HTTPServer enforces against slow, idle, oversized
// and too many clients. Every wait is bounded; durations are asserted only
// as lower bounds (a limit never fires early), never as upper ones.

const demoPolicy = "d = provider(\"demo\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"

// serveHTTP serves gw through the http.Server its HTTPServer builds, so
// that the server limits apply, and returns the listening address.
func serveHTTP(t *testing.T, gw *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gw.HTTPServer(ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestHTTPServerLimits(t *testing.T) {
	type limits struct {
		ReadHeaderTimeout, IdleTimeout, ReadTimeout, WriteTimeout time.Duration
		MaxHeaderBytes                                            int
	}
	tests := []struct {
		name string
		cfg  func(*Config)
		want limits
	}{
		{"zero values are the defaults", func(*Config) {}, limits{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 1 << 20}},
		{"configured", func(c *Config) {
			c.ReadHeaderTimeout, c.IdleTimeout, c.MaxHeaderBytes = 3*time.Second, 7*time.Second, 4096
		}, limits{ReadHeaderTimeout: 3 * time.Second, IdleTimeout: 7 * time.Second, MaxHeaderBytes: 4096}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, demoPolicy, tt.cfg)
			srv := h.gw.HTTPServer("127.0.0.1:0")
			got := limits{srv.ReadHeaderTimeout, srv.IdleTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.MaxHeaderBytes}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("HTTPServer limits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrencyCap fills every slot with requests held by the upstream,
// checks that each front door then answers 503 in its caller's shape with
// Retry-After, and that requests succeed again once the slots free.
func TestConcurrencyCap(t *testing.T) {
	const slots = 2
	arrived := make(chan struct{}, slots)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // never leave the upstream's handlers blocked

	up := providertest.New(t, providertest.Reply{})
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default: // more arrivals than slots: the test reports it below
		}
		select {
		case <-release:
			providertest.Write(w, r, okReply(t))
		case <-r.Context().Done():
		}
	})
	h := newHarness(t, providerDecl("o", "openai", up.URL, "")+`
d = provider("demo", kind = "demo")
def route(req, ctx):
    if req.protocol == "openai":
        return [o]
    return [d]
`, func(c *Config) { c.MaxConcurrent = slots })
	addr := serveHTTP(t, h.gw)

	held := make(chan *http.Response, slots)
	for range slots {
		go func() {
			resp, err := postTimeout(addr, "/v1/chat/completions", chatBody)
			if err != nil {
				t.Errorf("held request: %v", err)
				resp = &http.Response{}
			}
			held <- resp
		}()
	}
	for i := range slots {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests reached the upstream", i, slots)
		}
	}

	for _, d := range doors {
		resp, body := sendRaw(t, addr, rawRequest(d, badCase{body: d.good}), false)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s at capacity = %d %s, want 503", d.name, resp.StatusCode, body)
			continue
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" {
			t.Errorf("%s at capacity: no Retry-After", d.name)
		}
		if err := checkErrorShape(d.shape, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("%s at capacity: %v; body %s", d.name, err, body)
		}
		if rec := recordOf(t, h.rec, resp.Header.Get("X-Request-Id")); rec.Status != 503 || rec.ErrorClass != "capacity" {
			t.Errorf("%s at capacity logged as %d %q, want 503 capacity", d.name, rec.Status, rec.ErrorClass)
		}
	}
	if n := up.Count(); n != slots {
		t.Errorf("the upstream got %d requests, want only the %d held ones", n, slots)
	}

	unblock()
	for range slots {
		select {
		case resp := <-held:
			if resp.StatusCode != http.StatusOK {
				t.Errorf("held request = %d, want 200", resp.StatusCode)
			}
			// The slot is freed before the log row is written.
			recordOf(t, h.rec, resp.Header.Get("X-Request-Id"))
		case <-time.After(10 * time.Second):
			t.Fatal("a held request never finished")
		}
	}
	for _, d := range doors {
		if d.shape == "openai" && d.name != "chat" {
			continue // the fake upstream only speaks chat completions
		}
		resp, body := sendRaw(t, addr, rawRequest(d, badCase{body: d.good}), false)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s after the slots freed = %d %s, want 200", d.name, resp.StatusCode, body)
		}
	}
}

// postTimeout posts a JSON body with a bounded client.
func postTimeout(addr, path, body string) (*http.Response, error) {
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Post("http://"+addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

// TestSlowloris opens many connections that dribble a request header and
// never finish it: each is closed once ReadHeaderTimeout passes, and a
// normal client is served meanwhile, even with more slow connections than
// concurrency slots.
func TestSlowloris(t *testing.T) {
	const (
		conns   = 32
		timeout = 500 * time.Millisecond
	)
	h := newHarness(t, demoPolicy, func(c *Config) {
		c.ReadHeaderTimeout = timeout
		c.MaxConcurrent = 4
	})
	addr := serveHTTP(t, h.gw)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	closed := make(chan error, conns)
	for range conns {
		start := time.Now()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: llmgw.test\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { // dribble one header line every 50 ms, at most 20 s
			defer wg.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < 400; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: x\r\n", i); err != nil {
					return // closed by the server
				}
			}
		}()
		go func() { // wait for the server to close the connection
			defer wg.Done()
			_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, err := io.Copy(io.Discard, conn)
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				closed <- errors.New("still open after 15 s")
			case time.Since(start) < timeout:
				closed <- fmt.Errorf("closed after %v, before ReadHeaderTimeout", time.Since(start))
			default:
				closed <- nil
			}
		}()
	}

	for i := range 5 {
		resp, err := postTimeout(addr, "/v1/chat/completions", chatBody)
		if err != nil {
			t.Fatalf("normal request %d during the slowloris: %v", i, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("normal request %d during the slowloris = %d, want 200", i, resp.StatusCode)
		}
	}
	for range conns {
		if err := <-closed; err != nil {
			t.Errorf("slow connection: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestSlowBody sends headers and part of a body, then stalls: the gateway
// answers 408 in the caller's shape after BodyTimeout, logs it, and frees
// the slot.
func TestSlowBody(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHarness(t, demoPolicy, func(c *Config) {
		c.BodyTimeout = timeout
		c.MaxConcurrent = 1
	})
	addr := serveHTTP(t, h.gw)
	for _, d := range []door{doors[0], doors[3], doors[5]} {
		t.Run(d.name, func(t *testing.T) {
			start := time.Now()
			stalled := rawRequest(d, badCase{rawBody: fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(d.good), d.good[:10])})
			resp, body := sendRaw(t, addr, stalled, false)
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status = %d %s, want 408", resp.StatusCode, body)
			}
			if since := time.Since(start); since < timeout {
				t.Errorf("answered after %v, before BodyTimeout %v", since, timeout)
			}
			if err := checkErrorShape(d.shape, resp.StatusCode, resp.Header, body); err != nil {
				t.Errorf("error body: %v; body %s", err, body)
			}
			if rec := recordOf(t, h.rec, resp.Header.Get("X-Request-Id")); rec.Status != http.StatusRequestTimeout {
				t.Errorf("logged status %d, want 408", rec.Status)
			}
			if resp, body := sendRaw(t, addr, rawRequest(d, badCase{body: d.good}), false); resp.StatusCode != http.StatusOK {
				t.Errorf("next request = %d %s, want 200 (the only slot must be free)", resp.StatusCode, body)
			}
		})
	}
}

func TestMaxHeaderBytes(t *testing.T) {
	const limit = 8 << 10
	h := newHarness(t, demoPolicy, func(c *Config) { c.MaxHeaderBytes = limit })
	addr := serveHTTP(t, h.gw)
	tests := []struct {
		name string
		size int
		want int
	}{
		{"well under the limit", limit / 4, http.StatusOK},
		{"far over the limit", 8 * limit, http.StatusRequestHeaderFieldsTooLarge},
		{"megabytes", 4 << 20, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := rawRequest(doors[0], badCase{hdr: []string{"X-Big", strings.Repeat("h", tt.size)}, body: chatBody})
			if resp, body := sendRaw(t, addr, req, false); resp.StatusCode != tt.want {
				t.Errorf("header of %d bytes = %d %.200s, want %d", tt.size, resp.StatusCode, body, tt.want)
			}
		})
	}
}

// TestIdleTimeout checks that a keep-alive connection left idle is closed
// by the server after IdleTimeout (the default is two minutes, so a close
// within the bounded wait shows the configured value is used).
func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, demoPolicy, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	addr := serveHTTP(t, h.gw)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	req := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: llmgw.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(chatBody), chatBody)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("keep-alive request = %d (close %t), want 200 on an open connection", resp.StatusCode, resp.Close)
	}
	n, err := br.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the idle connection was still open after 15 s")
	}
	if n != 0 || err == nil {
		t.Errorf("idle connection read = %d, %v; want it closed", n, err)
	}
}
