package requestlog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// WriterConfig configures a Writer. The zero value is ready to use.
type WriterConfig struct {
	// QueueSize bounds the records waiting to be written (memory use is
	// about QueueSize pointers plus the records). Zero means 16384.
	QueueSize int
	// BatchSize is the most rows committed in one transaction. Zero means
	// 256.
	BatchSize int
	// BatchDelay is the longest a record waits for its batch to fill
	// before the batch is committed anyway. Zero means 100 ms. It bounds
	// what a crash can lose (see Durability in the package comment): keep
	// it well under a second.
	BatchDelay time.Duration
	// MaxWait is how long Record blocks on a full queue before it sheds
	// the row (counted in WriterStats.Shed). Zero means 50 ms; negative
	// means never block (shed at once).
	MaxWait time.Duration
	// Retention, when positive, prunes requests older than Retention from
	// inside Run, every PruneEvery and once at start. Zero keeps
	// everything.
	Retention time.Duration
	// PruneEvery is the pruning interval. Zero means 1 hour.
	PruneEvery time.Duration
	// OnError receives write and prune errors, for the gateway to log.
	// Nil discards them (failed rows are still counted in
	// WriterStats.Failed). It is called from Run's goroutine.
	OnError func(error)
	// Now is the clock for records without a Time and for retention. Nil
	// means time.Now.
	Now func() time.Time
	// BufferRows and BufferBytes bound the rows a writer on PostgreSQL
	// holds in memory while the server is unreachable (besides the
	// QueueSize records of the queue); a row past either is shed and
	// counted in WriterStats.Shed. Zero means 100000 rows and 64 MiB.
	// SQLite ignores them.
	BufferRows  int
	BufferBytes int64
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = 16384
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.BatchDelay <= 0 {
		c.BatchDelay = 100 * time.Millisecond
	}
	if c.MaxWait == 0 {
		c.MaxWait = 50 * time.Millisecond
	}
	if c.PruneEvery <= 0 {
		c.PruneEvery = time.Hour
	}
	if c.OnError == nil {
		c.OnError = func(error) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BufferRows <= 0 {
		c.BufferRows = 100000
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 64 << 20
	}
	return c
}

// WriterStats are the Writer's counters since it was created.
type WriterStats struct {
	// Backend is "sqlite" or "postgres".
	Backend string `json:"backend"`
	// Queued is the number of records waiting now, Buffered included.
	Queued int64 `json:"queued"`
	// Buffered and BufferedBytes are the rows a writer on PostgreSQL holds
	// in memory (and their estimated size), waiting for their batch or for
	// the server to answer again.
	Buffered      int64 `json:"buffered"`
	BufferedBytes int64 `json:"buffered_bytes"`
	// Unavailable reports that the last write to PostgreSQL failed to
	// reach it: rows are being held. Outages counts such episodes.
	Unavailable bool  `json:"unavailable"`
	Outages     int64 `json:"outages"`
	// Written is the number of requests committed.
	Written int64 `json:"written"`
	// Shed is the number of records dropped because the queue stayed full
	// for MaxWait or Run had stopped. It is never incremented silently:
	// metrics export it.
	Shed int64 `json:"shed"`
	// Failed is the number of records the database refused (reported
	// through OnError).
	Failed int64 `json:"failed"`
	// Batches is the number of committed transactions.
	Batches int64 `json:"batches"`
	// HighWater is the deepest the queue has been.
	HighWater int `json:"high_water"`
}

// Writer is the request log's single writer: request goroutines hand it
// records with Record, and one goroutine running Run commits them in
// batched transactions. See the package comment for its overflow
// behaviour.
type Writer struct {
	db    *DB
	cfg   WriterConfig
	queue chan *Record
	flush chan chan struct{}
	done  chan struct{} // closed when Run returns

	started  atomic.Bool
	stopped  atomic.Bool  // Run is draining or done: Record sheds
	inflight atomic.Int64 // Record calls between their stopped check and return

	written, shed, failed, batches, highWater atomic.Int64

	// PostgreSQL only (pgwriter.go).
	buffered, bufferedBytes, outages atomic.Int64
	unavailable                      atomic.Bool
	pgDrain                          time.Duration // pgDrainTimeout; tests shorten it
}

// NewWriter returns a Writer for db. Start it with Run.
func NewWriter(db *DB, cfg WriterConfig) *Writer {
	cfg = cfg.withDefaults()
	return &Writer{
		db:    db,
		cfg:   cfg,
		queue: make(chan *Record, cfg.QueueSize),
		flush: make(chan chan struct{}),
		done:  make(chan struct{}),

		pgDrain: pgDrainTimeout,
	}
}

// Record queues r to be written. It is safe for concurrent use, returns
// at once while the queue has room, and otherwise blocks up to MaxWait
// before shedding r (counted). After Run has returned it sheds at once.
// The Writer owns r from now on: do not modify it.
func (w *Writer) Record(r *Record) {
	if r == nil {
		return
	}
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	if w.stopped.Load() {
		w.shed.Add(1)
		return
	}
	select {
	case w.queue <- r:
		return
	default:
	}
	if w.cfg.MaxWait > 0 {
		t := time.NewTimer(w.cfg.MaxWait)
		defer t.Stop()
		select {
		case w.queue <- r:
			return
		case <-t.C:
		}
	}
	w.shed.Add(1)
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() WriterStats {
	buffered := w.buffered.Load()
	return WriterStats{
		Backend:       w.db.Backend(),
		Queued:        int64(len(w.queue)) + buffered,
		Buffered:      buffered,
		BufferedBytes: w.bufferedBytes.Load(),
		Unavailable:   w.unavailable.Load(),
		Outages:       w.outages.Load(),
		Written:       w.written.Load(),
		Shed:          w.shed.Load(),
		Failed:        w.failed.Load(),
		Batches:       w.batches.Load(),
		HighWater:     int(w.highWater.Load()),
	}
}

// Flush waits until every record passed to Record before the call is
// committed (or counted as failed). It returns ctx's error if ctx ends
// first, and nil at once if Run has already returned. On PostgreSQL it
// waits for every row held, so while the server does not answer it
// returns only when ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case w.flush <- reply:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("requestlog: flush: %w", ctx.Err())
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("requestlog: flush: %w", ctx.Err())
	}
}

// Run is the writer goroutine: it commits queued records in batches of
// up to BatchSize rows, at least every BatchDelay, and prunes old rows
// when Retention is set. When ctx ends it stops accepting records,
// commits everything already queued (and any Record call in progress)
// and returns nil. Database errors do not stop it; they go to OnError.
// Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("requestlog: writer: Run called twice")
	}
	defer close(w.done)
	if w.db.pg != nil {
		return w.runPG(ctx)
	}
	// Writes outlive ctx: the final drain happens after it is done.
	wctx := context.WithoutCancel(ctx)
	ins, err := w.prepare(wctx)
	if err != nil {
		// Nothing can be written: count what is queued as failed.
		w.drain(func(*Record) { w.failed.Add(1) })
		return err
	}
	defer ins.close()

	batch := make([]*Record, 0, w.cfg.BatchSize)
	commit := func() {
		w.commit(wctx, ins, batch)
		clear(batch)
		batch = batch[:0]
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var prune <-chan time.Time
	if w.cfg.Retention > 0 {
		w.prune(wctx)
		t := time.NewTicker(w.cfg.PruneEvery)
		defer t.Stop()
		prune = t.C
	}
	for {
		select {
		case <-ctx.Done():
			w.drain(func(r *Record) {
				if batch = append(batch, r); len(batch) == w.cfg.BatchSize {
					commit()
				}
			})
			commit()
			return nil
		case r := <-w.queue:
			w.noteDepth(min(len(w.queue)+1, cap(w.queue)))
			if len(batch) == 0 {
				timer.Reset(w.cfg.BatchDelay)
			}
			batch = append(batch, r)
			for len(batch) < w.cfg.BatchSize && len(w.queue) > 0 {
				batch = append(batch, <-w.queue)
			}
			if len(batch) == w.cfg.BatchSize {
				timer.Stop()
				commit()
			}
		case <-timer.C:
			commit()
		case reply := <-w.flush:
			timer.Stop()
			for n := len(w.queue); n > 0; n-- {
				if batch = append(batch, <-w.queue); len(batch) == w.cfg.BatchSize {
					commit()
				}
			}
			commit()
			close(reply)
		case <-prune:
			w.prune(wctx)
		}
	}
}

// drain marks the Writer stopped and hands every queued record to add,
// including those of Record calls still in progress. Record checks
// stopped after raising inflight, so once stopped is set and inflight is
// zero with the queue empty, no record can arrive any more.
func (w *Writer) drain(add func(*Record)) {
	w.stopped.Store(true)
	for {
		select {
		case r := <-w.queue:
			add(r)
			continue
		default:
		}
		if w.inflight.Load() == 0 && len(w.queue) == 0 {
			return
		}
		time.Sleep(time.Millisecond) // a Record is between its check and its send
	}
}

func (w *Writer) noteDepth(d int) {
	for {
		hw := w.highWater.Load()
		if int64(d) <= hw || w.highWater.CompareAndSwap(hw, int64(d)) {
			return
		}
	}
}

func (w *Writer) prune(ctx context.Context) {
	if _, err := w.db.Prune(ctx, w.cfg.Now().Add(-w.cfg.Retention)); err != nil {
		w.cfg.OnError(err)
	}
}

// commitRetries is how many times a failed batch is retried whole before
// its rows are tried one by one.
const commitRetries = 2

// commit writes batch at the pace the load allows: a full batch or a
// backlog behind it is written whole (busyPace); otherwise in short
// transactions, waiting behind the requests between them (quietPace).
func (w *Writer) commit(ctx context.Context, ins *inserter, batch []*Record) {
	p := quietPace
	if len(batch) >= w.cfg.BatchSize || len(w.queue) >= w.cfg.BatchSize {
		p = busyPace
	}
	for len(batch) > 0 {
		n := len(batch)
		if p.txRows > 0 {
			n = min(n, p.txRows)
		}
		w.commitTx(ctx, ins, batch[:n], p)
		if batch = batch[n:]; len(batch) > 0 {
			ins.yield(p)
		}
	}
}

// commitTx writes batch in one transaction. If that keeps failing, the
// rows are written one per transaction so that one bad row cannot lose
// the others; after three failures in a row the rest are counted as
// failed.
func (w *Writer) commitTx(ctx context.Context, ins *inserter, batch []*Record, p pace) {
	now := w.cfg.Now()
	var err error
	for try := 0; try <= commitRetries; try++ {
		if try > 0 {
			time.Sleep(time.Duration(try) * 50 * time.Millisecond)
		}
		if err = ins.insert(ctx, batch, now, p); err == nil {
			w.written.Add(int64(len(batch)))
			w.batches.Add(1)
			return
		}
	}
	w.cfg.OnError(fmt.Errorf("requestlog: write batch of %d: %w", len(batch), err))
	consecutive := 0
	for i, r := range batch {
		if consecutive == 3 {
			w.failed.Add(int64(len(batch) - i))
			w.cfg.OnError(fmt.Errorf("requestlog: gave up on %d rows: %w", len(batch)-i, err))
			return
		}
		if err = ins.insert(ctx, batch[i:i+1], now, p); err != nil {
			consecutive++
			w.failed.Add(1)
			w.cfg.OnError(fmt.Errorf("requestlog: write request %s: %w", r.RequestID, err))
			continue
		}
		consecutive = 0
		w.written.Add(1)
		w.batches.Add(1)
	}
}
