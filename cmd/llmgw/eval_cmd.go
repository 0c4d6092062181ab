package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/llm"
)

// runEval implements 'llmgw eval': dry-run the policy for one request body
// and print the decision, the failover order and (with
// --simulate-errors) the whole failover walk.
func runEval(ctx context.Context, args []string, e env) error {
	fs := flagSet("eval", e)
	policy := policyFlag(fs, e)
	reqPath := fs.String("request", "", "request body: a JSON file, or - for stdin (required)")
	protocol := fs.String("protocol", "", "openai, responses, anthropic or gemini (guessed from the body when absent)")
	model := fs.String("model", "", "the model, when the body has none (Gemini puts it in the URL)")
	key := fs.String("key", "", "the client key name the request authenticates as")
	var headers headerFlags
	fs.Var(&headers, "header", "a request header `NAME:VALUE` the policy sees in req.headers (repeatable; a session header sets req.session)")
	session := fs.String("session", "", "the session id (req.session), as a client's session header would set it")
	seed := fs.Int64("seed", -1, "draw the weighted picks within each tier as the gateway does, from this seed (default: highest weight first)")
	explain := fs.Bool("explain", false, "say why the core reordered the candidates")
	simulate := fs.String("simulate-errors", "", "comma list of provider=error (429, 429:30, 503, timeout, connect, stream; cut or stall break a started stream)")
	health := fs.String("health", "", "comma list of provider=state (healthy, half_open, cooldown)")
	sticky := fs.String("sticky", "", "provider the session is already bound to")
	now := fs.String("now", "", "the clock, RFC 3339 (default: now)")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *reqPath == "" {
		return fmt.Errorf("eval: --request FILE or --request - is required")
	}
	if err := checkPolicyPath("eval", *policy); err != nil {
		return err
	}
	body, err := readRequest(*reqPath, e.stdin)
	if err != nil {
		return err
	}
	if *protocol == "" {
		*protocol = string(gateway.GuessProtocol(body))
		// The endpoint a client calls names its protocol; a body alone
		// can be ambiguous, so say what was assumed.
		fmt.Fprintf(e.stderr, "llmgw eval: protocol %s guessed from the body (pass --protocol to set it)\n", *protocol)
	}
	f, ok, err := gateway.ReadFeatures(llm.Protocol(*protocol), body)
	if !ok {
		return fmt.Errorf("eval: unknown protocol %q (want openai, responses, anthropic or gemini)", *protocol)
	}
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	req := engine.NewRequest(*protocol, f, len(body), headers.m)
	if *model != "" {
		req.Model = *model
	}
	if *session != "" {
		req.Session = *session
	}
	req.Key = *key
	opts := engine.EvalOptions{Sticky: *sticky}
	if *seed >= 0 {
		u := uint64(*seed)
		opts.Seed = &u
	}
	if opts.SimulateErrors, err = engine.ParseSimulateErrors(*simulate); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if opts.Health, err = parseHealth(*health); err != nil {
		return err
	}
	if *now != "" {
		if opts.Now, err = time.Parse(time.RFC3339, *now); err != nil {
			return fmt.Errorf("eval: --now: %w", err)
		}
	}
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: *policy, Getenv: e.getenv, SkipTests: true, Offline: true})
	if err != nil {
		return err
	}
	res, err := eng.Policy().Eval(ctx, req, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	printEval(e.stdout, req, res, *explain)
	return nil
}

// headerFlags collects repeated --header NAME:VALUE flags, names
// lower-cased as the gateway passes them to the policy.
type headerFlags struct{ m map[string]string }

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME:VALUE", v)
	}
	if h.m == nil {
		h.m = make(map[string]string)
	}
	h.m[name] = strings.TrimSpace(value)
	return nil
}

func readRequest(path string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 10<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("eval: read request: %w", err)
	}
	return b, nil
}

// parseHealth parses --health "a=cooldown,b=half_open".
func parseHealth(list string) (map[string]engine.Health, error) {
	if list == "" {
		return nil, nil
	}
	out := make(map[string]engine.Health)
	for item := range strings.SplitSeq(list, ",") {
		name, state, ok := strings.Cut(strings.TrimSpace(item), "=")
		switch state {
		case engine.StateHealthy, engine.StateHalfOpen:
		case engine.StateCooldown, "down":
			state = engine.StateCooldown
		default:
			ok = false
		}
		if !ok || name == "" {
			return nil, fmt.Errorf("eval: --health: %q is not provider=healthy|half_open|cooldown", item)
		}
		out[name] = engine.Health{State: state, CooldownLeft: engine.DefaultCooldown}
	}
	return out, nil
}

func printEval(w io.Writer, req *engine.Request, res *engine.EvalResult, explain bool) {
	fmt.Fprintf(w, "policy %s\n", res.Policy)
	fmt.Fprintf(w, "request: model=%q protocol=%s stream=%t tools=%t images=%t thinking=%t input~%d tokens\n",
		req.Model, req.Protocol, req.Stream, req.HasTools, req.HasImages, req.HasThinking, req.InputTokensEstimate)
	if res.StickyKey != nil {
		bound := "not bound"
		if res.Sticky != "" {
			bound = "bound to " + res.Sticky
		}
		fmt.Fprintf(w, "sticky key: %q (%s)\n", *res.StickyKey, bound)
	}
	for _, x := range res.Explain {
		// A binding or a weighted split decides the first pick; say so
		// even without --explain, since the order alone cannot.
		if strings.HasPrefix(x, "the sticky key is the default") || strings.HasPrefix(x, "weighted-random first pick") {
			fmt.Fprintf(w, "%s\n", x)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "candidates (failover order):")
	if len(res.Candidates) == 0 {
		fmt.Fprintln(tw, "  (none: the request would be refused)")
	}
	for i, c := range res.Candidates {
		model := c.Model
		if model == "" {
			model = "(as requested)"
		}
		fmt.Fprintf(tw, "  %d.\t%s\tmodel=%s\tpriority=%d\tweight=%d\tfirst %.4g%%\n", i+1, c.Provider, model, c.Priority, c.Weight, 100*c.Share)
	}
	tw.Flush()
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if explain {
		fmt.Fprintln(w, "explain:")
		if len(res.Explain) == 0 {
			fmt.Fprintln(w, "  policy order kept (priority tiers, highest weight first)")
		}
		for _, x := range res.Explain {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
	fmt.Fprintln(w, "attempts:")
	for i, a := range res.Attempts {
		what := "200 ok"
		if a.Class != "ok" {
			what = a.Error + " → " + a.Class
			if a.CooldownS > 0 {
				what += fmt.Sprintf(" %gs", a.CooldownS)
			}
			if a.MarkFailed {
				what += " (marked failed)"
			}
		}
		fmt.Fprintf(w, "  %d. %s model=%s: %s\n", i+1, a.Provider, a.Model, what)
	}
	switch res.Outcome.Result {
	case "served":
		fmt.Fprintf(w, "outcome: served by %s\n", res.Outcome.Provider)
	case "failed":
		fmt.Fprintf(w, "outcome: %d from %s returned to the client\n", res.Outcome.Status, res.Outcome.Provider)
	case "exhausted":
		fmt.Fprintln(w, "outcome: every candidate failed")
	default:
		fmt.Fprintln(w, "outcome: no candidates")
	}
}
