// Package goldentest holds the golden-file and fixture helpers the
// converters' tests share: compare or rewrite testdata/golden files, read
// the package's testdata/fixtures (its copy of the recordings in the
// repository's testdata/fixtures that its goldens were built from), run
// recorded streams through a decoder, and render neutral events one per
// line. It is test support; converters never import it.
package goldentest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// Golden compares got with testdata/golden/name or, when update is set (a
// test package's -update flag), rewrites the file.
func Golden(t *testing.T, update bool, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// IndentJSON renders v for golden files, "<" and "&" unescaped.
func IndentJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Fixture reads testdata/fixtures/name.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Fixtures lists the names of the fixtures matching pattern; none is an
// error.
func Fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "fixtures", pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures match %s: %v", pattern, err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// ReadEvents splits an SSE body into events (copied: sse.Reader reuses its
// buffer).
func ReadEvents(t testing.TB, body []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(body))
	var evs []sse.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		ev.Data = bytes.Clone(ev.Data)
		ev.Raw = bytes.Clone(ev.Raw)
		evs = append(evs, ev)
	}
}

// StreamDecoder is a converter's stream decoder.
type StreamDecoder interface {
	Decode(ev sse.Event) ([]llm.Event, error)
	Close() []llm.Event
}

// DecodeStream runs a whole SSE body through d.
func DecodeStream(t testing.TB, d StreamDecoder, body []byte) []llm.Event {
	t.Helper()
	var out []llm.Event
	for _, ev := range ReadEvents(t, body) {
		evs, err := d.Decode(ev)
		if err != nil {
			t.Fatalf("Decode(%q) error: %v", ev.Data, err)
		}
		out = append(out, evs...)
	}
	return append(out, d.Close()...)
}

// StreamEncoder is a converter's stream encoder.
type StreamEncoder interface {
	Encode(dst []byte, ev llm.Event) []byte
	Close(dst []byte) []byte
}

// EncodeStream runs evs through e and returns the whole stream.
func EncodeStream(e StreamEncoder, evs []llm.Event) []byte {
	var out []byte
	for _, ev := range evs {
		out = e.Encode(out, ev)
	}
	return e.Close(out)
}

// kindName names an event kind in golden files.
func kindName(k llm.EventKind) string {
	switch k {
	case llm.EventStart:
		return "start"
	case llm.EventBlockStart:
		return "block_start"
	case llm.EventDelta:
		return "delta"
	case llm.EventSignature:
		return "signature"
	case llm.EventBlockStop:
		return "block_stop"
	case llm.EventUsage:
		return "usage"
	case llm.EventFinish:
		return "finish"
	case llm.EventError:
		return "error"
	}
	return ""
}

// FormatEvents renders events one per line for golden files.
func FormatEvents(evs []llm.Event) []byte {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(kindName(ev.Kind))
		switch ev.Kind {
		case llm.EventStart:
			fmt.Fprintf(&b, " id=%s model=%s", ev.ID, ev.Model)
			if ev.Usage != nil {
				fmt.Fprintf(&b, " usage=%+v", *ev.Usage)
			}
		case llm.EventBlockStart:
			fmt.Fprintf(&b, " %d %s", ev.Index, ev.Block)
			if ev.ToolCallID != "" || ev.ToolName != "" {
				fmt.Fprintf(&b, " id=%s name=%s", ev.ToolCallID, ev.ToolName)
			}
			if ev.Text != "" {
				fmt.Fprintf(&b, " data=%q", ev.Text)
			}
		case llm.EventDelta:
			fmt.Fprintf(&b, " %d %s", ev.Index, strconv.Quote(ev.Text))
		case llm.EventSignature:
			fmt.Fprintf(&b, " %d %s %q", ev.Index, ev.SignatureProtocol, ev.Text)
		case llm.EventBlockStop:
			fmt.Fprintf(&b, " %d", ev.Index)
		case llm.EventUsage:
			fmt.Fprintf(&b, " %+v", *ev.Usage)
		case llm.EventFinish:
			fmt.Fprintf(&b, " %s", ev.StopReason)
			if ev.StopSequence != "" {
				fmt.Fprintf(&b, " %q", ev.StopSequence)
			}
		case llm.EventError:
			fmt.Fprintf(&b, " %d %s %q", ev.Err.Status, ev.Err.Type, ev.Err.Message)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
