package gateway

import (
	"errors"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Large request bodies (an agent's history is 100 KB to a few MB) are read
// into recycled buffers. A fresh buffer of that size is memory the runtime
// has to zero and, once the collector has given it back to the system,
// that the kernel has to fault in again page by page. In a running gateway
// that is about a tenth of a 128 KB request's CPU; in a test process whose
// heap is cold, half (bench/README.md, BenchmarkPassThroughAgentBody).
const (
	minPooledBody = 32 << 10 // smaller bodies are cheap to allocate
	bodyClasses   = 10       // capacities 32 KiB, 64 KiB, ... 16 MiB
)

// bodyBuffers recycles request body buffers by power-of-two capacity.
type bodyBuffers struct {
	classes [bodyClasses]sync.Pool
}

// bodyClass returns the size class of a buffer holding n bytes (n > 0), and
// false when n is outside the pooled range.
func bodyClass(n int64) (int, bool) {
	if n < minPooledBody || n > minPooledBody<<(bodyClasses-1) {
		return 0, false
	}
	return bits.Len64(uint64(n-1)) - bits.Len64(minPooledBody-1), true
}

// get returns an empty buffer with room for size bytes and one more (the
// read that sees EOF needs it), or nil when bodies of size are not pooled.
func (p *bodyBuffers) get(size int64) []byte {
	c, ok := bodyClass(size + 1)
	if !ok {
		return nil
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, minPooledBody<<c)
}

// put returns a buffer that get handed out.
func (p *bodyBuffers) put(b []byte) {
	c, ok := bodyClass(int64(cap(b)))
	if !ok || cap(b) != minPooledBody<<c {
		return // not one of ours
	}
	p.classes[c].Put(&b)
}

// adopt returns body as a sharedBody when readAll read it into buf, which
// get handed out; otherwise (no buffer, an empty body, or more bytes than
// announced, which readAll moved elsewhere) it gives buf back and returns
// nil.
func (p *bodyBuffers) adopt(buf, body []byte) *sharedBody {
	if buf == nil {
		return nil
	}
	if len(body) > 0 && cap(body) == cap(buf) && &body[0] == &buf[:1][0] {
		return newSharedBody(p, body)
	}
	p.put(buf)
	return nil
}

// sharedBody is a request body in a recycled buffer, shared by the
// exchange and every upstream request reading it. Each holds a reference;
// the buffer goes back to the pool when the last lets go, and not before:
// net/http's transport may go on reading a request body, and close it,
// after RoundTrip has returned.
type sharedBody struct {
	buf  []byte
	refs atomic.Int64
	pool *bodyBuffers
}

// newSharedBody wraps buf, with one reference: the exchange's.
func newSharedBody(pool *bodyBuffers, buf []byte) *sharedBody {
	s := &sharedBody{buf: buf, pool: pool}
	s.refs.Store(1)
	return s
}

// release drops a reference; the last returns the buffer to the pool.
func (s *sharedBody) release() {
	if n := s.refs.Add(-1); n == 0 {
		s.pool.put(s.buf)
		s.buf = nil
	} else if n < 0 {
		panic("gateway: shared request body released more often than held")
	}
}

// reader returns a reader of b (the buffer or a part of it) that holds a
// reference until it is closed.
func (s *sharedBody) reader(b []byte) io.ReadCloser {
	s.refs.Add(1)
	return &sharedReader{s: s, b: b}
}

// sharedReader reads a shared body. Close may come from another goroutine
// while a Read is copying (net/http closes a cancelled request's body from
// the caller's goroutine while its write loop reads): the mutex makes Close
// wait for that copy, so that no byte is read from the buffer after it has
// gone back to the pool and perhaps to another client's request.
type sharedReader struct {
	mu     sync.Mutex
	s      *sharedBody
	b      []byte
	closed bool
}

var errBodyClosed = errors.New("gateway: read from a closed request body")

func (r *sharedReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *sharedReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed, r.b = true, nil
		r.s.release()
	}
	return nil
}
