package pricing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// litellmEntry is the part of one model_prices_and_context_window.json
// entry that pricing uses. Costs are USD per token.
type litellmEntry struct {
	Input        json.Number `json:"input_cost_per_token"`
	Output       json.Number `json:"output_cost_per_token"`
	CacheRead    json.Number `json:"cache_read_input_token_cost"`
	CacheWrite   json.Number `json:"cache_creation_input_token_cost"`
	CacheWrite1h json.Number `json:"cache_creation_input_token_cost_above_1hr"`
	Provider     string      `json:"litellm_provider"`
}

// LoadLiteLLM reads LiteLLM's model_prices_and_context_window.json (the
// format of llmgw start --prices FILE) and returns the prices it holds,
// keyed by lower-cased model name. Entries without an input or output cost
// (image, audio, the "sample_spec" example) are skipped. Costs per token
// are converted exactly to micro-USD per million tokens.
func LoadLiteLLM(r io.Reader) (map[string]Price, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("pricing: read litellm prices: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("pricing: litellm prices: %w", err)
	}
	out := make(map[string]Price, len(raw))
	for name, msg := range raw {
		if name == "sample_spec" {
			continue
		}
		var e litellmEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			continue // not an object, or a field of an unexpected type: not a price
		}
		if e.Input == "" && e.Output == "" {
			continue
		}
		p, err := e.price()
		if err != nil {
			return nil, fmt.Errorf("pricing: litellm prices: %s: %w", name, err)
		}
		out[strings.ToLower(name)] = p
	}
	// A vendor-prefixed key ("gemini/gemini-2.5-pro") whose bare name
	// ("gemini-2.5-pro") is the vendor's own API is registered under both.
	for name, p := range out {
		for _, v := range []string{"openai/", "anthropic/", "gemini/"} {
			if bare, ok := strings.CutPrefix(name, v); ok {
				if _, exists := out[bare]; !exists {
					out[bare] = p
				}
			}
		}
	}
	return out, nil
}

func (e litellmEntry) price() (Price, error) {
	var p Price
	fields := []struct {
		n   json.Number
		dst *Micros
	}{
		{e.Input, &p.Input}, {e.Output, &p.Output}, {e.CacheRead, &p.CacheRead},
		{e.CacheWrite, &p.CacheWrite}, {e.CacheWrite1h, &p.CacheWrite1h},
	}
	for _, f := range fields {
		if f.n == "" {
			continue
		}
		// USD per token × 1e6 tokens × 1e6 micros.
		v, err := parseScaled(f.n.String(), 1_000_000_000_000)
		if err != nil {
			return Price{}, err
		}
		*f.dst = v
	}
	return p, nil
}

// FileOverrides turns the prices of a --prices file into overrides with
// source "file", sorted by model name so that With is deterministic.
func FileOverrides(prices map[string]Price) []Override {
	out := make([]Override, 0, len(prices))
	for name, p := range prices {
		out = append(out, Override{Model: name, Price: p, Source: SourceFile})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}
