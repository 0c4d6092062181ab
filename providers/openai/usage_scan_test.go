package openai

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	recorded "github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/internal/wirejson"
)

// TestScanUsageMatchesDecode checks the scanner's usage against the
// encoding/json decode it replaced, on every recorded OpenAI body and
// stream chunk that carries usage, and on hand-made edge cases.
func TestScanUsageMatchesDecode(t *testing.T) {
	raws := []string{
		`{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}`,
		`{"prompt_tokens":100,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":60,"cache_write_tokens":20},"completion_tokens_details":{"reasoning_tokens":30}}`,
		`{"prompt_tokens":100,"completion_tokens":0,"prompt_tokens_details":{"cache_creation_tokens":7},"completion_tokens_details":null}`,
		`{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":9}}`, // more cached than prompt: input clamps at 0
		`{}`,
	}
	for _, f := range recorded.Glob(t, "openai*") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "data:")
			if raw := wirejson.Member([]byte(strings.TrimSpace(line)), "usage"); raw != nil {
				raws = append(raws, string(raw))
			}
		}
		if raw := wirejson.Member(b, "usage"); raw != nil {
			raws = append(raws, string(raw))
		}
	}
	if len(raws) < 8 {
		t.Fatalf("found %d usage objects in the fixtures, want more", len(raws))
	}
	for _, raw := range raws {
		var wu wireUsage
		if err := json.Unmarshal([]byte(raw), &wu); err != nil {
			t.Fatalf("fixture usage %s: %v", raw, err)
		}
		got, ok := scanUsage([]byte(raw))
		if !ok {
			t.Errorf("scanUsage(%s) failed", raw)
			continue
		}
		if diff := cmp.Diff(wu.neutral(), got); diff != "" {
			t.Errorf("scanUsage(%s) mismatch (-decode +scan):\n%s", raw, diff)
		}
	}
}
