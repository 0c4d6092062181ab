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
	scrub  scrubReader // reads nothing until scrubbed; its buffer is recycled
}

// get returns buffers for one stream; put them back when the relay has
// read its last byte.
func (p *streamBuffers) get() *relayBuffers {
	if b, ok := p.pool.Get().(*relayBuffers); ok {
		return b
	}
	return &relayBuffers{events: sse.NewReader(nil), scrub: scrubReader{work: make([]byte, 0, scrubChunk)}}
}

// put recycles b. The events it read and what the scrub reader returned
// must no longer be in use.
func (p *streamBuffers) put(b *relayBuffers) {
	b.events.Reset(nil) // lets go of the upstream body
	work := b.scrub.work[:0]
	if cap(work) > keptScrubBuffer {
		work = make([]byte, 0, scrubChunk)
	}
	b.scrub = scrubReader{work: work}
	p.pool.Put(b)
}

// scrubbed returns body read through b's scrub reader for secrets, or
// body itself when there is nothing to scrub.
func (b *relayBuffers) scrubbed(body io.ReadCloser, secrets [][]byte) io.ReadCloser {
	if len(secrets) == 0 {
		return body
	}
	b.scrub.r, b.scrub.secrets = body, secrets
	return &b.scrub
}
