package route

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// c is shorthand for a candidate.
func c(provider string, priority, weight int) Candidate {
	return Candidate{Provider: provider, Priority: priority, Weight: weight}
}

// down returns an Available func reporting the named providers unavailable.
func down(names ...string) func(string) bool {
	return func(p string) bool { return !slices.Contains(names, p) }
}

func providers(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Provider
	}
	return out
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name        string
		cands       []Candidate
		opt         Options
		want        []string
		wantExplain []string
	}{
		{
			name: "empty",
			want: []string{},
		},
		{
			name:  "priority tiers, lower first",
			cands: []Candidate{c("backup", 2, 100), c("main", 1, 100), c("last", 3, 100), c("main2", 1, 100)},
			want:  []string{"main", "main2", "backup", "last"},
		},
		{
			name:  "policy order stable within equal weights",
			cands: []Candidate{c("a", 1, 100), c("b", 1, 100), c("c", 1, 100), c("d", 1, 100)},
			want:  []string{"a", "b", "c", "d"},
		},
		{
			name:  "highest weight first without Intn",
			cands: []Candidate{c("a", 1, 10), c("b", 1, 50), c("c", 1, 50), c("d", 1, 20)},
			want:  []string{"b", "c", "d", "a"},
		},
		{
			name:  "zero and negative weights follow the weighted, in policy order",
			cands: []Candidate{c("zero", 1, 0), c("neg", 1, -5), c("w", 1, 1), c("zero2", 1, 0)},
			want:  []string{"w", "zero", "neg", "zero2"},
		},
		{
			name:  "all zero weights keep policy order",
			cands: []Candidate{c("a", 0, 0), c("b", 0, 0), c("c", 0, 0)},
			opt:   Options{Intn: func(int) int { panic("Intn called with no weight to pick by") }},
			want:  []string{"a", "b", "c"},
		},
		{
			name:        "duplicates removed, first occurrence kept",
			cands:       []Candidate{c("a", 2, 1), c("b", 1, 1), {Provider: "a", Model: "other", Priority: 0, Weight: 1}},
			want:        []string{"b", "a"},
			wantExplain: []string{"a: removed, already a candidate (one provider is tried once per request)"},
		},
		{
			name:        "cooling down last, tiers kept among them",
			cands:       []Candidate{c("a", 1, 1), c("b", 2, 1), c("c", 1, 1), c("d", 3, 1)},
			opt:         Options{Available: down("a", "b")},
			want:        []string{"c", "d", "a", "b"},
			wantExplain: []string{"a: moved last, cooling down", "b: moved last, cooling down"},
		},
		{
			name:        "sticky first when available, whatever its tier",
			cands:       []Candidate{c("a", 1, 1), c("b", 1, 1), c("c", 2, 1)},
			opt:         Options{Sticky: "c"},
			want:        []string{"c", "a", "b"},
			wantExplain: []string{"c: first, sticky binding"},
		},
		{
			name:        "sticky already first",
			cands:       []Candidate{c("a", 1, 1), c("b", 1, 1)},
			opt:         Options{Sticky: "a"},
			want:        []string{"a", "b"},
			wantExplain: []string{"a: first, sticky binding"},
		},
		{
			name:  "sticky ignored when cooling",
			cands: []Candidate{c("a", 1, 1), c("b", 1, 1)},
			opt:   Options{Sticky: "a", Available: down("a")},
			want:  []string{"b", "a"},
			wantExplain: []string{
				"a: moved last, cooling down",
				"a: sticky binding ignored, provider cooling down",
			},
		},
		{
			name:        "sticky ignored when not a candidate",
			cands:       []Candidate{c("a", 1, 1), c("b", 1, 1)},
			opt:         Options{Sticky: "gone"},
			want:        []string{"a", "b"},
			wantExplain: []string{"gone: sticky binding ignored, not a candidate"},
		},
		{
			name: "everything at once",
			cands: []Candidate{
				c("t1-heavy", 1, 90), c("t1-light", 1, 10), c("t2", 2, 1), c("t1-heavy", 1, 5),
				c("t1-down", 1, 100), c("t0-down", 0, 1), c("sticky", 3, 1),
			},
			opt:  Options{Sticky: "sticky", Available: down("t1-down", "t0-down")},
			want: []string{"sticky", "t1-heavy", "t1-light", "t2", "t0-down", "t1-down"},
			wantExplain: []string{
				"t1-heavy: removed, already a candidate (one provider is tried once per request)",
				"t1-down: moved last, cooling down",
				"t0-down: moved last, cooling down",
				"sticky: first, sticky binding",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.cands)
			got, explain := Order(tt.cands, tt.opt)
			if diff := cmp.Diff(tt.want, providers(got)); diff != "" {
				t.Errorf("Order() providers mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExplain, explain); diff != "" {
				t.Errorf("Order() explanation mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tt.cands); diff != "" {
				t.Errorf("Order() modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestOrderKeepsCandidateFields(t *testing.T) {
	cands := []Candidate{{Provider: "a", Model: "gpt-4.1", Priority: 2, Weight: 7}, {Provider: "b", Model: "claude", Priority: 1, Weight: 3}}
	got, _ := Order(cands, Options{})
	want := []Candidate{cands[1], cands[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Order() mismatch (-want +got):\n%s", diff)
	}
}

func TestOrderAsksAvailableOncePerProvider(t *testing.T) {
	calls := map[string]int{}
	avail := func(p string) bool { calls[p]++; return p != "a" }
	Order([]Candidate{c("a", 1, 1), c("b", 1, 1), c("a", 2, 1), c("c", 2, 1)}, Options{Sticky: "a", Available: avail})
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 1, "c": 1}, calls); diff != "" {
		t.Errorf("Available calls per provider mismatch (-want +got):\n%s", diff)
	}
}

// TestWeightedSpread checks that the first pick within a tier follows the
// weights, and that the rest of the tier follows as failover.
func TestWeightedSpread(t *testing.T) {
	const n = 10000
	rng := rand.New(rand.NewPCG(42, 1024))
	cands := []Candidate{c("a", 1, 10), c("b", 1, 20), c("c", 1, 70), c("backup", 2, 100)}
	first := map[string]int{}
	for range n {
		got, _ := Order(cands, Options{Intn: rng.IntN})
		first[got[0].Provider]++
		if got[3].Provider != "backup" {
			t.Fatalf("Order() = %v, want the lower tier last", providers(got))
		}
		if tier := providers(got[:3]); !sameSet(tier, []string{"a", "b", "c"}) {
			t.Fatalf("Order() first tier = %v, want a, b and c once each", tier)
		}
	}
	// Each share's standard deviation is under 0.5 %; ±3 % never flakes
	// (and the source is seeded anyway).
	for name, want := range map[string]float64{"a": 0.10, "b": 0.20, "c": 0.70} {
		got := float64(first[name]) / n
		if got < want-0.03 || got > want+0.03 {
			t.Errorf("share of first picks for %s = %.3f, want %.2f ± 0.03", name, got, want)
		}
	}
}

// TestWeightedSecondPick checks the pick without replacement: after the
// heavy candidate, the two light ones split the second place evenly.
func TestWeightedSecondPick(t *testing.T) {
	const n = 10000
	rng := rand.New(rand.NewPCG(7, 7))
	cands := []Candidate{c("heavy", 1, 1000), c("x", 1, 1), c("y", 1, 1)}
	second := map[string]int{}
	for range n {
		got, _ := Order(cands, Options{Intn: rng.IntN})
		second[got[1].Provider]++
	}
	if got := float64(second["x"]) / n; got < 0.45 || got > 0.55 {
		t.Errorf("share of second places for x = %.3f, want 0.50 ± 0.05", got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestOrderLongList(t *testing.T) {
	// Past 16 candidates Order switches to a map for duplicates and a heap
	// slice for availability; the result must not change.
	var cands []Candidate
	for i := range 40 {
		cands = append(cands, c(string(rune('A'+i%30)), i%3, 1))
	}
	got, explain := Order(cands, Options{Available: down("B")})
	if len(got) != 30 {
		t.Errorf("Order() of 40 candidates naming 30 providers returned %d", len(got))
	}
	if last := got[len(got)-1].Provider; last != "B" {
		t.Errorf("Order() last = %s, want B (cooling)", last)
	}
	if n := strings.Count(strings.Join(explain, "\n"), "removed"); n != 10 {
		t.Errorf("Order() explained %d removals, want 10", n)
	}
}

// FuzzOrder checks Order's invariants on arbitrary candidate lists.
func FuzzOrder(f *testing.F) {
	f.Add([]byte{1, 1, 100, 2, 2, 50, 1, 1, 0}, byte(2), byte(0b01), []byte{3, 9})
	f.Add([]byte{0, 0, 0}, byte(0), byte(0), []byte{})
	f.Add([]byte{5, 255, 255, 5, 0, 1, 6, 128, 7}, byte(5), byte(0xff), []byte{255})
	f.Fuzz(func(t *testing.T, spec []byte, sticky, downMask byte, rnd []byte) {
		// Each 3 bytes: provider (one of 8), priority, weight (signed).
		var cands []Candidate
		for i := 0; i+2 < len(spec) && len(cands) < 64; i += 3 {
			cands = append(cands, Candidate{
				Provider: string(rune('a' + spec[i]%8)),
				Priority: int(spec[i+1] % 4),
				Weight:   int(int8(spec[i+2])),
			})
		}
		isDown := func(p string) bool { return downMask&(1<<(p[0]-'a')) != 0 }
		ri := 0
		opt := Options{
			Sticky:    string(rune('a' + sticky%9)), // 'i' is never a candidate
			Available: func(p string) bool { return !isDown(p) },
			Intn: func(n int) int {
				if n <= 0 {
					t.Fatalf("Intn(%d), want n > 0", n)
				}
				if len(rnd) == 0 {
					return 0
				}
				ri++
				return int(rnd[ri%len(rnd)]) % n
			},
		}
		got, _ := Order(cands, opt)

		// Every distinct provider exactly once, with its first occurrence's
		// fields.
		firsts := map[string]Candidate{}
		for _, c := range cands {
			if _, ok := firsts[c.Provider]; !ok {
				firsts[c.Provider] = c
			}
		}
		if len(got) != len(firsts) {
			t.Fatalf("Order() returned %d candidates, want %d distinct", len(got), len(firsts))
		}
		for _, c := range got {
			if firsts[c.Provider] != c {
				t.Fatalf("Order() returned %+v, want %+v (once, first occurrence)", c, firsts[c.Provider])
			}
			delete(firsts, c.Provider)
		}

		// An available sticky provider first; a cooling one takes its
		// place among the cooling.
		rest := got
		if !isDown(opt.Sticky) && slices.ContainsFunc(got, func(c Candidate) bool { return c.Provider == opt.Sticky }) {
			if got[0].Provider != opt.Sticky {
				t.Fatalf("Order() = %v, want available sticky %s first", providers(got), opt.Sticky)
			}
			rest = got[1:]
		}
		// Then available before cooling, each part by tier.
		for i := 1; i < len(rest); i++ {
			a, b := rest[i-1], rest[i]
			switch da, db := isDown(a.Provider), isDown(b.Provider); {
			case da && !db:
				t.Fatalf("Order() = %v: available %s after cooling %s", providers(got), b.Provider, a.Provider)
			case da == db && a.Priority > b.Priority:
				t.Fatalf("Order() = %v: priority %d after %d", providers(got), b.Priority, a.Priority)
			}
		}
	})
}

func BenchmarkOrder(b *testing.B) {
	cands := []Candidate{
		{Provider: "anthropic-main", Priority: 1, Weight: 70},
		{Provider: "anthropic-bedrock", Priority: 1, Weight: 30},
		{Provider: "openai-main", Model: "gpt-4.1", Priority: 2, Weight: 100},
		{Provider: "openai-backup", Model: "gpt-4.1", Priority: 2, Weight: 100},
	}
	cooling := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	opt := Options{
		Available: func(p string) bool { return !cooling[p] },
		Intn:      rng.IntN,
	}
	b.Run("healthy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Order(cands, opt)
		}
	})
	cooling["openai-main"] = true
	opt.Sticky = "anthropic-bedrock"
	b.Run("sticky+cooling", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Order(cands, opt)
		}
	})
}
