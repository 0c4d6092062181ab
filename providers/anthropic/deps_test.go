package anthropic

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestImports keeps the package a leaf: the standard library, llm and sse
// only (docs/ARCHITECTURE.md).
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(path, ".") && path != "github.com/llmgw/llmgw/llm" && path != "github.com/llmgw/llmgw/sse" && path != "github.com/llmgw/llmgw/internal/wirejson" && path != "github.com/llmgw/llmgw/internal/wirefeat" {
				t.Errorf("%s imports %s; converters may import only the standard library, llm, sse, wirejson and wirefeat", name, path)
			}
		}
	}
}
