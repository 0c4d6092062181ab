package sse

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/internal/fixtures"
)

type ev struct {
	Name, Data, ID string
	Comment        bool
}

func readAll(t *testing.T, r io.Reader) ([]ev, []byte) {
	t.Helper()
	return readEvents(t, NewReader(r))
}

// readEvents reads rd to the end.
func readEvents(t *testing.T, rd *Reader) ([]ev, []byte) {
	t.Helper()
	var out []ev
	var raw []byte
	for range 100000 {
		e, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, raw
		}
		if err != nil {
			t.Fatalf("Next() error = %v", err)
		}
		raw = append(raw, e.Raw...)
		if e.Comment && e.Name == "" && len(e.Data) == 0 && len(bytes.Trim(e.Raw, "\r\n")) == 0 {
			continue // leftover line ends: kept in Raw, not an event
		}
		out = append(out, ev{e.Name, string(e.Data), e.ID, e.Comment})
	}
	t.Fatal("too many events")
	return nil, nil
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"lf", "data: a\n\ndata: b\n\n", []ev{{Data: "a"}, {Data: "b"}}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []ev{{Data: "a"}, {Data: "b"}}},
		{"cr", "data: a\r\rdata: b\r\r", []ev{{Data: "a"}, {Data: "b"}}},
		{"named", "event: message_start\ndata: {\"x\":1}\n\n", []ev{{Name: "message_start", Data: `{"x":1}`}}},
		{"multiline data", "data: a\ndata: b\n\n", []ev{{Data: "a\nb"}}},
		{"no space", "data:a\n\n", []ev{{Data: "a"}}},
		{"comment", ": ping\n\ndata: x\n\n", []ev{{Comment: true}, {Data: "x"}}},
		{"no final blank line", "data: a\n\ndata: b", []ev{{Data: "a"}, {Data: "b"}}},
		{"stray blank lines", "\n\ndata: a\n\n\n\n", []ev{{Data: "a"}}},
		{"id", "id: 7\ndata: a\n\n", []ev{{ID: "7", Data: "a"}}},
		{"utf8", "data: 今日の東京\n\n", []ev{{Data: "今日の東京"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, raw := readAll(t, strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if string(raw) != tt.in {
				t.Errorf("concatenated Raw = %q, want the input %q", raw, tt.in)
			}
			// Byte-at-a-time delivery must give the same events: network
			// reads split events (and multi-byte characters) anywhere.
			got1, raw1 := readAll(t, iotest.OneByteReader(strings.NewReader(tt.in)))
			if diff := cmp.Diff(tt.want, got1); diff != "" {
				t.Errorf("one byte at a time (-want +got):\n%s", diff)
			}
			if string(raw1) != tt.in {
				t.Errorf("one byte at a time: Raw = %q, want %q", raw1, tt.in)
			}
		})
	}
}

func TestReaderFixturesByteFaithful(t *testing.T) {
	files := fixtures.Glob(t, "*.sse")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, raw := readAll(t, bytes.NewReader(b))
		if !bytes.Equal(raw, b) {
			t.Errorf("%s: concatenated Raw differs from the file", filepath.Base(f))
		}
		if len(evs) == 0 {
			t.Errorf("%s: no events", filepath.Base(f))
		}
	}
}

func TestReaderLimit(t *testing.T) {
	rd := NewReaderSize(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50)
	if _, err := rd.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("Next() error = %v, want ErrEventTooLarge", err)
	}
}

// TestReaderEventsLargerThanItsBuffer checks events and lines many times
// readBufSize (a Responses stream's final event echoes the whole output),
// with each line ending falling at every offset of a buffer refill.
func TestReaderEventsLargerThanItsBuffer(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n", "\r"} {
		for _, size := range []int{readBufSize - 7, readBufSize, readBufSize + 1, 3*readBufSize + 5, 64 << 10} {
			long := strings.Repeat("y", size)
			in := "event: response.completed" + eol + "data: " + long + eol + "data: tail" + eol + eol +
				": ping" + eol + eol + "data: next" + eol + eol
			want := []ev{{Name: "response.completed", Data: long + "\ntail"}, {Comment: true}, {Data: "next"}}
			for name, r := range map[string]io.Reader{
				"whole":   strings.NewReader(in),
				"halves":  iotest.HalfReader(strings.NewReader(in)),
				"by 4093": io.MultiReader(chunks(in, 4093)...),
			} {
				got, raw := readAll(t, r)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("eol %q, size %d, %s: events (-want +got):\n%.400s", eol, size, name, diff)
				}
				if string(raw) != in {
					t.Errorf("eol %q, size %d, %s: Raw is not the input", eol, size, name)
				}
			}
		}
	}
}

// chunks splits s into readers of n bytes, so that reads end where a
// buffer of another size would not.
func chunks(s string, n int) []io.Reader {
	var out []io.Reader
	for len(s) > n {
		out = append(out, strings.NewReader(s[:n]))
		s = s[n:]
	}
	return append(out, strings.NewReader(s))
}

func TestWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if err := w.Event("ping", []byte("a\nb")); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Body.String(), "event: ping\ndata: a\ndata: b\n\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if !rec.Flushed {
		t.Error("Flush did not flush the response")
	}
}

func FuzzReader(f *testing.F) {
	for _, p := range fixtures.Glob(f, "*.sse") {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("data: a\r\n\r\nevent: x\rdata: y\r\r: c\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := NewReaderSize(bytes.NewReader(in), 1<<16)
		var raw []byte
		for range len(in) + 2 {
			e, err := rd.Next()
			if err != nil {
				if errors.Is(err, io.EOF) && !bytes.Equal(raw, in) {
					t.Fatalf("concatenated Raw %q != input %q", raw, in)
				}
				return
			}
			raw = append(raw, e.Raw...)
		}
		t.Fatal("Next did not reach EOF")
	})
}

// TestLineEndIsIndexAny checks lineEnd against bytes.IndexAny on every
// placement of CR and LF in short inputs, and on the fixtures' bytes.
func TestLineEndIsIndexAny(t *testing.T) {
	alphabet := []byte{'a', '\r', '\n'}
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		if got, want := lineEnd(prefix), bytes.IndexAny(prefix, "\r\n"); got != want {
			t.Errorf("lineEnd(%q) = %d, want %d", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix[:len(prefix):len(prefix)], c), n-1)
		}
	}
	gen(nil, 7)
	for _, f := range fixtures.Glob(t, "*.sse") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			if got, want := lineEnd(b[i:]), bytes.IndexAny(b[i:], "\r\n"); got != want {
				t.Fatalf("%s at %d: lineEnd = %d, want %d", filepath.Base(f), i, got, want)
			}
		}
	}
}

func FuzzLineEnd(f *testing.F) {
	f.Add([]byte("data: x\r\n\r\n"))
	f.Add([]byte("no end"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lineEnd(b), bytes.IndexAny(b, "\r\n"); got != want {
			t.Errorf("lineEnd(%q) = %d, want %d", b, got, want)
		}
	})
}

// TestReaderReset reuses one Reader for stream after stream, each left in
// a different state (cut inside an event, after a lone CR whose LF may
// follow, after an event larger than the buffers Reset keeps, after an
// error): every next stream must read exactly as with a new Reader.
func TestReaderReset(t *testing.T) {
	files := fixtures.Glob(t, "*.sse")
	huge := "data: " + strings.Repeat("z", 2*keptEventBuffer) + "\n\n"
	// Each left-over leaves the Reader after reading part of a stream.
	leftovers := []struct {
		name  string
		in    string
		reads int // events read before the Reset
	}{
		{"cut inside an event", "data: one\n\ndata: tw", 2},
		{"pending CR", "data: one\r", 1},
		{"pending CR, event unread", "data: one\r\rdata: x\r", 1},
		{"huge event", huge, 1},
		{"too large", "data: " + strings.Repeat("q", 64) + "\n\n", 1},
		{"nothing read", "data: unread\n\n", 0},
	}
	rd := NewReaderSize(strings.NewReader(""), 1<<20)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantRaw := readEvents(t, NewReaderSize(bytes.NewReader(b), 1<<20))
		for _, lo := range leftovers {
			rd.max = 1 << 20
			if lo.name == "too large" {
				rd.max = 32
			}
			rd.Reset(strings.NewReader(lo.in))
			for range lo.reads {
				_, _ = rd.Next()
			}
			rd.max = 1 << 20
			rd.Reset(iotest.HalfReader(bytes.NewReader(b)))
			got, raw := readEvents(t, rd)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s after %s: events (-new Reader +reset Reader):\n%.600s", filepath.Base(f), lo.name, diff)
			}
			if !bytes.Equal(raw, wantRaw) {
				t.Errorf("%s after %s: Raw differs from a new Reader's", filepath.Base(f), lo.name)
			}
		}
	}
	// A huge event's buffer is not kept; a stream's ordinary one is.
	rd.Reset(strings.NewReader(huge))
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	rd.Reset(nil)
	if cap(rd.raw) != 0 || cap(rd.data) != 0 {
		t.Errorf("after a %d-byte event Reset kept buffers of %d and %d bytes, want none", len(huge), cap(rd.raw), cap(rd.data))
	}
	rd.Reset(strings.NewReader("data: small\n\n"))
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	raw := &rd.raw[:1][0]
	rd.Reset(strings.NewReader("data: again\n\n"))
	e, err := rd.Next()
	if err != nil || string(e.Data) != "again" {
		t.Fatalf("Next() after Reset = %q, %v", e.Data, err)
	}
	if &e.Raw[0] != raw {
		t.Error("Reset did not keep the event buffer of a small event")
	}
}
