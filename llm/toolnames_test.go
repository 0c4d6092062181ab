package llm

import (
	"strings"
	"testing"
)

func TestShortToolName(t *testing.T) {
	long := "mcp__company-internal-knowledge-base__search_documents_by_semantic_similarity"
	other := long[:60] + "_variant_with_the_same_first_55_bytes"
	tools := []Tool{{Name: "get_weather"}, {Name: other}, {Name: long}}
	for _, name := range []string{"get_weather", strings.Repeat("a", 64), long, other} {
		short := ShortToolName(name)
		if len(short) > MaxToolName {
			t.Errorf("ShortToolName(%q) = %q: %d bytes", name, short, len(short))
		}
		if len(name) <= MaxToolName && short != name {
			t.Errorf("ShortToolName(%q) = %q, want it unchanged", name, short)
		}
		if got := OriginalToolName(tools, short); len(name) > MaxToolName && got != name {
			t.Errorf("OriginalToolName(%q) = %q, want %q", short, got, name)
		}
	}
	if ShortToolName(long) == ShortToolName(other) {
		t.Errorf("two names with the same first 55 bytes shortened alike")
	}
	if got := OriginalToolName(tools[:1], ShortToolName(long)); got != ShortToolName(long) {
		t.Errorf("a shortened name missing from the tools = %q, want it unchanged", got)
	}
}
