package gateway

import (
	"io"
	"sync"

	"github.com/llmgw/llmgw/sse"
)

// Relaying a stream needs buffers of its own: the event reader's (4 KiB,
// and each event's bytes) and the credential scrub's (8 KiB). Fresh, they
// are half of what a stream allocates before its first byte reaches the
// client, and fresh memory costs more than zeroing it: once the runtime
// has handed idle pages back to the system (llmgw start does when traffic
// stops, and the collector's scavenger does over time), every new page is
// a fault, about 13 µs each on the 2-core VMs bench/README.md measures on.
// So streams pass them on to each other.

// keptScrubBuffer is the largest scrub buffer recycled: one that grew
// past it (an upstream that kept ending reads inside a long credential)
// is left to the collector.
const keptScrubBuffer = 64 << 10

// streamBuffers recycles relayBuffers.
type streamBuffers struct {
	pool sync.Pool
}

// relayBuffers is what one stream relay reads with.
type relayBuffers struct {
	events *sse.Reader // reads nothing until Reset to the stream
	scrub  []byte      // empty, for newScrubReader
}

// get returns buffers for one stream; put them back when the relay has
// read its last byte.
func (p *streamBuffers) get() *relayBuffers {
	if b, ok := p.pool.Get().(*relayBuffers); ok {
		return b
	}
	return &relayBuffers{events: sse.NewReader(nil), scrub: make([]byte, 0, scrubChunk)}
}

// put recycles b. The events it read and what the scrub reader returned
// must no longer be in use.
func (p *streamBuffers) put(b *relayBuffers) {
	b.events.Reset(nil) // lets go of the upstream body
	if cap(b.scrub) > keptScrubBuffer {
		b.scrub = make([]byte, 0, scrubChunk)
	}
	b.scrub = b.scrub[:0]
	p.pool.Put(b)
}

// scrubbed returns body wrapped in a scrub reader for secrets that reads
// into b's buffer, or body itself when there is nothing to scrub, and a
// func to call once reading is over: it keeps the reader's buffer if it
// grew. (A redaction leaves the reader with a buffer of the redacted
// bytes' size; b's own is kept then.)
func (b *relayBuffers) scrubbed(body io.ReadCloser, secrets [][]byte) (io.ReadCloser, func()) {
	if len(secrets) == 0 {
		return body, func() {}
	}
	s := &scrubReader{r: body, secrets: secrets, work: b.scrub[:0]}
	return s, func() {
		if cap(s.work) > cap(b.scrub) {
			b.scrub = s.work[:0]
		}
	}
}
