package gateway

import "io"

// readAll reads r to its end. size is the length the sender announced
// (Content-Length; -1 or 0 when unknown): the buffer is then allocated
// once, where io.ReadAll would start at 512 bytes and grow by copying.
// limit caps the preallocation only; the reader enforces the real limit
// (http.MaxBytesReader, io.LimitReader), so a lying Content-Length costs
// no more than limit bytes.
//
// buf, when not nil, is an empty buffer to read into if it has room for
// size+1 bytes (bodyBuffers.get); the result then shares its array, unless
// the sender sent more than announced.
func readAll(r io.Reader, size, limit int64, buf []byte) ([]byte, error) {
	if size <= 0 || size > limit {
		return io.ReadAll(r)
	}
	b := buf[:0]
	if int64(cap(b)) < size+1 {
		b = make([]byte, 0, size+1) // +1: the read that sees EOF needs room
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than announced: grow as append does
		}
	}
}
