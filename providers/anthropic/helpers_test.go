package anthropic

import (
	"flag"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/goldentest"
	"github.com/llmgw/llmgw/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The golden-file and fixture helpers are goldentest's, under the names
// this package's tests use.
func golden(t *testing.T, name string, got []byte) { goldentest.Golden(t, *update, name, got) }
func indentJSON(t *testing.T, v any) []byte        { return goldentest.IndentJSON(t, v) }
func fixture(t testing.TB, name string) []byte     { return goldentest.Fixture(t, name) }
func fixtures(t *testing.T, pattern string) []string {
	return goldentest.Fixtures(t, pattern)
}
func readEvents(t testing.TB, body []byte) []sse.Event { return goldentest.ReadEvents(t, body) }
func formatEvents(evs []llm.Event) []byte              { return goldentest.FormatEvents(evs) }

// decodeStream runs a whole SSE body through a StreamDecoder.
func decodeStream(t testing.TB, body []byte) []llm.Event {
	return goldentest.DecodeStream(t, NewStreamDecoder(), body)
}

func ptr[T any](v T) *T { return &v }

func encodeStream(req *llm.Request, evs []llm.Event) []byte {
	return goldentest.EncodeStream(NewStreamEncoder(req), evs)
}
