package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode selects the generator.
type Mode string

// Modes.
const (
	Open   Mode = "open"   // Rate requests per second on a schedule (latency)
	Closed Mode = "closed" // Concurrency workers back to back (capacity)
	SSE    Mode = "sse"    // Concurrency workers reading streams (TTFC, gaps, fidelity)
)

// Config describes one run. The zero value is not runnable: URL and Mode
// are required, and Rate (Open) or Concurrency (Closed, SSE).
type Config struct {
	Mode Mode
	// URL is the target; Method defaults to POST when Body is set, GET
	// otherwise.
	URL    string
	Method string
	Body   []byte
	Header http.Header
	// Sessions, when positive, gives the requests session ids in turn:
	// request n (from 0) carries "bench-<n mod Sessions>" in header
	// SessionHeader (default x-session-id), as that many clients' sessions
	// would, so that a gateway keeps a sticky binding and a per-session
	// limit counter for each: with shared state on Redis, most requests
	// then read Redis rather than the replica's cache of it.
	Sessions      int
	SessionHeader string
	// Rate is the open-loop request rate per second.
	Rate int
	// Conns caps the open loop's connections, as wrk2 does (-c with -R): a
	// request due while every connection is busy waits for one, and that
	// wait counts in its latency (measured from its scheduled start). Zero
	// means max(64, Rate/10). Without a cap a stall of either side turns
	// into a storm of new connections (thousands of dials and TIME_WAITs at
	// 5k RPS, the bare proxy included), which measures the kernel's accept
	// queue rather than the target.
	Conns int
	// Concurrency is the number of closed-loop or SSE workers.
	Concurrency int
	// Stagger spreads the workers' first requests evenly over this long
	// (closed loop and SSE). Workers started together stay in step when
	// their requests take equal time, as paced streams do: every cycle the
	// target then gets Concurrency requests in the same instant, and every
	// 20 ms the events of all streams in the same instant, so the figures
	// measure a burst's queue rather than the latency each request adds.
	// Independent clients are not in step. Zero starts them together.
	Stagger time.Duration
	// Duration is how long requests are started; zero means 10 s.
	Duration time.Duration
	// Warmup runs the same load for this long first, unmeasured.
	Warmup time.Duration
	// Timeout bounds each request; zero means 30 s.
	Timeout time.Duration
	// MaxRequests caps the number of requests of the measured part; zero
	// means no cap beyond Duration.
	MaxRequests int
	// ExpectEvents is the number of content events each stream should
	// carry (SSE); zero skips the fidelity check.
	ExpectEvents int
	// PID, when positive, is sampled during the measured part (CPU, RSS,
	// threads, fds).
	PID int
}

// Result is the outcome of a run, as bench/run records it.
type Result struct {
	Mode        Mode    `json:"mode"`
	URL         string  `json:"url"`
	Rate        int     `json:"rate,omitempty"`
	Conns       int     `json:"conns,omitempty"` // open loop: the connection cap
	Concurrency int     `json:"concurrency,omitempty"`
	StaggerS    float64 `json:"stagger_s,omitempty"`
	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"` // started
	OK          int64   `json:"ok"`       // 2xx with a complete body
	Errors      int64   `json:"errors"`
	// FirstError is an example failure, for the report.
	FirstError string  `json:"first_error,omitempty"`
	RPS        float64 `json:"rps"` // OK per second
	Latency    Dist    `json:"latency"`
	// SSE mode: time to first content event, gaps between content events,
	// and how many streams carried exactly ExpectEvents content events.
	TTFC            *Dist   `json:"ttfc,omitempty"`
	Gaps            *Dist   `json:"gaps,omitempty"`
	Events          int64   `json:"events,omitempty"`
	StreamsFaithful float64 `json:"streams_faithful,omitempty"` // fraction
	// Proc is the sampled target process, when PID was set.
	Proc *ProcReport `json:"proc,omitempty"`
	// CPUPerRequestUS is the target's CPU time per OK request.
	CPUPerRequestUS float64 `json:"cpu_us_per_request,omitempty"`
}

// NewClient returns the HTTP client a run uses: keep-alive, at most conns
// connections (all kept when idle), no compression, loopback dialing.
func NewClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// Run executes cfg and returns its result. It is bounded by Warmup +
// Duration + Timeout.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
		if cfg.Body != nil {
			cfg.Method = http.MethodPost
		}
	}
	switch {
	case cfg.Mode == Open && cfg.Rate <= 0, cfg.Mode != Open && cfg.Concurrency <= 0:
		return Result{}, fmt.Errorf("loadgen: %s mode needs a positive rate or concurrency", cfg.Mode)
	case cfg.Mode != Open && cfg.Mode != Closed && cfg.Mode != SSE:
		return Result{}, fmt.Errorf("loadgen: unknown mode %q", cfg.Mode)
	}
	conns := cfg.Concurrency
	if cfg.Mode == Open {
		if cfg.Conns <= 0 {
			cfg.Conns = max(64, cfg.Rate/10)
		}
		conns = cfg.Conns
	}
	client := NewClient(conns)
	defer client.CloseIdleConnections()
	if cfg.Warmup > 0 {
		w := &runner{cfg: cfg, client: client}
		w.cfg.Duration, w.cfg.MaxRequests = cfg.Warmup, 0
		w.run(ctx)
	}
	r := &runner{cfg: cfg, client: client}
	var sampler *Sampler
	if cfg.PID > 0 {
		var err error
		if sampler, err = StartSampler(cfg.PID); err != nil {
			return Result{}, err
		}
	}
	start := time.Now()
	r.run(ctx)
	elapsed := time.Since(start)
	res := r.rec.result(cfg, elapsed)
	if sampler != nil {
		p := sampler.Stop()
		res.Proc = &p
		if res.OK > 0 {
			res.CPUPerRequestUS = p.CPUSeconds * 1e6 / float64(res.OK)
		}
	}
	return res, ctx.Err()
}

type runner struct {
	cfg    Config
	client *http.Client
	rec    recorder // the zero value is ready
}

// run starts the requests of one phase and waits for them.
func (r *runner) run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration+r.cfg.Timeout)
	defer cancel()
	deadline := time.Now().Add(r.cfg.Duration)
	var wg sync.WaitGroup
	if r.cfg.Mode == Open {
		interval := time.Second / time.Duration(r.cfg.Rate)
		n := int(r.cfg.Duration / interval)
		if r.cfg.MaxRequests > 0 {
			n = min(n, r.cfg.MaxRequests)
		}
		start := time.Now()
		for i := range n {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				if sleep(ctx, d) != nil {
					break
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.one(ctx, at)
			}()
		}
		wg.Wait()
		return
	}
	var budget atomic.Int64
	budget.Store(int64(r.cfg.MaxRequests))
	for i := range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.cfg.Stagger > 0 && sleep(ctx, r.cfg.Stagger*time.Duration(i)/time.Duration(r.cfg.Concurrency)) != nil {
				return
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if r.cfg.MaxRequests > 0 && budget.Add(-1) < 0 {
					return
				}
				r.one(ctx, time.Now())
			}
		}()
	}
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// one sends one request scheduled at start and records it.
func (r *runner) one(ctx context.Context, start time.Time) {
	n := r.rec.started.Add(1)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.cfg.Method, r.cfg.URL, bytes.NewReader(r.cfg.Body))
	if err != nil {
		r.rec.fail(err)
		return
	}
	for k, v := range r.cfg.Header {
		req.Header[k] = v
	}
	if r.cfg.Sessions > 0 {
		name := r.cfg.SessionHeader
		if name == "" {
			name = "x-session-id"
		}
		req.Header.Set(name, "bench-"+strconv.FormatInt((n-1)%int64(r.cfg.Sessions), 10))
	}
	if r.cfg.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.rec.fail(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		r.rec.fail(fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b))))
		return
	}
	if r.cfg.Mode == SSE {
		st, err := timeStream(resp.Body, start)
		if err != nil {
			r.rec.fail(err)
			return
		}
		r.rec.stream(st, time.Since(start), r.cfg.ExpectEvents)
		return
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		r.rec.fail(err)
		return
	}
	r.rec.ok(time.Since(start))
}

// recorder collects outcomes from concurrent requests.
type recorder struct {
	started atomic.Int64

	// guards the following
	mu       sync.Mutex
	okN      int64
	errN     int64
	firstErr error
	lat      []time.Duration
	ttfc     []time.Duration
	gaps     []time.Duration
	events   int64
	faithful int64
}

func (c *recorder) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errN++
	if c.firstErr == nil {
		c.firstErr = err
	}
}

func (c *recorder) ok(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.okN++
	c.lat = append(c.lat, d)
}

func (c *recorder) stream(st streamTiming, total time.Duration, expect int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.okN++
	c.lat = append(c.lat, total)
	if st.events > 0 {
		c.ttfc = append(c.ttfc, st.ttfc)
	}
	c.gaps = append(c.gaps, st.gaps...)
	c.events += int64(st.events)
	if expect == 0 || st.events == expect {
		c.faithful++
	}
}

func (c *recorder) result(cfg Config, elapsed time.Duration) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{
		Mode: cfg.Mode, URL: cfg.URL, DurationS: elapsed.Seconds(),
		Requests: c.started.Load(), OK: c.okN, Errors: c.errN,
		RPS: float64(c.okN) / elapsed.Seconds(), Latency: Summarize(c.lat),
	}
	if cfg.Mode == Open {
		res.Rate, res.Conns = cfg.Rate, cfg.Conns
	} else {
		res.Concurrency, res.StaggerS = cfg.Concurrency, cfg.Stagger.Seconds()
	}
	if c.firstErr != nil {
		res.FirstError = c.firstErr.Error()
	}
	if cfg.Mode == SSE {
		ttfc, gaps := Summarize(c.ttfc), Summarize(c.gaps)
		res.TTFC, res.Gaps, res.Events = &ttfc, &gaps, c.events
		if c.okN > 0 {
			res.StreamsFaithful = float64(c.faithful) / float64(c.okN)
		}
	}
	return res
}

// errNoEnd reports a stream that ended without its protocol's last event.
var errNoEnd = errors.New("loadgen: stream ended without a final event")
