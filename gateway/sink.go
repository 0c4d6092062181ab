package gateway

import (
	"bytes"
	"cmp"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/llmgw/llmgw/sse"
)

// sink writes a stream to the client. In Gemini's JSON-array mode
// (streamGenerateContent without alt=sse) each event's data becomes one
// element of a JSON array.
//
// It does not flush after each event: what it has written goes out when
// the relay is about to wait for the upstream (flushBeforeRead) and when
// the stream ends. An event therefore reaches the client no later than
// before (nothing written waits behind a read that may block), while the
// events an upstream sent together (Anthropic opens a message with three
// or four in one packet) leave in one write and one packet instead of one
// each, as they do through a plain reverse proxy.
type sink struct {
	w       *sse.Writer
	array   bool
	opened  bool
	pending bool // written since the last flush
	// err is the first error writing to the client: once set, the client
	// is gone (or not reading), whatever the request's context says yet.
	err error
}

func newSink(w http.ResponseWriter, array bool) *sink {
	return &sink{w: sse.NewWriter(w), array: array}
}

// event writes one event given both its raw bytes and its data.
func (s *sink) event(raw, data []byte) error {
	if !s.array {
		return s.raw(raw)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	sep := []byte(",\r\n")
	if !s.opened {
		sep, s.opened = []byte("["), true
	}
	if err := s.raw(sep); err != nil {
		return err
	}
	return s.raw(data)
}

// raw writes b, remembering the first failure.
func (s *sink) raw(b []byte) error {
	s.pending = true
	if err := s.w.Raw(b); err != nil {
		s.err = cmp.Or(s.err, err)
		return err
	}
	return nil
}

// flush sends what has been written since the last flush, remembering the
// first failure.
func (s *sink) flush() error {
	if !s.pending {
		return s.err
	}
	s.pending = false
	if err := s.w.Flush(); err != nil {
		s.err = cmp.Or(s.err, err)
		return err
	}
	return nil
}

// write writes encoded SSE bytes (one or more complete events).
func (s *sink) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if !s.array {
		return s.raw(b)
	}
	rd := sse.NewReader(bytes.NewReader(b))
	for {
		ev, err := rd.Next()
		if err != nil {
			return nil
		}
		if err := s.event(ev.Raw, ev.Data); err != nil {
			return err
		}
	}
}

// close ends the array in array mode, and flushes.
func (s *sink) close() {
	if s.array {
		if !s.opened {
			_ = s.raw([]byte("["))
		}
		_ = s.raw([]byte("]"))
	}
	_ = s.flush()
}

// flushBeforeRead is the upstream stream as the relay reads it: before
// each read, which may wait for the network, it flushes what the sink has
// written (see sink). out is nil until the response is committed.
type flushBeforeRead struct {
	r   io.Reader
	out *sink
}

func (f *flushBeforeRead) Read(p []byte) (int, error) {
	if f.out != nil {
		if err := f.out.flush(); err != nil {
			return 0, err // the client is gone: stop reading the upstream
		}
	}
	return f.r.Read(p)
}

// idleReader cancels an upstream stream that stays silent longer than
// timeout between reads. Long streams are fine as long as they keep
// talking; a total timeout would cut them.
type idleReader struct {
	r       io.Reader
	timeout time.Duration
	timer   *time.Timer
	once    sync.Once
}

func newIdleReader(r io.Reader, timeout time.Duration, onIdle func()) *idleReader {
	return &idleReader{r: r, timeout: timeout, timer: time.AfterFunc(timeout, onIdle)}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.timeout)
	}
	return n, err
}

func (ir *idleReader) stop() { ir.once.Do(func() { ir.timer.Stop() }) }
