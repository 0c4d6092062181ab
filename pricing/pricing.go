// Package pricing turns token usage into money: an immutable table of
// per-model prices and exact integer arithmetic in micro-USD.
//
// The table starts from an embedded prices.json (Default) and grows by
// overrides: the policy's price() calls and a LiteLLM-format --prices file
// (With). Every price carries its source ("builtin", "policy" or "file") so
// the request log can say where a cost came from.
//
// Invariants:
//   - Money is Micros (int64 micro-USD), never float64. Decimal prices are
//     converted exactly (big.Rat), rounded once to the nearest micro.
//   - A model the table does not know is unpriced: Cost reports ok=false and
//     the caller stores NULL, never 0.
//   - A *Table is immutable once built; share it freely between goroutines
//     and swap it whole (atomic.Pointer) when the policy reloads.
//
// pricing imports only llm and the standard library; it never logs.
package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// Micros is an amount of money in millionths of a US dollar.
type Micros int64

// USD returns m in dollars, for display only (never for arithmetic).
func (m Micros) USD() float64 { return float64(m) / 1e6 }

// String formats m as dollars with six decimals, e.g. "$0.001250".
func (m Micros) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s$%d.%06d", sign, m/1e6, m%1e6)
}

// Sources of a price, as reported by Table.Cost and stored in the log.
const (
	SourceBuiltin = "builtin" // the embedded prices.json
	SourcePolicy  = "policy"  // the policy's price() calls
	SourceFile    = "file"    // a LiteLLM-format --prices file
	SourceFree    = "free"    // a provider kind that costs nothing (FreeKind)
)

// FreeKind reports whether providers of a kind cost nothing whatever model
// they serve. The "demo" kind answers in-process and serves any model
// name, so pricing its answers at the named model's rate would bill money
// nobody spent; its requests cost 0 (source SourceFree), not unpriced.
func FreeKind(kind string) bool { return kind == "demo" }

// Price is what one model costs, in micro-USD per million tokens.
type Price struct {
	// Input is the rate for uncached input tokens.
	Input Micros `json:"input"`
	// Output is the rate for output tokens, reasoning included.
	Output Micros `json:"output"`
	// CacheRead is the rate for input tokens read from a prompt cache. Zero
	// means the Input rate (no known discount).
	CacheRead Micros `json:"cache_read,omitempty"`
	// CacheWrite is the rate for input tokens written to a prompt cache
	// (Anthropic's 5-minute TTL). Zero means the Input rate.
	CacheWrite Micros `json:"cache_write,omitempty"`
	// CacheWrite1h is the rate for cache writes with a 1-hour TTL
	// (llm.Usage.CacheWrite1hTokens). Zero means the CacheWrite rate.
	CacheWrite1h Micros `json:"cache_write_1h,omitempty"`
	// LongAbove, when positive, is a prompt size in tokens (input plus
	// cache reads and writes) above which the whole request is billed at
	// Long instead (Gemini 2.5 Pro, Claude Sonnet 4 with 1M context).
	LongAbove int64 `json:"long_above,omitempty"`
	// Long is the long-context price; nil means none.
	Long *Price `json:"long,omitempty"`
}

// Override adds or replaces the price of one model.
type Override struct {
	// Model is the model name as clients or upstreams spell it; matching
	// is case-insensitive and follows the same rules as the builtin table.
	Model string
	// Price is the model's price.
	Price Price
	// Source is reported by Cost for this model. Empty means SourcePolicy.
	Source string
}

type entry struct {
	price  Price
	source string
	prefix bool // may match longer model names at a '-' boundary
}

// Table maps model names to prices. Build one with Default and With; the
// zero Table prices nothing. A *Table is immutable.
type Table struct {
	m map[string]entry
}

//go:embed prices.json
var builtinJSON []byte

// Default returns the embedded price table (source "builtin"). It panics
// if the embedded prices.json is malformed, which a test rules out.
func Default() *Table {
	m, err := parseBuiltin(builtinJSON)
	if err != nil {
		panic(err)
	}
	return &Table{m: m}
}

// With returns a new table with the overrides applied on top of t, later
// overrides winning. t is unchanged. A nil t means an empty table.
func (t *Table) With(overrides ...Override) *Table {
	n := &Table{m: make(map[string]entry, t.len()+len(overrides))}
	if t != nil {
		for k, e := range t.m {
			n.m[k] = e
		}
	}
	for _, o := range overrides {
		src := o.Source
		if src == "" {
			src = SourcePolicy
		}
		n.m[strings.ToLower(strings.TrimSpace(o.Model))] = entry{price: o.Price, source: src}
	}
	return n
}

func (t *Table) len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// Len returns the number of model names in t.
func (t *Table) Len() int { return t.len() }

// Lookup returns the price for model, the source of that price and the
// table entry that matched (see Cost for the matching rules).
func (t *Table) Lookup(model string) (p Price, source, matched string, ok bool) {
	if t == nil || len(t.m) == 0 {
		return Price{}, "", "", false
	}
	name := strings.ToLower(strings.TrimSpace(model))
	for _, cand := range candidates(name) {
		if e, ok := t.m[cand]; ok {
			return e.price, e.source, cand, true
		}
	}
	// Longest prefix, only against entries that allow it and only at a
	// '-' boundary, so "o3" never prices "o3-pro".
	for _, cand := range candidates(name) {
		for i := len(cand) - 1; i > 0; i-- {
			if cand[i] != '-' {
				continue
			}
			if e, ok := t.m[cand[:i]]; ok && e.prefix {
				return e.price, e.source, cand[:i], true
			}
		}
	}
	return Price{}, "", "", false
}

// Cost returns what usage u of model costs, the price's source, and
// ok=false when the model is unpriced. Matching is case-insensitive: the
// exact name first, then the name without a "models/" or "vendor/"
// prefix, then with date and version suffixes stripped one at a time
// ("claude-3-7-sonnet-20250219" → "claude-3-7-sonnet", "gpt-4o-2024-08-06"
// → "gpt-4o", "gemini-2.0-flash-001" → "gemini-2.0-flash", "-latest",
// "-preview", "@20240620"), and last a longest-prefix match against the
// few entries marked safe for it.
//
// The arithmetic is exact: each token count times its rate is summed in
// integers and divided by one million once, rounding half up.
func (t *Table) Cost(model string, u llm.Usage) (cost Micros, source string, ok bool) {
	p, source, _, ok := t.Lookup(model)
	if !ok {
		return 0, "", false
	}
	return p.Cost(u), source, true
}

// Cost returns what usage u costs at price p (see Table.Cost).
func (p Price) Cost(u llm.Usage) Micros {
	if p.Long != nil && p.LongAbove > 0 && u.PromptTokens() > p.LongAbove {
		return p.Long.Cost(u)
	}
	cacheRead := or(p.CacheRead, p.Input)
	cacheWrite := or(p.CacheWrite, p.Input)
	cacheWrite1h := or(p.CacheWrite1h, cacheWrite)
	w1h := clamp(u.CacheWrite1hTokens, u.CacheWriteTokens)
	var acc accumulator
	acc.add(u.InputTokens, p.Input)
	acc.add(u.OutputTokens, p.Output)
	acc.add(u.CacheReadTokens, cacheRead)
	acc.add(u.CacheWriteTokens-w1h, cacheWrite)
	acc.add(w1h, cacheWrite1h)
	return acc.total()
}

func or(m, fallback Micros) Micros {
	if m == 0 {
		return fallback
	}
	return m
}

// clamp bounds n to [0, limit].
func clamp(n, limit int64) int64 {
	return min(max(n, 0), max(limit, 0))
}

// accumulator sums tokens × rate-per-million exactly without overflow for
// any realistic count: whole millions of tokens are multiplied out at once,
// the remainders (< 1e6 × rate) are kept apart and divided once at the end.
type accumulator struct {
	whole Micros // already divided by 1e6
	frac  int64  // sum of (tokens mod 1e6) × rate, in micro-USD × 1e-6
}

func (a *accumulator) add(tokens int64, rate Micros) {
	if tokens <= 0 || rate == 0 {
		return
	}
	a.whole += Micros(tokens/1_000_000) * rate
	a.frac += (tokens % 1_000_000) * int64(rate)
	if a.frac >= 1_000_000_000_000 { // keep frac small; carry whole micros
		a.whole += Micros(a.frac / 1_000_000)
		a.frac %= 1_000_000
	}
}

func (a *accumulator) total() Micros {
	return a.whole + Micros((a.frac+500_000)/1_000_000)
}

// ParseUSD converts a decimal dollar amount ("2.5", "0.075", "1e-3") to
// Micros exactly, rounding to the nearest micro (half away from zero).
func ParseUSD(s string) (Micros, error) {
	return parseScaled(s, 1_000_000)
}

// FromUSD converts a float dollar amount (a Starlark float from the
// policy's price()) to Micros without binary-float drift: the float's
// shortest decimal representation is what is converted, so 0.1 is exactly
// 100000 micros.
func FromUSD(f float64) (Micros, error) {
	return ParseUSD(strconv.FormatFloat(f, 'g', -1, 64))
}

// parseScaled returns s × scale rounded to the nearest integer.
func parseScaled(s string, scale int64) (Micros, error) {
	s = strings.TrimSpace(s)
	if len(s) > 40 { // a price is never this long; bounds big.Rat's work ("1e99999999")
		return 0, fmt.Errorf("pricing: bad amount %q", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("pricing: bad amount %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(scale))
	// Round half away from zero: (2·num + sign·den) / (2·den).
	num, den := r.Num(), r.Denom()
	twice := new(big.Int).Lsh(num, 1)
	if num.Sign() < 0 {
		twice.Sub(twice, den)
	} else {
		twice.Add(twice, den)
	}
	q := twice.Quo(twice, new(big.Int).Lsh(den, 1))
	if !q.IsInt64() {
		return 0, fmt.Errorf("pricing: amount %q out of range", s)
	}
	return Micros(q.Int64()), nil
}

// builtinPrice is the prices.json shape: dollars per million tokens.
type builtinPrice struct {
	Input        json.Number `json:"input"`
	Output       json.Number `json:"output"`
	CacheRead    json.Number `json:"cache_read"`
	CacheWrite   json.Number `json:"cache_write"`
	CacheWrite1h json.Number `json:"cache_write_1h"`
	Prefix       bool        `json:"prefix"`
	Long         *struct {
		Above int64 `json:"above"`
		builtinPrice
	} `json:"long"`
}

func parseBuiltin(data []byte) (map[string]entry, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("pricing: prices.json: %w", err)
	}
	m := make(map[string]entry, len(raw))
	for name, msg := range raw {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var bp builtinPrice
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(&bp); err != nil {
			return nil, fmt.Errorf("pricing: prices.json: %s: %w", name, err)
		}
		p, err := bp.price()
		if err != nil {
			return nil, fmt.Errorf("pricing: prices.json: %s: %w", name, err)
		}
		if bp.Long != nil {
			lp, err := bp.Long.price()
			if err != nil {
				return nil, fmt.Errorf("pricing: prices.json: %s: long: %w", name, err)
			}
			p.LongAbove, p.Long = bp.Long.Above, &lp
		}
		m[strings.ToLower(name)] = entry{price: p, source: SourceBuiltin, prefix: bp.Prefix}
	}
	return m, nil
}

func (bp builtinPrice) price() (Price, error) {
	var p Price
	fields := []struct {
		n   json.Number
		dst *Micros
	}{
		{bp.Input, &p.Input}, {bp.Output, &p.Output}, {bp.CacheRead, &p.CacheRead},
		{bp.CacheWrite, &p.CacheWrite}, {bp.CacheWrite1h, &p.CacheWrite1h},
	}
	for _, f := range fields {
		if f.n == "" {
			continue
		}
		v, err := ParseUSD(f.n.String())
		if err != nil {
			return Price{}, err
		}
		*f.dst = v
	}
	return p, nil
}

// Models returns the model names in t, sorted.
func (t *Table) Models() []string {
	if t == nil {
		return nil
	}
	names := make([]string, 0, len(t.m))
	for k := range t.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Partial returns an override for model that replaces only the rates
// given (USD per million tokens, as the policy's price() takes them) and
// keeps the table's rates for the others. A nil rate is "not given"; an
// unparseable one is ignored.
func (t *Table) Partial(model string, input, output, cacheRead, cacheWrite *float64) Override {
	base, _, _, _ := t.Lookup(model)
	set := func(dst *Micros, usd *float64) {
		if usd == nil {
			return
		}
		if m, err := FromUSD(*usd); err == nil {
			*dst = m
		}
	}
	set(&base.Input, input)
	set(&base.Output, output)
	set(&base.CacheRead, cacheRead)
	set(&base.CacheWrite, cacheWrite)
	return Override{Model: model, Price: base, Source: SourcePolicy}
}
