package main

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/engine"
)

// statusProvider is one provider of GET /api/providers, as status shows
// it.
type statusProvider struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	State         string  `json:"state"`
	CooldownLeftS float64 `json:"cooldown_left_s"`
	ErrorRate     float64 `json:"error_rate"`
	LatencyMS     float64 `json:"latency_ms"`
	InFlight      int     `json:"in_flight"`
	LastError     string  `json:"last_error"`
	Stickies      int     `json:"sticky_bindings"`
}

// statusReport is `llmgw status --json`.
type statusReport struct {
	Policy    engine.Status    `json:"policy"`
	Providers []statusProvider `json:"providers"`
	// Cluster is GET /api/cluster; nil from a gateway without it.
	Cluster *statusCluster `json:"cluster,omitempty"`
}

// statusCluster is GET /api/cluster, as status shows it.
type statusCluster struct {
	State struct {
		Backend   string    `json:"backend"`
		Addr      string    `json:"addr,omitempty"`
		Shared    bool      `json:"shared"`
		Since     time.Time `json:"since"`
		Fallbacks int64     `json:"fallbacks"`
	} `json:"state"`
	PolicyHash string `json:"policy_hash"`
	Drift      bool   `json:"drift"`
	Replicas   []struct {
		ID         string `json:"id"`
		PolicyHash string `json:"policy_hash"`
		Drift      bool   `json:"drift"`
	} `json:"replicas"`
}

// runStatus implements 'llmgw status': the running gateway's policy (hash,
// loaded at, the last reload error and failed tests, warnings) and its
// providers' health.
func runStatus(ctx context.Context, args []string, e env) error {
	fs := flagSet("status", e)
	gateway, key := adminFlags(fs, e)
	asJSON := fs.Bool("json", false, "print {policy, providers} as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c := newAdminClient(*gateway, *key)
	var rep statusReport
	if _, err := c.do(ctx, http.MethodGet, "/api/policy", &rep.Policy); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	var provs struct {
		Providers []statusProvider `json:"providers"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/providers", &provs); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	rep.Providers = provs.Providers
	// An older gateway has no /api/cluster: status goes on without it.
	var cl statusCluster
	if code, err := c.do(ctx, http.MethodGet, "/api/cluster", &cl); err == nil && code == http.StatusOK {
		rep.Cluster = &cl
	}
	if *asJSON {
		return printJSON(e.stdout, rep)
	}
	p := rep.Policy
	fmt.Fprintf(e.stdout, "policy %s, loaded %s (%d reloads, %d refused)\n", p.Hash, p.LoadedAt.Format(time.RFC3339), p.Reloads, p.ReloadFailures)
	if p.LastError != "" {
		fmt.Fprintf(e.stdout, "last reload refused at %s: %s\n", p.LastErrorAt.Format(time.RFC3339), p.LastError)
		for _, t := range p.FailedTests {
			fmt.Fprintln(e.stdout, "  failed test: "+t)
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(e.stdout, "warning: "+w)
	}
	if cl := rep.Cluster; cl != nil {
		printCluster(e, cl)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROVIDER\tKIND\tSTATE\tERROR RATE\tLATENCY\tIN FLIGHT\tSTICKY\tLAST ERROR")
	for _, pv := range rep.Providers {
		state := pv.State
		if pv.CooldownLeftS > 0 {
			state += fmt.Sprintf(" (%.0fs left)", pv.CooldownLeftS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f%%\t%.0fms\t%d\t%d\t%s\n", pv.Name, pv.Kind, state, 100*pv.ErrorRate, pv.LatencyMS, pv.InFlight, pv.Stickies, pv.LastError)
	}
	return tw.Flush()
}

// printCluster prints where the state is kept and, with replicas, which
// of them serve another policy than the majority's.
func printCluster(e env, cl *statusCluster) {
	st := cl.State
	switch {
	case st.Backend == "local" || st.Backend == "":
		fmt.Fprintln(e.stdout, "state: in process (no --state)")
	case st.Shared:
		fmt.Fprintf(e.stdout, "state: %s at %s, shared by %d replicas (%d fallbacks since start)\n", st.Backend, st.Addr, len(cl.Replicas), st.Fallbacks)
	default:
		fmt.Fprintf(e.stdout, "state: %s at %s UNREACHABLE since %s: serving from this replica's own state (%d fallbacks since start)\n",
			st.Backend, st.Addr, st.Since.Format(time.RFC3339), st.Fallbacks)
	}
	if !cl.Drift {
		return
	}
	for _, r := range cl.Replicas {
		if r.Drift {
			fmt.Fprintf(e.stdout, "warning: replica %s serves policy %s, not the majority's %q\n", r.ID, r.PolicyHash, cl.PolicyHash)
		}
	}
}
