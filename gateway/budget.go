package gateway

import (
	"errors"
	"io"
	"sync/atomic"
)

// byteBudget bounds the bytes of upstream response bodies held in memory
// at once, across requests: a non-streaming body is read whole before it
// is relayed, so without a total, concurrent large answers grow the
// process without limit.
type byteBudget struct {
	max  int64
	used atomic.Int64
}

// take reserves n bytes; false, reserving nothing, when that would pass max.
func (b *byteBudget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *byteBudget) give(n int64) { b.used.Add(-n) }

// errBudget and errBodyTooLarge end the reading of an upstream body.
var (
	errBudget       = errors.New("the gateway's budget for buffered upstream responses is spent")
	errBodyTooLarge = errors.New("upstream response body is larger than the gateway buffers")
)

// budgetReader reads an upstream body against a per-body cap and the
// shared budget. held is what it reserved, to be given back by release.
type budgetReader struct {
	r     io.Reader
	b     *byteBudget
	limit int64 // per-body cap
	n     int64 // bytes read
	held  int64
}

// reserve takes up to total bytes from the budget in one go (a body whose
// length is announced is reserved before any of it is allocated).
func (br *budgetReader) reserve(total int64) error {
	if total > br.limit {
		return errBodyTooLarge
	}
	if total <= br.held {
		return nil
	}
	if !br.b.take(total - br.held) {
		return errBudget
	}
	br.held = total
	return nil
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if room := br.limit + 1 - br.n; int64(len(p)) > room {
		p = p[:room] // read one byte past the cap, to tell "at" from "over"
	}
	n, err := br.r.Read(p)
	br.n += int64(n)
	if br.n > br.limit {
		return n, errBodyTooLarge
	}
	if rerr := br.reserve(br.n); rerr != nil {
		return n, rerr
	}
	return n, err
}

func (br *budgetReader) release() {
	br.b.give(br.held)
	br.held = 0
}
