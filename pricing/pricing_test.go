package pricing

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
)

func TestDefaultParses(t *testing.T) {
	tab := Default()
	if tab.Len() < 40 {
		t.Fatalf("Default().Len() = %d, want at least 40 models", tab.Len())
	}
	for _, name := range tab.Models() {
		p, _, _, _ := tab.Lookup(name)
		if p.Input < 0 || p.Output < 0 {
			t.Errorf("Lookup(%q) = %+v, want non-negative rates", name, p)
		}
		if strings.HasPrefix(name, "claude-") && name != "claude-3-haiku" { // 3 Haiku predates the multipliers
			// Anthropic: cache write 1.25x, 1h write 2x, cache read 0.1x.
			if p.CacheWrite*4 != p.Input*5 || p.CacheWrite1h != 2*p.Input || p.CacheRead*10 != p.Input {
				t.Errorf("Lookup(%q) = %+v, want cache rates 1.25x/2x/0.1x of input", name, p)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	tab := Default()
	tests := []struct {
		model, want string // want "" means unpriced
	}{
		{"gpt-4o", "gpt-4o"},
		{"GPT-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"},
		{"gpt-4-0613", "gpt-4"},
		{"o3-pro", "o3-pro"},
		{"o3-pro-2025-06-10", "o3-pro"},
		{"o3-2025-04-16", "o3"},
		{"gpt-5-chat-latest", "gpt-5-chat"},
		{"openai/gpt-5-mini", "gpt-5-mini"},
		{"claude-3-7-sonnet-20250219", "claude-3-7-sonnet"},
		{"claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"claude-haiku-4-5", "claude-haiku-4-5"},
		{"models/gemini-2.5-pro", "gemini-2.5-pro"},
		{"gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"},
		{"gemini-2.5-flash-lite-preview-09-2025", "gemini-2.5-flash-lite"},
		{"gemini-3-pro-preview", "gemini-3-pro"},
		{"text-embedding-3-small", "text-embedding-3-small"},
		// Unsafe prefixes never match.
		{"o3-deep-research", ""},
		{"gpt-4o-realtime", ""},
		{"claude-opus-4-9", ""},
		{"my-private-model", ""},
		{"", ""},
	}
	for _, tt := range tests {
		_, _, got, _ := tab.Lookup(tt.model)
		if got != tt.want {
			t.Errorf("Lookup(%q) matched %q, want %q", tt.model, got, tt.want)
		}
	}
}

func TestCost(t *testing.T) {
	tab := Default()
	tests := []struct {
		name  string
		model string
		u     llm.Usage
		want  Micros
		ok    bool
	}{
		// 1000 × $2.50/M + 500 × $10/M = 2500 + 5000 micros.
		{"gpt-4o", "gpt-4o", llm.Usage{InputTokens: 1000, OutputTokens: 500}, 7500, true},
		// Cache read at $1.25/M: 2000 tokens = 2500 micros.
		{"gpt-4o cached", "gpt-4o-2024-08-06", llm.Usage{InputTokens: 1000, CacheReadTokens: 2000, OutputTokens: 100}, 2500 + 2500 + 1000, true},
		// Rounding: 1 token × $0.15/M = 0.15 micros → 0; 4 tokens = 0.6 → 1.
		{"round down", "gpt-4o-mini", llm.Usage{InputTokens: 1}, 0, true},
		{"round up", "gpt-4o-mini", llm.Usage{InputTokens: 4}, 1, true},
		// Claude Sonnet 4.5: 5m writes at $3.75/M, 1h writes at $6/M, reads at $0.30/M.
		{"claude cache split", "claude-sonnet-4-5-20250929", llm.Usage{
			InputTokens: 100, OutputTokens: 1000, CacheReadTokens: 10000,
			CacheWriteTokens: 3000, CacheWrite5mTokens: 1000, CacheWrite1hTokens: 2000,
		}, 300 + 15000 + 3000 + 3750 + 12000, true},
		// Over 200k prompt tokens the whole request is billed at the long rate.
		{"gemini long", "gemini-2.5-pro", llm.Usage{InputTokens: 200_001, OutputTokens: 1000}, 500_003 + 15_000, true},
		{"gemini short", "gemini-2.5-pro", llm.Usage{InputTokens: 200_000, OutputTokens: 1000}, 250_000 + 10_000, true},
		// Huge counts stay exact: 3e9 × $15/M = $45,000.
		{"huge", "claude-opus-4-1", llm.Usage{InputTokens: 3_000_000_000}, 45_000_000_000, true},
		{"negative tokens ignored", "gpt-4o", llm.Usage{InputTokens: -5, OutputTokens: 100}, 1000, true},
		{"unpriced", "my-private-model", llm.Usage{InputTokens: 1000}, 0, false},
		{"free model is priced", "text-embedding-004", llm.Usage{InputTokens: 1000}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src, ok := tab.Cost(tt.model, tt.u)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Cost(%q, %+v) = %d, %v, want %d, %v", tt.model, tt.u, got, ok, tt.want, tt.ok)
			}
			if ok && src != SourceBuiltin {
				t.Errorf("Cost(%q) source = %q, want %q", tt.model, src, SourceBuiltin)
			}
		})
	}
}

func TestParseUSD(t *testing.T) {
	tests := []struct {
		in      string
		want    Micros
		wantErr bool
	}{
		{"2.5", 2_500_000, false},
		{"0.075", 75_000, false},
		{"0.0000005", 1, false}, // half rounds away from zero
		{"0.0000004", 0, false},
		{"1e-3", 1000, false},
		{"-1.5", -1_500_000, false},
		{"15", 15_000_000, false},
		{"abc", 0, true},
		{"1e30", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseUSD(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseUSD(%q) = %d, %v, want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFromUSDNoDrift(t *testing.T) {
	// Floats whose binary value times 1e6 is not an integer.
	tests := []struct {
		in   float64
		want Micros
	}{
		{0.1, 100_000}, {0.3, 300_000}, {1.1, 1_100_000}, {0.29, 290_000}, {4.35, 4_350_000}, {1e-6, 1},
	}
	for _, tt := range tests {
		if got, err := FromUSD(tt.in); got != tt.want || err != nil {
			t.Errorf("FromUSD(%v) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestWith(t *testing.T) {
	base := Default()
	tab := base.With(
		Override{Model: "gpt-4o", Price: Price{Input: 1_000_000, Output: 2_000_000}},
		Override{Model: "My-Model", Price: Price{Input: 3_000_000}},
		Override{Model: "my-model", Price: Price{Input: 4_000_000}, Source: SourceFile},
	)
	tests := []struct {
		model   string
		u       llm.Usage
		want    Micros
		wantSrc string
	}{
		{"gpt-4o-2024-08-06", llm.Usage{InputTokens: 1000, OutputTokens: 1000}, 3000, SourcePolicy},
		{"my-model", llm.Usage{InputTokens: 1000}, 4000, SourceFile},
		{"gpt-4.1", llm.Usage{InputTokens: 1000}, 2000, SourceBuiltin},
	}
	for _, tt := range tests {
		got, src, ok := tab.Cost(tt.model, tt.u)
		if got != tt.want || src != tt.wantSrc || !ok {
			t.Errorf("Cost(%q) = %d, %q, %v, want %d, %q, true", tt.model, got, src, ok, tt.want, tt.wantSrc)
		}
	}
	// The base table is unchanged.
	if got, _, _ := base.Cost("gpt-4o", llm.Usage{InputTokens: 1000}); got != 2500 {
		t.Errorf("base.Cost(gpt-4o) after With = %d, want 2500", got)
	}
	var nilTab *Table
	if _, _, ok := nilTab.Cost("gpt-4o", llm.Usage{}); ok {
		t.Errorf("(*Table)(nil).Cost(gpt-4o) ok = true, want false")
	}
	if _, _, ok := nilTab.With(Override{Model: "x"}).Cost("x", llm.Usage{}); !ok {
		t.Errorf("nil.With(x).Cost(x) ok = false, want true")
	}
}

func TestLoadLiteLLM(t *testing.T) {
	f, err := os.Open("testdata/litellm_sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := LoadLiteLLM(f)
	if err != nil {
		t.Fatalf("LoadLiteLLM: %v", err)
	}
	want := map[string]Price{
		"gpt-4o": {Input: 2_500_000, Output: 10_000_000, CacheRead: 1_250_000},
		"claude-sonnet-4-5-20250929": {Input: 3_000_000, Output: 15_000_000, CacheRead: 300_000,
			CacheWrite: 3_750_000, CacheWrite1h: 6_000_000},
		"gemini/gemini-2.5-flash": {Input: 300_000, Output: 2_500_000, CacheRead: 30_000},
		"gemini-2.5-flash":        {Input: 300_000, Output: 2_500_000, CacheRead: 30_000},
		"text-embedding-3-small":  {Input: 20_000},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadLiteLLM mismatch (-want +got):\n%s", diff)
	}
	tab := Default().With(FileOverrides(got)...)
	if c, src, ok := tab.Cost("models/gemini-2.5-flash", llm.Usage{InputTokens: 1_000_000}); c != 300_000 || src != SourceFile || !ok {
		t.Errorf("Cost(gemini-2.5-flash) with file = %d, %q, %v, want 300000, file, true", c, src, ok)
	}
}

func TestLoadLiteLLMErrors(t *testing.T) {
	for _, in := range []string{`not json`, `[1,2]`, `{"m": {"input_cost_per_token": 1e400}}`} {
		if _, err := LoadLiteLLM(strings.NewReader(in)); err == nil {
			t.Errorf("LoadLiteLLM(%q) error = nil, want an error", in)
		}
	}
}

func TestMicrosString(t *testing.T) {
	for _, tt := range []struct {
		m    Micros
		want string
	}{{0, "$0.000000"}, {1_234_567, "$1.234567"}, {-5, "-$0.000005"}} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Micros(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"gpt-4o-2024-08-06", "models/gemini-2.5-pro", "claude-3-5-sonnet-v2@20241022", "-", "@", "a/", "x-v1:"} {
		f.Add(s)
	}
	tab := Default()
	f.Fuzz(func(t *testing.T, model string) {
		c, _, ok := tab.Cost(model, llm.Usage{InputTokens: 1000, OutputTokens: 1000})
		if !ok && c != 0 {
			t.Fatalf("Cost(%q) = %d with ok=false", model, c)
		}
		if c < 0 {
			t.Fatalf("Cost(%q) = %d, want >= 0", model, c)
		}
	})
}

func BenchmarkCost(b *testing.B) {
	tab := Default()
	u := llm.Usage{InputTokens: 1200, OutputTokens: 300, CacheReadTokens: 5000}
	for b.Loop() {
		tab.Cost("claude-sonnet-4-5-20250929", u)
	}
}

func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"2.5", "1e-7", "-0.0000005", "3/4", "1e19", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseUSD(s)
		if err != nil {
			return
		}
		// Round trip: the micros printed back parse to the same value.
		back, err := ParseUSD(fmt.Sprintf("%d.%06d", int64(m)/1e6, abs(int64(m)%1e6)))
		if m >= 0 && (err != nil || back != m) {
			t.Fatalf("ParseUSD(%q) = %d, reparsed as %d, %v", s, m, back, err)
		}
	})
}

func abs(n int64) int64 { return max(n, -n) }

func FuzzLoadLiteLLM(f *testing.F) {
	f.Add(`{"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}`)
	f.Add(`{"gemini/x": {"input_cost_per_token": "1"}, "y": 3}`)
	f.Fuzz(func(t *testing.T, s string) {
		prices, err := LoadLiteLLM(strings.NewReader(s))
		if err != nil {
			return
		}
		tab := Default().With(FileOverrides(prices)...)
		for name := range prices {
			if _, src, ok := tab.Cost(name, llm.Usage{InputTokens: 1}); !ok || src != SourceFile {
				t.Fatalf("Cost(%q) after loading = %q, %v, want file, true", name, src, ok)
			}
		}
	})
}

// TestFreeKind: the in-process demo provider is free; the kinds that call
// a paid upstream are not.
func TestFreeKind(t *testing.T) {
	for kind, want := range map[string]bool{"demo": true, "openai": false, "anthropic": false, "gemini": false, "": false} {
		if got := FreeKind(kind); got != want {
			t.Errorf("FreeKind(%q) = %v, want %v", kind, got, want)
		}
	}
}
