package demo

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps demo a leaf: the standard library, llm and sse only.
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{
		"github.com/llmgw/llmgw/providers/demo": true,
		"github.com/llmgw/llmgw/llm":            true,
		"github.com/llmgw/llmgw/sse":            true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("providers/demo imports %s; it may import only the standard library, llm and sse", p)
		}
	}
}
