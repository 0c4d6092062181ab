// Package sse reads and writes Server-Sent Events framing (the
// text/event-stream format of the WHATWG HTML standard) as the three LLM
// wire protocols use it.
//
// The Reader keeps each event's raw bytes so that the gateway can forward
// an upstream stream byte for byte, event by event, while still looking at
// the fields it needs (usage, errors). It accepts LF, CRLF and CR line
// endings (Gemini's live API sends CRLF), tolerates a missing final blank
// line, and bounds the size of one event.
//
// sse imports only the standard library.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxEventSize is the default cap on one event's raw size. LLM stream events
// are small; a final Responses event echoing a long output can reach a few
// MiB.
const MaxEventSize = 16 << 20

// ErrEventTooLarge is returned when one event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one server-sent event.
type Event struct {
	// Name is the event: field ("" when absent, which means "message").
	Name string
	// Data is the data: fields joined with "\n". It aliases the reader's
	// buffer and is valid until the next call to Next.
	Data []byte
	// ID is the id: field.
	ID string
	// Raw is the event exactly as received, its terminating blank line
	// included. It aliases the reader's buffer and is valid until the next
	// call to Next.
	Raw []byte
	// Comment reports an event made only of comment lines (": ping").
	Comment bool
}

// Reader reads events from a stream.
type Reader struct {
	br      *bufio.Reader
	max     int
	raw     []byte
	data    []byte
	pending bool // a CR ended the last line; drop a following LF
}

// NewReader returns a Reader with the default event size limit.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, MaxEventSize) }

// NewReaderSize returns a Reader whose events may be at most max bytes.
func NewReaderSize(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readBufSize), max: max}
}

// keptEventBuffer is the most event buffer capacity Reset keeps: a
// Reader recycled after a stream with a multi-megabyte event would
// otherwise hold that memory for as long as it sits unused.
const keptEventBuffer = 64 << 10

// Reset makes r read events from src as a new Reader would, keeping its
// read buffer and (up to keptEventBuffer) its event buffers. A gateway
// that relays many streams reuses Readers rather than allocate a fresh
// buffer per stream: fresh memory must be zeroed, and faulted in page by
// page once the runtime has handed it back to the system. Events returned
// before the Reset must no longer be in use. Reset(nil) lets go of the
// source.
func (r *Reader) Reset(src io.Reader) {
	r.br.Reset(src)
	r.raw, r.data, r.pending = keep(r.raw), keep(r.data), false
}

func keep(b []byte) []byte {
	if cap(b) > keptEventBuffer {
		return nil
	}
	return b[:0]
}

// Next reads the next event. It returns io.EOF after the last event; a
// stream that ends in the middle of an event returns that event first
// (the LLM protocols do not always send a final blank line) and then
// io.EOF. Blank lines that separate nothing are skipped.
func (r *Reader) Next() (Event, error) {
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	var ev Event
	hasData, hasField := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && len(r.raw) > 0 {
				// The stream ended inside an event, or after stray line
				// ends: hand back what there is so that forwarding the raw
				// bytes of every event reproduces the stream exactly.
				ev.Raw, ev.Data = r.raw, r.data
				ev.Comment = !hasField
				return ev, nil
			}
			return Event{}, err
		}
		content := trimEOL(line)
		if len(content) == 0 {
			if !hasField && !ev.Comment {
				continue // a stray blank line: kept in Raw, ends nothing
			}
			ev.Raw, ev.Data = r.raw, r.data
			if hasField {
				ev.Comment = false
			}
			return ev, nil
		}
		if content[0] == ':' {
			ev.Comment = true
			continue
		}
		field, value := content, []byte(nil)
		if i := bytes.IndexByte(content, ':'); i >= 0 {
			field, value = content[:i], content[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		hasField = true
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			ev.Name = string(value)
		case "id":
			ev.ID = string(value)
		}
	}
}

// readLine appends the next line (with its terminator) to r.raw and returns
// that slice of r.raw.
func (r *Reader) readLine() ([]byte, error) {
	start := len(r.raw)
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(r.raw) > start {
				return r.raw[start:], nil
			}
			return nil, err
		}
		if r.pending {
			r.pending = false
			if b == '\n' {
				// The LF of a CRLF whose CR ended the previous line.
				r.raw = append(r.raw, b)
				start++
				continue
			}
		}
		r.raw = append(r.raw, b)
		if len(r.raw) > r.max {
			return nil, fmt.Errorf("%w (over %d bytes)", ErrEventTooLarge, r.max)
		}
		switch b {
		case '\n':
			return r.raw[start:], nil
		case '\r':
			if r.br.Buffered() > 0 {
				if next, _ := r.br.Peek(1); next[0] == '\n' {
					_, _ = r.br.Discard(1)
					r.raw = append(r.raw, '\n')
					return r.raw[start:], nil
				}
				return r.raw[start:], nil
			}
			// The LF, if any, has not arrived yet: do not wait for it.
			r.pending = true
			return r.raw[start:], nil
		}
		if b != '\r' && r.br.Buffered() > 0 {
			// Fast path: copy the rest of the line straight from the buffer.
			buf, _ := r.br.Peek(r.br.Buffered())
			i := lineEnd(buf)
			if i < 0 {
				i = len(buf)
			}
			if len(r.raw)+i > r.max {
				return nil, fmt.Errorf("%w (over %d bytes)", ErrEventTooLarge, r.max)
			}
			r.raw = append(r.raw, buf[:i]...)
			_, _ = r.br.Discard(i)
		}
	}
}

// lineEnd returns the index of the first CR or LF in b, or -1. It is two
// vectorised IndexByte scans of the line, where bytes.IndexAny tests a set
// byte by byte: about ten instructions a byte, a fifth of a streaming
// relay's whole cost under callgrind.
func lineEnd(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	head := b
	if n >= 0 {
		head = b[:n]
	}
	if r := bytes.IndexByte(head, '\r'); r >= 0 {
		return r
	}
	return n
}

func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// readBufSize is the Reader's read buffer. It bounds how much one read
// from the stream takes, not an event's size (events are assembled in
// their own buffer, up to max), so it can be as small as net/http's own
// buffers: a gateway holds one Reader per open stream, and at 1,000
// concurrent streams 32 KiB each was 32 MB of a heap that has little else.
const readBufSize = 4 << 10
