package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
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

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
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

// indentJSON renders v for golden files, "<" and "&" unescaped.
func indentJSON(t *testing.T, v any) []byte {
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

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtures(t *testing.T, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "fixtures", pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// readEvents splits an SSE body into events (copied: sse.Reader reuses its
// buffer).
func readEvents(t testing.TB, body []byte) []sse.Event {
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

// decodeStream runs a whole SSE body through a StreamDecoder.
func decodeStream(t testing.TB, body []byte) []llm.Event {
	t.Helper()
	d := NewStreamDecoder()
	var out []llm.Event
	for _, ev := range readEvents(t, body) {
		evs, err := d.Decode(ev)
		if err != nil {
			t.Fatalf("Decode(%q) error: %v", ev.Data, err)
		}
		out = append(out, evs...)
	}
	return append(out, d.Close()...)
}

var kindNames = map[llm.EventKind]string{
	llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
	llm.EventSignature: "signature", llm.EventBlockStop: "block_stop", llm.EventUsage: "usage",
	llm.EventFinish: "finish", llm.EventError: "error",
}

// formatEvents renders events one per line for golden files.
func formatEvents(evs []llm.Event) []byte {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(kindNames[ev.Kind])
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

func ptr[T any](v T) *T { return &v }

func encodeStream(req *llm.Request, evs []llm.Event) []byte {
	e := NewStreamEncoder(req)
	var out []byte
	for _, ev := range evs {
		out = e.Encode(out, ev)
	}
	return e.Close(out)
}
