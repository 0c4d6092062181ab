package requestlog

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tcpProxy stands between the writer and PostgreSQL so that a test can
// cut the server off (every connection closed, new ones refused at once)
// and bring it back.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, s); s.Close(); c.Close() }()
	}
}

// cut closes every connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

// viaProxy returns the log's URL with the proxy in front of the server,
// and the proxy.
func viaProxy(t testing.TB, u string) (string, *tcpProxy) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, pu.Host)
	pu.Host = p.ln.Addr().String()
	return pu.String(), p
}

// countDirect counts a table's rows and distinct request ids over a
// connection of its own (not through the proxy).
func countDirect(t testing.TB, u, query string) int64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond for up to 15 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestPostgresOutageLosesNoRow cuts PostgreSQL off while requests keep
// being recorded: Record never waits on the server, the rows are held and
// counted, and all of them are written once it is back.
func TestPostgresOutageLosesNoRow(t *testing.T) {
	direct := pgSchemaURL(t)
	proxied, proxy := viaProxy(t, direct)
	db := openPGAt(t, proxied)
	var errMu sync.Mutex
	var errs []error
	w, stop := startWriter(t, db, WriterConfig{BatchDelay: 20 * time.Millisecond, OnError: func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}})
	rec := func(from, to int) {
		for i := from; i < to; i++ {
			w.Record(&Record{Time: time.Now(), RequestID: fmt.Sprint("r", i), Model: "m", Attempts: []Attempt{{N: 1, Provider: "p"}}})
		}
	}
	rec(0, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	proxy.cut()
	start := time.Now()
	rec(100, 300)
	if d := time.Since(start); d > time.Second {
		t.Errorf("recording 200 rows with PostgreSQL down took %s: requests must not wait on it", d)
	}
	waitFor(t, "the writer to notice the outage", func() bool { return w.Stats().Unavailable })
	waitFor(t, "every row to be held", func() bool { return w.Stats().Buffered == 200 })
	st := w.Stats()
	if st.Written != 100 || st.Shed != 0 || st.Failed != 0 || st.Outages != 1 || st.BufferedBytes <= 0 || st.Queued != 200 {
		t.Errorf("stats during the outage: %+v", st)
	}
	if _, err := db.Stats(context.Background(), time.Now().Add(-time.Hour)); err == nil {
		t.Error("Stats with PostgreSQL down: no error")
	}
	rec(300, 320) // more while it is down
	time.Sleep(300 * time.Millisecond)

	proxy.restore()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush after the server returned: %v (stats %+v)", err, w.Stats())
	}
	stop()
	st = w.Stats()
	if st.Written != 320 || st.Shed != 0 || st.Failed != 0 || st.Buffered != 0 || st.BufferedBytes != 0 || st.Unavailable {
		t.Errorf("stats after recovery: %+v", st)
	}
	if n := countDirect(t, direct, "SELECT count(DISTINCT request_id) FROM requests"); n != 320 {
		t.Errorf("%d distinct requests in PostgreSQL, want 320", n)
	}
	if n := countDirect(t, direct, "SELECT count(*) FROM attempts"); n < 320 {
		t.Errorf("%d attempts in PostgreSQL, want 320", n)
	}
	errMu.Lock()
	defer errMu.Unlock()
	if len(errs) == 0 {
		t.Error("the outage was not reported through OnError")
	}
}

// TestPostgresBufferOverflowIsCounted fills the outage buffer: rows past
// its bound (in rows or in bytes) are shed and counted, the rest written
// when the server returns.
func TestPostgresBufferOverflowIsCounted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   WriterConfig
		shed  int64
		total int
	}{
		{"rows", WriterConfig{BufferRows: 10}, 40, 50},
		{"bytes", WriterConfig{BufferBytes: 4 * recordSize(&Record{RequestID: "r10", Model: "m"})}, 46, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			direct := pgSchemaURL(t)
			proxied, proxy := viaProxy(t, direct)
			db := openPGAt(t, proxied)
			cfg := tc.cfg
			cfg.QueueSize, cfg.MaxWait, cfg.BatchDelay = 64, -1, 20*time.Millisecond // the queue holds every row: only the buffer sheds
			w, stop := startWriter(t, db, cfg)
			proxy.cut()
			for i := range tc.total {
				w.Record(&Record{Time: time.Now(), RequestID: fmt.Sprint("r", 10+i), Model: "m"})
			}
			waitFor(t, "the queue to empty into the buffer", func() bool {
				st := w.Stats()
				return st.Queued == st.Buffered && st.Shed+st.Buffered == int64(tc.total)
			})
			if st := w.Stats(); st.Shed != tc.shed {
				t.Errorf("shed %d, want %d (%+v)", st.Shed, tc.shed, st)
			}
			proxy.restore()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			stop()
			want := int64(tc.total) - tc.shed
			if st := w.Stats(); st.Written != want || st.Shed != tc.shed {
				t.Errorf("after recovery: %+v, want %d written, %d shed", st, want, tc.shed)
			}
			if n := countDirect(t, direct, "SELECT count(*) FROM requests"); n != want {
				t.Errorf("%d rows in PostgreSQL, want %d", n, want)
			}
		})
	}
}

// TestPostgresStopWhileDownCountsTheRest: a writer stopped while the
// server is unreachable tries for a while, then counts what it holds as
// failed rather than losing it silently.
func TestPostgresStopWhileDownCountsTheRest(t *testing.T) {
	direct := pgSchemaURL(t)
	proxied, proxy := viaProxy(t, direct)
	db := openPGAt(t, proxied)
	w := NewWriter(db, WriterConfig{BatchDelay: 20 * time.Millisecond})
	w.pgDrain = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	proxy.cut()
	for i := range 5 {
		w.Record(&Record{Time: time.Now(), RequestID: fmt.Sprint("r", i)})
	}
	start := time.Now()
	stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s", d)
	}
	if st := w.Stats(); st.Failed != 5 || st.Written != 0 || st.Buffered != 0 {
		t.Errorf("stats after stopping while down: %+v, want 5 failed", st)
	}
}

// TestPostgresOpenWhileUnreachable: a replica started while its log's
// server does not answer opens all the same; rows wait in the writer, and
// the first connection that succeeds creates the schema and writes them.
func TestPostgresOpenWhileUnreachable(t *testing.T) {
	direct := pgSchemaURL(t)
	proxied, proxy := viaProxy(t, direct)
	proxy.cut()
	start := time.Now()
	db := openPGAt(t, proxied)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Open with the server unreachable took %s", d)
	}
	ctx := context.Background()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping with the server unreachable: no error")
	}
	if _, err := db.Stats(ctx, t0); err == nil {
		t.Error("Stats with the server unreachable: no error")
	}
	src := PolicyFiles{Entry: "main.star", Files: map[string]string{"main.star": "# v1\n"}}
	if err := db.SavePolicySource(ctx, "h1", src); err != nil {
		t.Errorf("SavePolicySource with the server unreachable: %v, want it held", err)
	}
	w, stop := startWriter(t, db, WriterConfig{BatchDelay: 20 * time.Millisecond})
	for i := range 30 {
		w.Record(&Record{Time: time.Now(), RequestID: fmt.Sprint("early", i), Attempts: []Attempt{{N: 1, Provider: "p"}}})
	}
	waitFor(t, "the writer to hold the rows", func() bool { st := w.Stats(); return st.Unavailable && st.Buffered == 30 })
	proxy.restore()
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("Flush once the server answers: %v (%+v)", err, w.Stats())
	}
	stop()
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping once the server answers: %v", err)
	}
	page, err := db.Requests(ctx, RequestQuery{Limit: 1})
	if err != nil || page.Total != 30 {
		t.Errorf("Requests once the server answers: %+v, %v; want 30", page, err)
	}
	if n := countDirect(t, direct, "SELECT count(*) FROM attempts"); n != 30 {
		t.Errorf("%d attempts, want 30", n)
	}
	if got, err := db.PolicySource(ctx, "h1"); err != nil || got.Files["main.star"] != "# v1\n" {
		t.Errorf("the policy source held while unreachable: %+v, %v", got, err)
	}
}
