package sse

import (
	"bytes"
	"io"
	"net/http"
)

// Writer writes events to an HTTP response; Flush sends what was written.
// The caller decides when: the gateway flushes before each read of the
// upstream, so that nothing written waits in a buffer while it waits.
type Writer struct {
	w   io.Writer
	rc  *http.ResponseController
	buf []byte
}

// NewWriter returns a Writer for w. When w is an http.ResponseWriter every
// event is flushed through http.ResponseController; otherwise Flush is a
// no-op.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w}
	if rw, ok := w.(http.ResponseWriter); ok {
		sw.rc = http.NewResponseController(rw)
	}
	return sw
}

// Event writes one event: an optional event: line, the data (split into
// data: lines at newlines) and a blank line. It does not flush.
func (w *Writer) Event(name string, data []byte) error {
	w.buf = AppendEvent(w.buf[:0], name, data)
	_, err := w.w.Write(w.buf)
	return err
}

// Raw writes bytes as they are (a pass-through event). It does not flush.
func (w *Writer) Raw(b []byte) error {
	_, err := w.w.Write(b)
	return err
}

// Flush sends what was written to the client.
func (w *Writer) Flush() error {
	if w.rc == nil {
		return nil
	}
	err := w.rc.Flush()
	if err == http.ErrNotSupported {
		return nil
	}
	return err
}

// AppendEvent appends the wire form of one event to dst.
func AppendEvent(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		dst = append(dst, "data: "...)
		if i < 0 {
			dst = append(dst, data...)
			dst = append(dst, '\n')
			break
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	return append(dst, '\n')
}
