package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFmtDiff(t *testing.T) {
	dir := t.TempDir()
	src := strings.Repeat("# keep\n", 10) + "def route(req,ctx):\n    return [ ]\n"
	p := filepath.Join(dir, "policies.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCmd(t, "", nil, "fmt", "--diff", p)
	want := "--- " + p + "\n+++ " + p + " (formatted)\n@@ -8,5 +8,5 @@\n # keep\n # keep\n # keep\n-def route(req,ctx):\n-    return [ ]\n+def route(req, ctx):\n+    return []\n"
	if code != 1 || out != want {
		t.Errorf("fmt --diff = exit %d\n%s\nwant\n%s", code, out, want)
	}
	if b, _ := os.ReadFile(p); string(b) != src {
		t.Errorf("fmt --diff wrote the file")
	}
	runCmd(t, "", nil, "fmt", p)
	if out, _, code := runCmd(t, "", nil, "fmt", "--diff", p); code != 0 || out != "" {
		t.Errorf("fmt --diff on a formatted file = exit %d, %q", code, out)
	}
}

func TestUnifiedDiffHunks(t *testing.T) {
	a := strings.Join([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}, "\n") + "\n"
	b := strings.Replace(strings.Replace(a, "2\n", "two\n", 1), "18\n", "eighteen\n", 1)
	got := unifiedDiff("f", a, b)
	want := "--- f\n+++ f (formatted)\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n"
	if got != want {
		t.Errorf("unifiedDiff =\n%s\nwant\n%s", got, want)
	}
}
