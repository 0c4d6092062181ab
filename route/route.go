// Package route turns the candidates a policy returned into the order in
// which the gateway tries them: tiers by priority (lower first), a weighted
// pick within each tier, a live sticky binding first while its provider is
// available, providers that are cooling down last (as a last resort), and
// no provider twice.
//
// Walk then tries them in that order, following the class of each
// failure (retry, failover, cooldown, fail), skipping candidates that
// cannot serve the request, pausing before a retry and honouring an
// optional attempt cap. The attempts themselves are a Driver's: the
// gateway makes them over HTTP, eval and the policy tests' walk() simulate
// them, so that a dry run shows the attempts a live request makes.
//
// It is pure: health, the sticky binding, randomness and the attempts'
// outcomes are inputs, so the gateway, `llmgw eval` and policy tests get
// the same answer for the same inputs. route imports only the standard
// library.
package route

// Candidate is one provider (with an optional model override) that may
// serve a request.
type Candidate struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Priority is the candidate's tier: lower tiers are tried first. The
	// policy engine fills it from the provider unless the candidate
	// overrides it.
	Priority int `json:"priority"`
	// Weight is the candidate's share of first picks within its tier.
	// Zero or negative means no share: such candidates follow the weighted
	// ones of their tier, in policy order. Weights above MaxWeight count as
	// MaxWeight.
	Weight int `json:"weight"`
}

// MaxWeight is the largest weight that counts (about 16.7 million); it
// keeps the sum of a tier's weights from overflowing, even in a 32-bit int.
const MaxWeight = 1 << 24

// Options are the inputs to Order besides the candidates. The zero value
// orders by priority alone, every provider available, ties in policy order.
type Options struct {
	// Sticky is the provider the request's session is bound to, "" when
	// none. It goes first, whatever its tier, while it is a candidate and
	// available.
	Sticky string
	// Available reports whether a provider may take traffic now (healthy or
	// half-open). Order calls it at most once per distinct provider. Nil
	// means every provider is available.
	Available func(provider string) bool
	// Intn returns a uniform integer in [0, n); it drives the weighted
	// pick. Nil picks the highest weight first, ties in policy order
	// (deterministic).
	Intn func(n int) int
}

// Order returns the candidates in the order to try them, and a line of
// explanation for each reordering or removal (shown by eval --explain). It
// does not modify cands.
//
// The order is: the sticky provider, if available; then the available
// candidates tier by tier, each tier ordered by repeated weighted picks
// without replacement; then the unavailable ones, tier by tier in policy
// order. A provider listed twice keeps its first occurrence only.
func Order(cands []Candidate, opt Options) ([]Candidate, []string) {
	out, explain := unique(cands)

	var buf [16]bool // no allocation for the usual short lists
	avail := buf[:0]
	if len(out) > len(buf) {
		avail = make([]bool, 0, len(out))
	}
	for _, c := range out {
		ok := opt.Available == nil || opt.Available(c.Provider)
		if !ok {
			explain = append(explain, c.Provider+": moved last, cooling down")
		}
		avail = append(avail, ok)
	}
	sortTiers(out, avail)

	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && avail[end] == avail[start] && out[end].Priority == out[start].Priority {
			end++
		}
		if avail[start] {
			weighted(out[start:end], opt.Intn)
		}
		start = end
	}

	if opt.Sticky != "" {
		explain = stickyFirst(out, avail, opt.Sticky, explain)
	}
	return out, explain
}

// unique returns a copy of cands without repeated providers, keeping each
// provider's first occurrence, and explains each removal.
func unique(cands []Candidate) ([]Candidate, []string) {
	var explain []string
	out := make([]Candidate, 0, len(cands))
	var seen map[string]bool // long lists only; short ones are scanned
	if len(cands) > 16 {
		seen = make(map[string]bool, len(cands))
	}
	for _, c := range cands {
		dup := seen[c.Provider]
		if seen == nil {
			dup = contains(out, c.Provider)
		}
		if dup {
			explain = append(explain, c.Provider+": removed, already a candidate (one provider is tried once per request)")
			continue
		}
		if seen != nil {
			seen[c.Provider] = true
		}
		out = append(out, c)
	}
	return out, explain
}

// stickyFirst moves the sticky provider to the front of out when it is
// there and available, and explains what it did.
func stickyFirst(out []Candidate, avail []bool, sticky string, explain []string) []string {
	for i, c := range out {
		if c.Provider != sticky {
			continue
		}
		if !avail[i] {
			return append(explain, sticky+": sticky binding ignored, provider cooling down")
		}
		copy(out[1:i+1], out[:i])
		out[0] = c
		return append(explain, sticky+": first, sticky binding")
	}
	return append(explain, sticky+": sticky binding ignored, not a candidate")
}

func contains(cs []Candidate, provider string) bool {
	for _, c := range cs {
		if c.Provider == provider {
			return true
		}
	}
	return false
}

// sortTiers stably sorts cs (and avail alongside) available first, then by
// priority. Lists are short, so an insertion sort beats sort.Stable and
// does not allocate.
func sortTiers(cs []Candidate, avail []bool) {
	less := func(i, j int) bool {
		if avail[i] != avail[j] {
			return avail[i]
		}
		return cs[i].Priority < cs[j].Priority
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && less(j, j-1); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
			avail[j], avail[j-1] = avail[j-1], avail[j]
		}
	}
}

// weighted orders one tier in place by repeated weighted picks without
// replacement; candidates not picked keep their relative order.
func weighted(tier []Candidate, intn func(int) int) {
	total := 0
	for _, c := range tier {
		total += weight(c)
	}
	for k := 0; k < len(tier)-1 && total > 0; k++ {
		i := k + pick(tier[k:], total, intn)
		c := tier[i]
		copy(tier[k+1:i+1], tier[k:i])
		tier[k] = c
		total -= weight(c)
	}
}

// pick returns the index of the next candidate of cs, whose weights sum to
// total > 0.
func pick(cs []Candidate, total int, intn func(int) int) int {
	if intn == nil {
		best := 0
		for i, c := range cs {
			if weight(c) > weight(cs[best]) {
				best = i
			}
		}
		return best
	}
	r := intn(total)
	for i, c := range cs {
		r -= weight(c)
		if r < 0 {
			return i
		}
	}
	return len(cs) - 1 // only when intn broke its contract
}

func weight(c Candidate) int {
	return min(max(c.Weight, 0), MaxWeight)
}
