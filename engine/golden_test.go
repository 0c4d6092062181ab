package engine

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/eval")

// TestEvalGolden dry-runs testdata/basic for each testdata/eval/*.json
// case and compares the EvalResult JSON with its .golden file. Run with
// -update after an intended change.
func TestEvalGolden(t *testing.T) {
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/basic", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob("testdata/eval/*.json")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Protocol string            `json:"protocol"`
				Key      string            `json:"key"`
				Headers  map[string]string `json:"headers"`
				Body     json.RawMessage   `json:"body"`
				Options  EvalOptions       `json:"options"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			req, err := requestFromBody(c.Protocol, c.Body, c.Headers)
			if err != nil {
				t.Fatal(err)
			}
			req.Key = c.Key
			c.Options.Now = TestEpoch()
			res, err := e.Policy().Eval(context.Background(), req, c.Options)
			if err != nil {
				t.Fatal(err)
			}
			res.Policy = "HASH" // the golden files outlive policy edits
			got, _ := json.MarshalIndent(res, "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(path, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Eval(%s) (-want +got):\n%s", name, diff)
			}
		})
	}
}
