package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
)

// shownProvider is a provider as `llmgw show` prints it: every setting
// with env() expanded, the credential reduced to whether there is one.
type shownProvider struct {
	engine.Provider
	// APIKey is "set", "none" or "oauth"; never the key.
	APIKey  string            `json:"api_key"`
	Headers map[string]string `json:"headers,omitempty"`
}

// shownPolicy is `llmgw show --json`.
type shownPolicy struct {
	Policy    string           `json:"policy"`
	Files     []string         `json:"files"`
	Providers []shownProvider  `json:"providers"`
	Keys      []string         `json:"keys"`
	AdminKey  bool             `json:"admin_key"`
	Prices    []engine.Price   `json:"prices"`
	Notes     []string         `json:"notes"`
	Findings  []engine.Finding `json:"findings"`
}

// runShow implements 'llmgw show': the effective policy, what the
// declarations come to in this environment (env() expanded), with every
// secret redacted: providers with their base URL, model map, priority,
// weight and timeout, the client key names, the price overrides.
func runShow(ctx context.Context, args []string, e env) error {
	fs := flagSet("show", e)
	policy := policyFlag(fs, e)
	asJSON := fs.Bool("json", false, "print the effective policy as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkPolicyPath("show", *policy); err != nil {
		return err
	}
	p, err := engine.Check(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: *policy, Getenv: e.getenv, Offline: true})
	if err != nil {
		return fmt.Errorf("show: %w", err)
	}
	sp := shownPolicy{Policy: p.Hash, Files: p.Files, AdminKey: p.AdminKey != "",
		Keys: []string{}, Prices: append([]engine.Price{}, p.Prices...), Notes: append([]string{}, p.Notes...),
		Findings: append([]engine.Finding{}, p.Findings...)}
	for _, pr := range p.Providers {
		s := shownProvider{Provider: pr, APIKey: "none"}
		switch {
		case pr.OAuth != "":
			s.APIKey = "oauth"
		case pr.APIKey != "":
			s.APIKey = "set"
		}
		if len(pr.Headers) > 0 {
			// Header values are often credentials too.
			s.Headers = make(map[string]string, len(pr.Headers))
			for k := range pr.Headers {
				s.Headers[k] = "(set)"
			}
		}
		sp.Providers = append(sp.Providers, s)
	}
	for _, k := range p.Keys {
		sp.Keys = append(sp.Keys, k.Name)
	}
	if *asJSON {
		return printJSON(e.stdout, sp)
	}
	w := e.stdout
	fmt.Fprintf(w, "policy %s (%s)\n\n", sp.Policy, strings.Join(sp.Files, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tKIND\tBASE URL\tAPI KEY\tPRIORITY\tWEIGHT\tTIMEOUT")
	for _, pr := range sp.Providers {
		timeout := "default"
		if pr.Timeout > 0 {
			timeout = pr.Timeout.String()
		}
		base := pr.BaseURL
		if base == "" {
			base = "(in-process)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", pr.Name, pr.Kind, base, pr.APIKey, pr.Priority, pr.Weight, timeout)
	}
	tw.Flush()
	for _, pr := range sp.Providers {
		if len(pr.Models) > 0 {
			fmt.Fprintf(w, "\n%s models:\n", pr.Name)
			names := make([]string, 0, len(pr.Models))
			for m := range pr.Models {
				names = append(names, m)
			}
			sort.Strings(names)
			for _, m := range names {
				fmt.Fprintf(w, "  %s -> %s\n", m, pr.Models[m])
			}
		}
		if len(pr.Headers) > 0 {
			names := make([]string, 0, len(pr.Headers))
			for h := range pr.Headers {
				names = append(names, h)
			}
			sort.Strings(names)
			fmt.Fprintf(w, "\n%s extra headers: %s (values redacted)\n", pr.Name, strings.Join(names, ", "))
		}
	}
	if len(sp.Keys) == 0 {
		fmt.Fprintln(w, "\nclient keys: none (the gateway is open)")
	} else {
		fmt.Fprintf(w, "\nclient keys: %s\n", strings.Join(sp.Keys, ", "))
	}
	fmt.Fprintf(w, "admin key: %t\n", sp.AdminKey)
	if len(sp.Prices) > 0 {
		fmt.Fprintln(w, "\nprices (USD per million tokens; - keeps the built-in rate):")
		for _, pr := range sp.Prices {
			fmt.Fprintf(w, "  %s: input %s, output %s, cache read %s, cache write %s\n", pr.Model, rate(pr.Input), rate(pr.Output), rate(pr.CacheRead), rate(pr.CacheWrite))
		}
	}
	for _, n := range sp.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	for _, f := range sp.Findings {
		fmt.Fprintln(w, f.String())
	}
	return nil
}

func rate(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%g", *v)
}
