package gemini

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with
// -update (goldentest.Golden).
func golden(t *testing.T, name string, got []byte) { goldentest.Golden(t, *update, name, got) }

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// prettyJSON re-indents a JSON document for a readable golden file.
func prettyJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return append(out.Bytes(), '\n')
}

func readFixture(t testing.TB, name string) []byte { return goldentest.Fixture(t, name) }

func fixtures(t testing.TB, pattern string) []string { return goldentest.Fixtures(t, pattern) }

// testNonce fixes the random part of synthesized call ids in goldens.
const testNonce = "nonce"

// decodeStream runs a recorded SSE body through a StreamDecoder.
func decodeStream(t testing.TB, body []byte) []llm.Event {
	d := NewStreamDecoder()
	d.Nonce = testNonce
	return goldentest.DecodeStream(t, d, body)
}

var kindNames = map[llm.EventKind]string{
	llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
	llm.EventSignature: "signature", llm.EventBlockStop: "block_stop", llm.EventUsage: "usage",
	llm.EventFinish: "finish", llm.EventError: "error",
}

// eventLines renders events one JSON object per line, zero fields left
// out, for golden files.
func eventLines(t *testing.T, evs []llm.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range evs {
		m := map[string]any{"kind": kindNames[ev.Kind]}
		set := func(k string, v any, zero bool) {
			if !zero {
				m[k] = v
			}
		}
		set("id", ev.ID, ev.ID == "")
		set("model", ev.Model, ev.Model == "")
		set("index", ev.Index, ev.Kind == llm.EventStart || ev.Kind >= llm.EventUsage)
		set("block", ev.Block, ev.Block == "")
		set("text", ev.Text, ev.Text == "")
		set("tool_call_id", ev.ToolCallID, ev.ToolCallID == "")
		set("tool_name", ev.ToolName, ev.ToolName == "")
		set("signature_protocol", ev.SignatureProtocol, ev.SignatureProtocol == "")
		set("usage", ev.Usage, ev.Usage == nil)
		set("stop_reason", ev.StopReason, ev.StopReason == "")
		set("err", ev.Err, ev.Err == nil)
		line, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func goldenName(fixture, suffix string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(fixture, filepath.Ext(fixture)), ".request")
	return base + suffix
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
