package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the import graph one-way: builtins, policies and
// the engine never reach up to the gateway, and the leaf packages stay
// free of the gateway's dependencies.
func TestDependencies(t *testing.T) {
	forbidden := map[string][]string{
		"github.com/llmgw/llmgw/builtins": {"github.com/llmgw/llmgw/engine", "github.com/llmgw/llmgw/gateway", "github.com/go-chi/chi", "github.com/rs/zerolog", "modernc.org/sqlite", "github.com/fsnotify/fsnotify"},
		"github.com/llmgw/llmgw/policies": {"github.com/llmgw/llmgw/engine", "go.starlark.net"},
		// The engine reads no wire format: the adapters read a request's
		// features (llm.Features) and supply the provider kinds.
		"github.com/llmgw/llmgw/engine": {"github.com/llmgw/llmgw/gateway", "github.com/go-chi/chi", "github.com/rs/zerolog", "modernc.org/sqlite", "net/http",
			"github.com/llmgw/llmgw/internal/wirejson", "github.com/llmgw/llmgw/internal/wirefeat", "github.com/llmgw/llmgw/providers"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Skipf("go list: %v", err)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s imports %s", pkg, d)
				}
			}
		}
	}
}
