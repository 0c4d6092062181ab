// Package route turns the candidates a policy returned into the order in
// which the gateway tries them: tiers by priority (lower first), a weighted
// pick within each tier, a live sticky binding first while its provider is
// available, providers that are cooling down last (as a last resort), and
// no provider twice.
//
// It is pure: health, the sticky binding and randomness are inputs, so the
// gateway, `llmgw eval` and policy tests get the same answer for the same
// inputs. route imports only the standard library.
package route

import "fmt"

// Candidate is one provider (with an optional model override) that may
// serve a request.
type Candidate struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
}

// Options are the inputs to Order besides the candidates. The zero value
// orders by priority alone, every provider available, ties in policy order.
type Options struct {
	// Sticky is the provider the request's session is bound to, "" when
	// none.
	Sticky string
	// Available reports whether a provider may take traffic now (healthy or
	// half-open). Nil means every provider is available.
	Available func(provider string) bool
	// Intn returns a uniform integer in [0, n); it drives the weighted
	// pick. Nil picks the highest weight first (deterministic).
	Intn func(n int) int
}

// Order returns the candidates in the order to try them, and a line of
// explanation for each reordering or removal (shown by eval --explain).
func Order(cands []Candidate, opt Options) ([]Candidate, []string) {
	var explain []string
	seen := make(map[string]bool, len(cands))
	uniq := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if seen[c.Provider] {
			explain = append(explain, fmt.Sprintf("%s: removed, already a candidate (one provider is tried once per request)", c.Provider))
			continue
		}
		seen[c.Provider] = true
		uniq = append(uniq, c)
	}
	stableSortByPriority(uniq)

	out := make([]Candidate, 0, len(uniq))
	var cooling []Candidate
	for start := 0; start < len(uniq); {
		end := start + 1
		for end < len(uniq) && uniq[end].Priority == uniq[start].Priority {
			end++
		}
		tier := uniq[start:end]
		var ready []Candidate
		for _, c := range tier {
			if opt.Available != nil && !opt.Available(c.Provider) {
				cooling = append(cooling, c)
				explain = append(explain, fmt.Sprintf("%s: moved last, cooling down", c.Provider))
				continue
			}
			ready = append(ready, c)
		}
		out = append(out, weighted(ready, opt.Intn)...)
		start = end
	}
	out = append(out, cooling...)

	if opt.Sticky != "" {
		for i, c := range out {
			if c.Provider != opt.Sticky {
				continue
			}
			if opt.Available != nil && !opt.Available(c.Provider) {
				explain = append(explain, fmt.Sprintf("%s: sticky binding ignored, provider cooling down", c.Provider))
				break
			}
			if i > 0 {
				copy(out[1:i+1], out[:i])
				out[0] = c
			}
			explain = append(explain, fmt.Sprintf("%s: first, sticky binding", c.Provider))
			break
		}
	}
	return out, explain
}

// weighted orders one tier by repeated weighted picks without replacement.
func weighted(tier []Candidate, intn func(int) int) []Candidate {
	if len(tier) <= 1 {
		return tier
	}
	rest := append([]Candidate(nil), tier...)
	out := make([]Candidate, 0, len(rest))
	for len(rest) > 0 {
		i := pick(rest, intn)
		out = append(out, rest[i])
		rest = append(rest[:i], rest[i+1:]...)
	}
	return out
}

func pick(cs []Candidate, intn func(int) int) int {
	total := 0
	for _, c := range cs {
		total += max(c.Weight, 0)
	}
	if intn == nil || total == 0 {
		best := 0
		for i, c := range cs {
			if c.Weight > cs[best].Weight {
				best = i
			}
		}
		return best
	}
	r := intn(total)
	for i, c := range cs {
		r -= max(c.Weight, 0)
		if r < 0 {
			return i
		}
	}
	return len(cs) - 1
}

func stableSortByPriority(cs []Candidate) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Priority < cs[j-1].Priority; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
