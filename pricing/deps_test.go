package pricing

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps pricing a leaf: llm and the standard library only.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		// A standard library path has no dot in its first element
		// (crypto/internal/entropy/v1.0.0 has one further on).
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && dep != "github.com/llmgw/llmgw/llm" && dep != "github.com/llmgw/llmgw/pricing" {
			t.Errorf("pricing imports %s; want only llm and the standard library", dep)
		}
	}
}
