package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/bench/mockupstream"
	"github.com/llmgw/llmgw/providers/demo"
)

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	want := Dist{N: 100, P50: 50, P90: 90, P99: 99, Max: 100}
	if diff := cmp.Diff(want, Summarize(d)); diff != "" {
		t.Errorf("Summarize(1..100 ms) mismatch (-want +got):\n%s", diff)
	}
	if got := Summarize(nil); got != (Dist{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}

func mock(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mockupstream.New(mockupstream.Config{
		Paced: demo.Config{Chunks: 5, Interval: 2 * time.Millisecond},
	}))
	t.Cleanup(srv.Close)
	return srv
}

const chat = `{"model":"mock","messages":[{"role":"user","content":"hi"}]}`

func TestOpenAndClosed(t *testing.T) {
	srv := mock(t)
	for _, cfg := range []Config{
		{Mode: Open, Rate: 200, Duration: 250 * time.Millisecond},
		{Mode: Closed, Concurrency: 4, Duration: 250 * time.Millisecond, MaxRequests: 40, PID: os.Getpid()},
	} {
		cfg.URL, cfg.Body = srv.URL+"/v1/chat/completions", []byte(chat)
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Run(%s): %v", cfg.Mode, err)
		}
		if res.Errors != 0 || res.OK == 0 || res.OK != res.Requests || res.Latency.N != int(res.OK) {
			t.Errorf("Run(%s) = %+v, want only successes", cfg.Mode, res)
		}
		if cfg.Mode == Open && res.Requests != 50 {
			t.Errorf("open loop at 200/s for 250ms started %d requests, want 50", res.Requests)
		}
		if cfg.Mode == Closed && (res.Requests > 40 || res.Proc == nil || res.Proc.Samples < 1) {
			t.Errorf("closed loop: %d requests (cap 40), proc %+v", res.Requests, res.Proc)
		}
	}
}

func TestSSEFidelity(t *testing.T) {
	srv := mock(t)
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"mock-paced","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"mock-paced","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/responses", `{"model":"mock-paced","stream":true,"input":"hi"}`},
		{"/v1beta/models/mock-paced:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`},
	} {
		res, err := Run(context.Background(), Config{Mode: SSE, URL: srv.URL + tc.path, Body: []byte(tc.body),
			Concurrency: 2, Duration: 100 * time.Millisecond, MaxRequests: 6, ExpectEvents: 5})
		if err != nil {
			t.Fatalf("Run(sse %s): %v", tc.path, err)
		}
		if res.Errors != 0 || res.StreamsFaithful != 1 || res.Events != 5*res.OK {
			t.Errorf("sse %s: %+v (first error %q), want every stream with 5 content events", tc.path, res, res.FirstError)
		}
		if res.TTFC == nil || res.TTFC.N != int(res.OK) || res.Gaps.N != 4*int(res.OK) {
			t.Errorf("sse %s: ttfc %+v gaps %+v, want one TTFC and 4 gaps per stream", tc.path, res.TTFC, res.Gaps)
		}
	}
}

func TestSSEDetectsTruncation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("event: content_block_delta\ndata: {}\n\n")) // no message_stop
	}))
	defer srv.Close()
	res, _ := Run(context.Background(), Config{Mode: SSE, URL: srv.URL, Concurrency: 1, MaxRequests: 1, Duration: time.Second})
	if res.Errors != 1 || res.OK != 0 {
		t.Errorf("a stream without its final event: %+v, want 1 error", res)
	}
}

func TestReadProc(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatalf("ReadProc(self): %v", err)
	}
	if s.RSS <= 0 || s.Threads < 1 || s.FDs < 3 || s.HWM < s.RSS {
		t.Errorf("ReadProc(self) = %+v, want positive RSS, threads, fds", s)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Error("ReadProc(-1) succeeded, want an error")
	}
}

// TestOpenLoopConnectionCap checks that the open loop never opens more
// than Conns connections, even when the target stalls and requests pile
// up, and that the wait for a connection counts in the latency.
func TestOpenLoopConnectionCap(t *testing.T) {
	var mu sync.Mutex
	open, peak := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // slower than the schedule: requests queue
		w.Write([]byte("{}"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			peak = max(peak, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	res, err := Run(context.Background(), Config{Mode: Open, URL: srv.URL, Rate: 400, Conns: 2, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if res.Errors != 0 || res.OK != 40 || res.Conns != 2 {
		t.Fatalf("Run = %+v, want 40 successes over 2 connections", res)
	}
	if peak > 2 {
		t.Errorf("peak connections %d, want at most 2", peak)
	}
	// 40 requests of 20 ms over 2 connections take 400 ms: the last ones
	// waited about 300 ms for a connection, and that is in their latency.
	if res.Latency.Max < 200 {
		t.Errorf("max latency %.1f ms, want the wait for a connection counted (>= 200 ms)", res.Latency.Max)
	}
}

// TestStagger checks that Stagger spreads the workers' first requests over
// its span (worker i starts i/c of the way in), and that without it they
// start together. Only lower bounds on the spread are asserted: a sleep is
// never shorter than asked, however busy the machine.
func TestStagger(t *testing.T) {
	for _, tc := range []struct {
		stagger time.Duration
		minGap  time.Duration // between the first and the last worker's first request
		maxGap  time.Duration // 0: no upper bound
	}{
		{stagger: 400 * time.Millisecond, minGap: 250 * time.Millisecond}, // worker 3 starts 300 ms in
		{stagger: 0, maxGap: 200 * time.Millisecond},
	} {
		var mu sync.Mutex
		var arrivals []time.Time
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
			time.Sleep(time.Second) // each worker sends one request in the run
		}))
		res, err := Run(context.Background(), Config{Mode: Closed, URL: srv.URL, Concurrency: 4, Stagger: tc.stagger, Duration: 500 * time.Millisecond})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StaggerS != tc.stagger.Seconds() {
			t.Errorf("stagger %v: result records %v s", tc.stagger, res.StaggerS)
		}
		mu.Lock()
		if len(arrivals) != 4 {
			t.Fatalf("stagger %v: %d requests, want one per worker", tc.stagger, len(arrivals))
		}
		gap := arrivals[3].Sub(arrivals[0])
		mu.Unlock()
		if gap < tc.minGap || (tc.maxGap > 0 && gap > tc.maxGap) {
			t.Errorf("stagger %v: first requests spread over %v, want at least %v (at most %v when not 0)", tc.stagger, gap, tc.minGap, tc.maxGap)
		}
	}
}

// TestSessions checks that -sessions gives the requests the session ids
// in turn, in the header asked for.
func TestSessions(t *testing.T) {
	tests := []struct {
		name, header string
		sessions     int
		want         map[string]int
	}{
		{"three sessions, default header", "", 3, map[string]int{"bench-0": 4, "bench-1": 3, "bench-2": 3}},
		{"one session, own header", "session-id", 1, map[string]int{"bench-0": 10}},
		{"none", "", 0, map[string]int{"": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			got := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := tt.header
				if h == "" {
					h = "x-session-id"
				}
				mu.Lock()
				got[r.Header.Get(h)]++
				mu.Unlock()
			}))
			defer srv.Close()
			res, err := Run(context.Background(), Config{Mode: Closed, Concurrency: 2, URL: srv.URL, MaxRequests: 10,
				Duration: 5 * time.Second, Sessions: tt.sessions, SessionHeader: tt.header})
			if err != nil || res.OK != 10 {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("session ids (-want +got):\n%s", diff)
			}
		})
	}
}
