package requestlog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps requestlog below the gateway: no HTTP router, logger or
// other llmgw package than llm.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		bad := strings.HasPrefix(dep, "github.com/go-chi/") || strings.HasPrefix(dep, "github.com/rs/zerolog") ||
			(strings.HasPrefix(dep, "github.com/llmgw/llmgw/") && dep != "github.com/llmgw/llmgw/llm" && dep != "github.com/llmgw/llmgw/requestlog")
		if bad {
			t.Errorf("requestlog imports %s", dep)
		}
	}
}
