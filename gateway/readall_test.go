package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name  string
		size  int64
		limit int64
	}{
		{"unknown size", -1, 1 << 20},
		{"exact size", 3000, 1 << 20},
		{"announced too small", 10, 1 << 20},
		{"announced too large", 5000, 1 << 20},
		{"announced past limit", 3000, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(body), iotest.OneByteReader(strings.NewReader(body)), iotest.HalfReader(strings.NewReader(body))} {
				got, err := readAll(r, tc.size, tc.limit, nil)
				if err != nil || string(got) != body {
					t.Fatalf("readAll(size %d) = %d bytes, %v; want %d bytes", tc.size, len(got), err, len(body))
				}
			}
		})
	}
	boom := errors.New("boom")
	got, err := readAll(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)), 10, 100, nil)
	if !errors.Is(err, boom) || string(got) != "abc" {
		t.Errorf("readAll(failing reader) = %q, %v; want \"abc\", boom", got, err)
	}
}
