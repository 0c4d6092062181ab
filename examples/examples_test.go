// Package examples_test loads every example policy (and the starter
// policy at the repository root) and runs its tests, so none of them rots.
package examples_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bazelbuild/buildtools/build"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
)

func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("*/policies.star")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(dirs))
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		t.Run(dir, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Errorf("missing README.md: %v", err)
			}
			// Every variable an example reads is set, as in a deployment:
			// a provider whose key variable is unset is refused at load.
			runPolicyTests(t, dir, func(k string) string { return "test-" + k })
			for _, f := range []string{"policies.star", "policies_test.star"} {
				checkFormatted(t, filepath.Join(dir, f))
			}
		})
	}
}

// checkFormatted fails when `llmgw fmt` would change the file.
func checkFormatted(t *testing.T, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := build.ParseDefault(path, src)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if string(build.Format(f)) != string(src) {
		t.Errorf("%s is not formatted: run llmgw fmt %s", path, path)
	}
}

// TestStarterPolicy runs the starter policy's tests with no provider key,
// with each key alone and with all of them.
func TestStarterPolicy(t *testing.T) {
	envs := map[string]map[string]string{
		"no keys":   nil,
		"openai":    {"OPENAI_API_KEY": "sk-test"},
		"anthropic": {"ANTHROPIC_API_KEY": "sk-ant-test"},
		"gemini":    {"GEMINI_API_KEY": "g-test"},
		"all":       {"OPENAI_API_KEY": "a", "ANTHROPIC_API_KEY": "b", "GEMINI_API_KEY": "c"},
	}
	for name, vars := range envs {
		t.Run(name, func(t *testing.T) {
			runPolicyTests(t, "../policies.star.example", func(k string) string { return vars[k] })
		})
	}
	checkFormatted(t, "../policies.star.example")
	checkFormatted(t, "../policies_test.star.example")
}

func runPolicyTests(t *testing.T, path string, getenv func(string) string) {
	t.Helper()
	cfg := engine.Config{Kinds: gateway.ProviderKinds(), Path: path, Getenv: getenv}
	rep, err := engine.RunTests(context.Background(), cfg, engine.TestOptions{FailOnEmpty: true})
	if err != nil {
		t.Fatalf("RunTests(%s) = %v", path, err)
	}
	for _, r := range rep.Tests {
		if r.Failed {
			t.Errorf("%s: %s: %s", r.Name, r.Pos, r.Error)
		}
	}
	if !rep.OK() {
		t.Errorf("RunTests(%s): %d passed, %d failed, empty=%v", path, rep.Passed, rep.Failed, rep.Empty)
	}
}
