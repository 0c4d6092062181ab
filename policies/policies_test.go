package policies_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/policies"
)

// TestStockModules runs testdata/policies_test.star, which exercises
// every stock module through a policy that loads them.
func TestStockModules(t *testing.T) {
	rep, err := engine.RunTests(context.Background(), engine.Config{Kinds: gateway.ProviderKinds(), Path: "testdata"}, engine.TestOptions{FailOnEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Tests {
		if r.Failed {
			t.Errorf("%s: %s: %s", r.Name, r.Pos, r.Error)
		}
	}
	if !rep.OK() {
		t.Errorf("stock module tests: %d passed, %d failed", rep.Passed, rep.Failed)
	}
}

func TestFS(t *testing.T) {
	names, err := fs.Glob(policies.FS(), "*.star")
	if err != nil || len(names) < 2 {
		t.Fatalf("stock modules = %v, %v, want fallback.star and models.star", names, err)
	}
}
