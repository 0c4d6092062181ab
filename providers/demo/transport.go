package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an http.RoundTripper that serves every request with s
// in process, without sockets. The response body is a pipe that the handler
// writes into as it runs: each flush reaches the reader at once, so streams
// arrive incrementally. Cancelling the request's context, or closing the
// response body, stops the handler. The URL's scheme and host are ignored.
func (s *Server) Transport() http.RoundTripper { return transport{h: s} }

// transport runs a handler per request, as net/http's server would.
type transport struct{ h http.Handler }

// Interface guards.
var (
	_ http.RoundTripper = transport{}
	_ http.Flusher      = (*pipeWriter)(nil)
)

// RoundTrip runs the handler in a goroutine and returns as soon as it has
// written its response headers.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	pr, pw := io.Pipe()
	w := &pipeWriter{
		header: make(http.Header),
		pw:     pw,
		ready:  make(chan struct{}),
	}
	w.bw = bufio.NewWriterSize(pw, 4<<10)

	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "demo"
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	done := make(chan struct{})
	go t.serve(ctx, w, sreq, done)
	go func() {
		// Unblock a handler stuck writing to a reader that went away.
		select {
		case <-ctx.Done():
			pw.CloseWithError(ctx.Err())
		case <-done:
		}
	}()

	select {
	case <-w.ready:
		// A handler that returns because the request was cancelled also
		// signals ready; the cancellation wins, as in net/http's
		// transport (both channels are ready then, and select would pick
		// either).
		if err := ctx.Err(); err != nil {
			cancel()
			return nil, err
		}
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	resp := &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{pr: pr, cancel: cancel},
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	return resp, nil
}

// serve runs the handler and ends the response when it returns. A panic is
// turned into a broken response body, as net/http's server does by
// resetting the connection, rather than crashing the process.
func (t transport) serve(ctx context.Context, w *pipeWriter, r *http.Request, done chan<- struct{}) {
	defer close(done)
	defer r.Body.Close()
	defer func() {
		if p := recover(); p != nil {
			w.signal()
			w.pw.CloseWithError(fmt.Errorf("demo: handler panic: %v", p))
			return
		}
		w.WriteHeader(http.StatusOK) // a handler that wrote nothing sends an empty 200
		err := w.bw.Flush()
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		w.pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	t.h.ServeHTTP(w, r)
}

// pipeWriter is the http.ResponseWriter of an in-process request.
type pipeWriter struct {
	header http.Header
	bw     *bufio.Writer
	pw     *io.PipeWriter

	// status and sent (the headers as written) are set once, before ready
	// is closed, and read by RoundTrip after.
	status int
	sent   http.Header
	ready  chan struct{}
	once   sync.Once
}

// Header returns the headers to send.
func (w *pipeWriter) Header() http.Header { return w.header }

// WriteHeader sends the status and headers; later calls do nothing.
func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

// signal releases RoundTrip with a 500 if nothing was sent.
func (w *pipeWriter) signal() { w.WriteHeader(http.StatusInternalServerError) }

// Write sends body bytes, with a 200 status if none was sent. It blocks
// while the pipe's reader has not taken the bytes its buffer cannot hold.
func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.bw.Write(b)
}

// Flush hands what was written to the reader.
func (w *pipeWriter) Flush() {
	w.WriteHeader(http.StatusOK)
	_ = w.bw.Flush()
}

// FlushError is Flush reporting failure, for http.ResponseController.
func (w *pipeWriter) FlushError() error {
	w.WriteHeader(http.StatusOK)
	return w.bw.Flush()
}

// pipeBody is the response body: closing it stops the handler.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.cancel()
	return b.pr.Close()
}
