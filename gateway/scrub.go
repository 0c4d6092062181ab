package gateway

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
)

// redactedCredential replaces a credential found in an upstream response.
var redactedCredential = []byte(redactedText)

const redactedText = "[REDACTED]"

// minCredential is the shortest header value treated as a credential to
// scrub; shorter ones would only cause false positives.
const minCredential = 8

// credentials returns the credentials carried by the given request
// headers (what the gateway sent upstream: the provider's API key or OAuth
// token), without a Bearer prefix.
func credentials(hs ...http.Header) [][]byte {
	var out [][]byte
	var buf [64]byte
	for _, h := range hs {
		for name, vs := range h {
			if !secretHeaders[string(appendLower(buf[:0], name))] {
				continue
			}
			for _, v := range vs {
				if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
					v = strings.TrimSpace(v[7:])
				}
				if len(v) >= minCredential {
					out = append(out, []byte(v))
				}
			}
		}
	}
	return out
}

// scrubBody wraps an upstream response body so that the credentials the
// gateway sent never come back out of it: an upstream (or a proxy in
// front of it) that quotes the request in an error, a 2xx error body or a
// stream's error event cannot carry the provider's key to the client, the
// log, /api or the database. It returns body itself when there is nothing
// to scrub.
func scrubBody(body io.ReadCloser, secrets [][]byte) io.ReadCloser {
	if len(secrets) == 0 {
		return body
	}
	return &scrubReader{r: body, secrets: secrets}
}

// scrubReader replaces secrets in a stream as it is read. It holds back
// only the tail of what it has read that could be the start of a secret,
// so an SSE event, which ends with a blank line, is never delayed (no
// credential contains a newline).
type scrubReader struct {
	r       io.ReadCloser
	secrets [][]byte
	work    []byte // read and scrubbed: out, then the held-back tail
	out     []byte // ready to return: a prefix of work
	held    int    // length of the held-back tail at the end of work
	err     error  // from r, returned once everything is drained
}

// scrubChunk is how much a scrubReader reads at a time.
const scrubChunk = 8 << 10

func (s *scrubReader) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			if s.held == 0 {
				return 0, s.err
			}
			s.out, s.held = s.work[len(s.work)-s.held:], 0 // the tail ended the stream
			break
		}
		s.work = append(s.work[:0], s.work[len(s.work)-s.held:]...)
		s.work = slices.Grow(s.work, scrubChunk)
		n, err := s.r.Read(s.work[len(s.work):cap(s.work)])
		s.work, s.err = s.work[:len(s.work)+n], err
		if sc := scrubBytes(s.work, s.secrets); len(sc) > 0 && &sc[0] != &s.work[0] {
			// A redaction made a new slice: copy it back, so that the
			// reader goes on with its own (perhaps recycled) buffer.
			s.work = append(s.work[:0], sc...)
		}
		s.held = 0
		if s.err == nil {
			s.held = partialSecret(s.work, s.secrets)
		}
		s.out = s.work[:len(s.work)-s.held]
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *scrubReader) Close() error { return s.r.Close() }

// scrubBytes returns b with every secret replaced; b itself when none
// occurs (the common case costs one search per secret).
func scrubBytes(b []byte, secrets [][]byte) []byte {
	for _, sec := range secrets {
		if bytes.Contains(b, sec) {
			b = bytes.ReplaceAll(b, sec, redactedCredential)
		}
	}
	return b
}

// partialSecret returns the length of the longest tail of b that is a
// proper prefix of one of the secrets.
func partialSecret(b []byte, secrets [][]byte) int {
	if len(b) == 0 {
		return 0
	}
	last, keep := b[len(b)-1], 0
	for _, sec := range secrets {
		for k := min(len(sec)-1, len(b)); k > keep; k-- {
			// Comparing the last byte first skips nearly every k: this
			// runs on every read of every stream.
			if sec[k-1] == last && bytes.HasSuffix(b, sec[:k]) {
				keep = k
				break
			}
		}
	}
	return keep
}

// scrubHeader replaces the secrets in the values of an upstream's
// response headers, in place: same-protocol responses forward most of
// them to the client.
func scrubHeader(h http.Header, secrets [][]byte) {
	for _, b := range secrets {
		sec := string(b) // once per secret, not once per header value
		for _, vs := range h {
			for i, v := range vs {
				if strings.Contains(v, sec) {
					vs[i] = strings.ReplaceAll(v, sec, redactedText)
				}
			}
		}
	}
}
