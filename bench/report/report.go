// Package report turns the step results of one bench/run invocation into
// its JSON result and markdown table, marking each goal of issue 9
// met or not met.
//
// Steps are loadgen.Result values keyed by name: "<scenario>_<target>"
// with target direct (the mock itself), bare (the reverse-proxy baseline)
// or gw (the gateway). A missing step leaves its goals "not measured".
package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/llmgw/llmgw/bench/loadgen"
)

// Rows is the request-log check: rows written during the saturation run
// against requests sent.
type Rows struct {
	Before   int64 `json:"rows_before"`
	After    int64 `json:"rows_after"`
	Requests int64 `json:"requests"`
	// Skipped says why the check did not run (no gateway, no db).
	Skipped string `json:"skipped,omitempty"`
}

// Status of a goal.
type Status string

// Statuses.
const (
	Met         Status = "met"
	MinimumMet  Status = "minimum met" // between the minimum and the goal
	NotMet      Status = "NOT MET"
	NotMeasured Status = "not measured"
)

// Goal is one row of the table.
type Goal struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Status   Status `json:"status"`
}

// Result is the run's JSON result.
type Result struct {
	Meta  map[string]string         `json:"meta"`
	Steps map[string]loadgen.Result `json:"steps"`
	Rows  *Rows                     `json:"rows,omitempty"`
	// HarnessBound is set when the direct baseline did not reach twice
	// the gateway's capacity: the load side, not the gateway, may limit.
	HarnessBound bool `json:"harness_bound"`
	// Noisy is set when the direct baseline's open-loop p99 exceeds
	// NoisyP99: something else was running and the run should be repeated.
	Noisy bool `json:"noisy"`
	// DirectP99 is the direct baseline's p99 (median over rounds) that
	// made the run noisy.
	DirectP99 float64 `json:"direct_p99_ms,omitempty"`
	Goals     []Goal  `json:"goals"`
	// OverFloor restates the absolute goals against the bare proxy
	// measured in the same run (see overFloor). Goals keeps the verdicts.
	OverFloor []Goal `json:"over_floor,omitempty"`
}

// Evaluate computes the goals from the steps.
func Evaluate(meta map[string]string, steps map[string]loadgen.Result, rows *Rows) Result {
	e := evaluator{steps: steps}
	r := Result{Meta: meta, Steps: steps, Rows: rows}
	r.Goals = append(r.Goals,
		e.capacity(),
		e.added("added latency p50 at 1k RPS", "open1k", func(d loadgen.Dist) float64 { return d.P50 }, 0.35),
		e.added("added latency p99 at 1k RPS", "open1k", func(d loadgen.Dist) float64 { return d.P99 }, 1.0),
		e.cpu(),
		e.ttfc(),
		e.gaps(),
		e.fidelity("events delivered, same protocol", "sse_gw"),
		e.fidelity("events delivered, with conversion", "sseconv_gw"),
		e.idleRSS(),
		e.rss("peak RSS at 5k RPS", "peak5k_gw", func(p *loadgen.ProcReport) float64 { return p.RSSPeakMB }, 100),
		e.slowStreams(),
		logRows(rows),
	)
	if g, ok := e.replica(); ok {
		r.Goals = append(r.Goals, g)
	}
	r.OverFloor = e.overFloor()
	if d, g, ok := e.pair("closed64_direct", "closed64_gw"); ok && d.RPS < 2*g.RPS {
		r.HarnessBound = true
	}
	if p99, ok := e.directP99("open1k"); ok && p99 > NoisyP99 {
		r.Noisy, r.DirectP99 = true, p99
	}
	return r
}

// NoisyP99 is the direct baseline's open-loop p99 (ms) above which a run
// is reported as disturbed: on a quiet 2-core box it is about 0.5 ms.
const NoisyP99 = 2.0

type evaluator struct {
	steps map[string]loadgen.Result
}

// directP99 is the median of the direct baseline's p99 over the rounds.
func (e evaluator) directP99(scenario string) (float64, bool) {
	_, p99, _, ok := e.medianRound(scenario, func(r round) (float64, bool) { return r.direct.Latency.P99, true })
	return p99, ok
}

func (e evaluator) pair(a, b string) (loadgen.Result, loadgen.Result, bool) {
	x, ok1 := e.steps[a]
	y, ok2 := e.steps[b]
	return x, y, ok1 && ok2 && x.OK > 0 && y.OK > 0
}

func missing(name, target string) Goal {
	return Goal{Name: name, Target: target, Measured: "—", Status: NotMeasured}
}

func check(ok bool) Status {
	if ok {
		return Met
	}
	return NotMet
}

func (e evaluator) capacity() Goal {
	const name, target = "capacity at 32-64 in flight vs bare proxy", "≥ 0.8x (min 0.6x)"
	best, measured := math.Inf(-1), []string{}
	for _, c := range []string{"closed32", "closed64"} {
		rs := e.closedRounds(c, func(r closedRound) bool { return r.bare.RPS > 0 })
		if len(rs) == 0 {
			continue
		}
		med, ratio, all := medianOf(rs, func(r closedRound) float64 { return r.gw.RPS / r.bare.RPS })
		best = max(best, ratio)
		measured = append(measured, fmt.Sprintf("c=%d: %.0f / %.0f RPS = %.2fx%s", med.gw.Concurrency, med.gw.RPS, med.bare.RPS, ratio, ofValues(all, "%.2f")))
	}
	if len(measured) == 0 {
		return missing(name, target)
	}
	st := NotMet
	switch {
	case best >= 0.8:
		st = Met
	case best >= 0.6:
		st = MinimumMet
	}
	return Goal{name, target, strings.Join(measured, "; "), st}
}

// closedRound is one interleaved pass of a closed-loop scenario: the bare
// proxy and the gateway back to back (the mock is measured once, before
// the rounds).
type closedRound struct{ bare, gw loadgen.Result }

// closedRounds returns the scenario's complete rounds (see roundStep)
// that have what keep asks for.
func (e evaluator) closedRounds(scenario string, keep func(closedRound) bool) []closedRound {
	var out []closedRound
	for k := 1; k <= maxRounds; k++ {
		if b, g, ok := e.pair(roundStep(scenario+"_bare", k), roundStep(scenario+"_gw", k)); ok && keep(closedRound{b, g}) {
			out = append(out, closedRound{b, g})
		}
	}
	return out
}

// medianOf returns the element of rs whose value is the median (the lower
// one of an even count), that value, and every value in order.
func medianOf[T any](rs []T, value func(T) float64) (T, float64, []float64) {
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return value(rs[idx[a]]) < value(rs[idx[b]]) })
	all := make([]float64, len(rs))
	for i, j := range idx {
		all[i] = value(rs[j])
	}
	m := idx[(len(idx)-1)/2]
	return rs[m], value(rs[m]), all
}

// ofValues describes the rounds behind a median, each value in format,
// when there were several.
func ofValues(all []float64, format string) string {
	if len(all) < 2 {
		return ""
	}
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = fmt.Sprintf(format, v)
	}
	return fmt.Sprintf(" (median of %d rounds: %s)", len(all), strings.Join(s, ", "))
}

// round is one interleaved pass of a latency scenario: direct, bare
// proxy and gateway measured back to back.
type round struct {
	direct, bare, gw loadgen.Result
	hasBare          bool
}

// maxRounds bounds the rounds a report reads per scenario.
const maxRounds = 9

// roundStep names round k of a step as bench/run does: step for the
// first round, step_rk for round k.
func roundStep(step string, k int) string {
	if k == 1 {
		return step
	}
	return fmt.Sprintf("%s_r%d", step, k)
}

// rounds returns the scenario's complete rounds (see roundStep).
func (e evaluator) rounds(scenario string) []round {
	var out []round
	for k := 1; k <= maxRounds; k++ {
		d, g, ok := e.pair(roundStep(scenario+"_direct", k), roundStep(scenario+"_gw", k))
		if !ok {
			continue
		}
		b, hasBare := e.steps[roundStep(scenario+"_bare", k)]
		out = append(out, round{direct: d, bare: b, gw: g, hasBare: hasBare && b.OK > 0})
	}
	return out
}

// added reports the gateway's added latency: per round the gateway minus
// the direct baseline measured beside it, and of several rounds the
// median, so that a burst of noise from the shared host (which moves
// every target of its round) does not decide the result.
func (e evaluator) added(name, scenario string, pick func(loadgen.Dist) float64, limit float64) Goal {
	target := fmt.Sprintf("≤ +%.2f ms", limit)
	med, add, all, ok := e.medianRound(scenario, func(r round) (float64, bool) {
		return pick(r.gw.Latency) - pick(r.direct.Latency), true
	})
	if !ok {
		return missing(name, target)
	}
	m := fmt.Sprintf("%+.3f ms (gw %.3f, direct %.3f", add, pick(med.gw.Latency), pick(med.direct.Latency))
	if med.hasBare {
		m += fmt.Sprintf(", bare proxy %+.3f", pick(med.bare.Latency)-pick(med.direct.Latency))
	}
	errs := int64(0)
	for _, r := range e.rounds(scenario) {
		errs += r.gw.Errors
	}
	if errs > 0 {
		m += fmt.Sprintf(", %d errors", errs)
	}
	return Goal{name, target, m + ofRounds(all) + ")", check(add <= limit && errs == 0)}
}

// cpu reports the gateway's CPU per request at c=64: the median over the
// rounds, and beside it the bare proxy's in the same round and the median
// of the per-round ratios.
func (e evaluator) cpu() Goal {
	const name, target = "CPU per request (c=64)", "≤ 70 µs"
	rs := e.closedRounds("closed64", func(r closedRound) bool { return r.gw.CPUPerRequestUS > 0 })
	if len(rs) == 0 {
		if g, ok := e.steps["closed64_gw"]; ok && g.CPUPerRequestUS > 0 { // no bare proxy measured
			return Goal{name, target, fmt.Sprintf("%.1f µs", g.CPUPerRequestUS), check(g.CPUPerRequestUS <= 70)}
		}
		return missing(name, target)
	}
	med, us, all := medianOf(rs, func(r closedRound) float64 { return r.gw.CPUPerRequestUS })
	m := fmt.Sprintf("%.1f µs", us) + ofValues(all, "%.1f")
	if med.bare.CPUPerRequestUS > 0 {
		// The target is absolute; the ratio is what moves least with the
		// host (see overFloor).
		_, ratio, ratios := e.cpuRatio()
		m += fmt.Sprintf("; bare proxy %.1f µs in that round; %.2fx%s", med.bare.CPUPerRequestUS, ratio, ofValues(ratios, "%.2f"))
	}
	return Goal{name, target, m, check(us <= 70)}
}

// cpuRatio is the median over the c=64 rounds of the gateway's CPU per
// request over the bare proxy's.
func (e evaluator) cpuRatio() (closedRound, float64, []float64) {
	rs := e.closedRounds("closed64", func(r closedRound) bool { return r.gw.CPUPerRequestUS > 0 && r.bare.CPUPerRequestUS > 0 })
	if len(rs) == 0 {
		return closedRound{}, 0, nil
	}
	return medianOf(rs, func(r closedRound) float64 { return r.gw.CPUPerRequestUS / r.bare.CPUPerRequestUS })
}

// The floor where the absolute goals were set: a bare net/http reverse
// proxy measured on the reference machine at these figures, and each goal
// is that floor plus a budget for what the gateway adds (policy, log row,
// parsing). A host slower than that machine moves the floor (the bare
// proxy has cost 62-135 µs per request on the shared machines these runs
// use, against 46 µs there), and with it every absolute target; the budget
// over the floor is what the gateway itself is answerable for.
const (
	refCPUUS   = 46.0 // µs per request at c=64
	refP50MS   = 0.24 // added p50 at 1k RPS
	refP99MS   = 0.35 // added p99 at 1k RPS
	refTTFCMS  = 0.27 // added time to first content p50
	goalCPUUS  = 70.0
	goalP50MS  = 0.35
	goalP99MS  = 1.0
	goalTTFCMS = 0.5
)

// overFloor compares the gateway with the bare proxy measured beside it in
// the same run, against each absolute goal's budget over the reference
// floor: CPU as a ratio (70/46 = 1.52x), latencies as milliseconds over
// the bare proxy, each the median over the interleaved rounds. It is
// reported beside the goals, never instead of them.
func (e evaluator) overFloor() []Goal {
	var out []Goal
	cpuTarget := fmt.Sprintf("≤ %.2fx the bare proxy (%.0f / %.0f µs)", goalCPUUS/refCPUUS, goalCPUUS, refCPUUS)
	if r, ratio, all := e.cpuRatio(); len(all) > 0 {
		out = append(out, Goal{"CPU per request (c=64)", cpuTarget,
			fmt.Sprintf("%.2fx (%.1f / %.1f µs)%s", ratio, r.gw.CPUPerRequestUS, r.bare.CPUPerRequestUS, ofValues(all, "%.2f")), check(ratio <= goalCPUUS/refCPUUS)})
	} else {
		out = append(out, missing("CPU per request (c=64)", cpuTarget))
	}
	latency := func(name, scenario string, pick func(round) (float64, bool), goal, ref float64) Goal {
		budget := goal - ref
		target := fmt.Sprintf("≤ +%.2f ms over the bare proxy (+%.2f − +%.2f)", budget, goal, ref)
		_, over, all, ok := e.medianRound(scenario, func(r round) (float64, bool) {
			if !r.hasBare {
				return 0, false
			}
			return pick(r)
		})
		if !ok {
			return missing(name, target)
		}
		m := fmt.Sprintf("%+.3f ms", over)
		if rounds := ofRounds(all); rounds != "" {
			m += " (" + strings.TrimPrefix(rounds, "; ") + ")"
		}
		return Goal{name, target, m, check(over <= budget)}
	}
	out = append(out,
		latency("added latency p50 at 1k RPS", "open1k", func(r round) (float64, bool) {
			return r.gw.Latency.P50 - r.bare.Latency.P50, true
		}, goalP50MS, refP50MS),
		latency("added latency p99 at 1k RPS", "open1k", func(r round) (float64, bool) {
			return r.gw.Latency.P99 - r.bare.Latency.P99, true
		}, goalP99MS, refP99MS),
		latency("streaming: added time to first content p50", "sse", func(r round) (float64, bool) {
			if r.gw.TTFC == nil || r.bare.TTFC == nil {
				return 0, false
			}
			return r.gw.TTFC.P50 - r.bare.TTFC.P50, true
		}, goalTTFCMS, refTTFCMS),
	)
	return out
}

// medianRound returns the round of scenario whose value is the median,
// with every round's value in order, for the goals measured in
// interleaved rounds.
func (e evaluator) medianRound(scenario string, value func(round) (float64, bool)) (round, float64, []string, bool) {
	type rv struct {
		r round
		v float64
	}
	var rs []rv
	for _, r := range e.rounds(scenario) {
		if v, ok := value(r); ok {
			rs = append(rs, rv{r, v})
		}
	}
	if len(rs) == 0 {
		return round{}, 0, nil, false
	}
	med, v, vs := medianOf(rs, func(x rv) float64 { return x.v })
	all := make([]string, len(vs))
	for i, x := range vs {
		all[i] = fmt.Sprintf("%+.3f", x)
	}
	return med.r, v, all, true
}

// ofRounds describes the rounds behind a median, when there were several.
func ofRounds(all []string) string {
	if len(all) < 2 {
		return ""
	}
	return fmt.Sprintf("; median of %d rounds: %s", len(all), strings.Join(all, ", "))
}

func (e evaluator) ttfc() Goal {
	const name, target = "streaming: added time to first content p50", "≤ +0.5 ms"
	r, add, all, ok := e.medianRound("sse", func(r round) (float64, bool) {
		if r.direct.TTFC == nil || r.gw.TTFC == nil {
			return 0, false
		}
		return r.gw.TTFC.P50 - r.direct.TTFC.P50, true
	})
	if !ok {
		return missing(name, target)
	}
	m := fmt.Sprintf("%+.3f ms (p99 %+.3f", add, r.gw.TTFC.P99-r.direct.TTFC.P99)
	if r.hasBare && r.bare.TTFC != nil {
		m += fmt.Sprintf(", bare proxy %+.3f", r.bare.TTFC.P50-r.direct.TTFC.P50)
	}
	m += ofRounds(all) + ")"
	if c, ok := e.steps["sseconv_gw"]; ok && c.TTFC != nil {
		if cd, ok := e.steps["sseconv_direct"]; ok && cd.TTFC != nil {
			m += fmt.Sprintf("; converted %+.3f ms", c.TTFC.P50-cd.TTFC.P50)
		}
	}
	return Goal{name, target, m, check(add <= 0.5)}
}

func (e evaluator) gaps() Goal {
	const name, target = "streaming: added inter-event delay (gap p99)", "≤ +0.2 ms"
	r, add, all, ok := e.medianRound("sse", func(r round) (float64, bool) {
		if r.direct.Gaps == nil || r.gw.Gaps == nil {
			return 0, false
		}
		return r.gw.Gaps.P99 - r.direct.Gaps.P99, true
	})
	if !ok {
		return missing(name, target)
	}
	return Goal{name, target, fmt.Sprintf("%+.3f ms (gw p50/p99 %.2f/%.2f ms%s)", add, r.gw.Gaps.P50, r.gw.Gaps.P99, ofRounds(all)), check(add <= 0.2)}
}

// fidelity counts every round of step (step, step_r2, ...): each stream
// of each must be complete.
func (e evaluator) fidelity(name, step string) Goal {
	const target = "100% of streams complete"
	var requests, ok, errs int64
	faithful := 1.0
	firstErr := ""
	for k := 1; k <= maxRounds; k++ {
		g, found := e.steps[roundStep(step, k)]
		if !found {
			continue
		}
		requests, ok, errs = requests+g.Requests, ok+int64(float64(g.OK)*g.StreamsFaithful), errs+g.Errors
		faithful = min(faithful, g.StreamsFaithful)
		if firstErr == "" {
			firstErr = g.FirstError
		}
	}
	if requests == 0 {
		return missing(name, target)
	}
	m := fmt.Sprintf("%.2f%% of %d streams, %d errors", 100*float64(ok)/float64(requests), requests, errs)
	if firstErr != "" {
		m += " (" + truncate(firstErr, 80) + ")"
	}
	return Goal{name, target, m, check(errs == 0 && faithful == 1)}
}

func (e evaluator) rss(name, step string, pick func(*loadgen.ProcReport) float64, limit float64) Goal {
	target := fmt.Sprintf("≤ %.0f MB", limit)
	g, ok := e.steps[step]
	if !ok || g.Proc == nil {
		return missing(name, target)
	}
	v := pick(g.Proc)
	m := fmt.Sprintf("%.1f MB", v)
	if g.Rate > 0 {
		m += fmt.Sprintf(" (%.0f RPS achieved over at most %d connections, %d errors", g.RPS, g.Conns, g.Errors)
		if b, ok := e.steps[strings.TrimSuffix(step, "_gw")+"_bare"]; ok && b.Proc != nil {
			m += fmt.Sprintf("; bare proxy %.1f MB", pick(b.Proc))
		}
		m += ")"
	}
	return Goal{name, target, m, check(v <= limit && g.Errors == 0)}
}

// idleRSS is the idle RSS goal, its figure followed by its anonymous and
// file-backed parts: most of an idle gateway's RSS is the executable's
// own pages, which only a smaller binary reduces, so a reader needs the
// split to tell a change in the gateway's memory from one in its size.
func (e evaluator) idleRSS() Goal {
	g := e.rss("idle RSS", "idle_gw", func(p *loadgen.ProcReport) float64 { return p.RSSEndMB }, 30)
	if s, ok := e.steps["idle_gw"]; ok && s.Proc != nil && s.Proc.RSSAnonEndMB+s.Proc.RSSFileEndMB > 0 {
		g.Measured += fmt.Sprintf(" (anonymous %.1f MB, file-backed %.1f MB)", s.Proc.RSSAnonEndMB, s.Proc.RSSFileEndMB)
	}
	return g
}

func (e evaluator) slowStreams() Goal {
	const name, target = "slow streams (1 s upstream) held", "100% ok; fds < 3x in flight; threads < 50"
	g, ok := e.steps["slow_gw"]
	if !ok || g.Proc == nil {
		return missing(name, target)
	}
	p := g.Proc
	m := fmt.Sprintf("%d in flight, %d streams, %d errors; fds %d→%d→%d; threads %d→%d; peak RSS %.1f MB",
		g.Concurrency, g.OK, g.Errors, p.FDs[0], p.FDs[1], p.FDs[2], p.Threads[0], p.Threads[1], p.RSSPeakMB)
	return Goal{name, target, m, check(g.Errors == 0 && p.FDs[1] < 3*g.Concurrency+p.FDs[0] && p.Threads[1] < 50)}
}

func logRows(r *Rows) Goal {
	const name, target = "log completeness after saturation", "rows == requests"
	switch {
	case r == nil:
		return missing(name, target)
	case r.Skipped != "":
		g := missing(name, target)
		g.Measured = r.Skipped
		return g
	}
	rows := r.After - r.Before
	return Goal{name, target, fmt.Sprintf("%d rows for %d requests", rows, r.Requests), check(rows == r.Requests)}
}

// ReplicaP99 is the most a replica (the request log on PostgreSQL, and
// the state on Redis when the gateway has it) may add to the p99 at 1k RPS
// over the single process, in milliseconds.
const ReplicaP99 = 0.3

// replica compares the gateway run as a replica (steps open1k_gwrep, from
// bench/run --replicas) with the single process measured in the same
// rounds: per round the replica's p99 minus the single process's, and of
// several rounds the median. It reports false when the run had no
// replica, so that a plain run's table does not grow a row.
func (e evaluator) replica() (Goal, bool) {
	const name = "replica p99 at 1k RPS over single process"
	type pair struct{ single, rep loadgen.Result }
	var ps []pair
	for k := 1; k <= maxRounds; k++ {
		if g, r, ok := e.pair(roundStep("open1k_gw", k), roundStep("open1k_gwrep", k)); ok {
			ps = append(ps, pair{g, r})
		}
	}
	target := fmt.Sprintf("≤ +%.2f ms", ReplicaP99)
	if len(ps) == 0 {
		if _, ran := e.steps["open1k_gwrep"]; ran {
			return missing(name, target), true
		}
		return Goal{}, false
	}
	med, add, all := medianOf(ps, func(p pair) float64 { return p.rep.Latency.P99 - p.single.Latency.P99 })
	m := fmt.Sprintf("%+.3f ms (replica %.3f, single process %.3f; p50 %+.3f", add, med.rep.Latency.P99, med.single.Latency.P99,
		med.rep.Latency.P50-med.single.Latency.P50)
	errs := int64(0)
	for _, p := range ps {
		errs += p.rep.Errors
	}
	if errs > 0 {
		m += fmt.Sprintf(", %d errors", errs)
	}
	return Goal{name, target, m + ")" + ofValues(all, "%+.3f"), check(add <= ReplicaP99 && errs == 0)}, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Markdown renders the table of goals with a short header.
func Markdown(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# llmgw benchmark %s\n\n", r.Meta["timestamp"])
	for _, k := range []string{"target", "mode", "git", "go", "cpu", "nproc", "kernel"} {
		if v := r.Meta[k]; v != "" {
			fmt.Fprintf(&b, "- %s: %s\n", k, v)
		}
	}
	if r.HarnessBound {
		b.WriteString("- **harness-bound**: the direct baseline did not reach 2x the gateway's capacity; capacity figures are a lower bound\n")
	}
	if r.Noisy {
		fmt.Fprintf(&b, "- **noisy**: the direct baseline's p99 at 1k RPS was %.2f ms (median over rounds; over %.1f ms): the machine was busy; re-run before trusting latency figures\n",
			r.DirectP99, NoisyP99)
	}
	b.WriteString("\n| Goal | Target | Measured | Status |\n|---|---|---|---|\n")
	for _, g := range r.Goals {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.Name, g.Target, strings.ReplaceAll(g.Measured, "|", "/"), g.Status)
	}
	if len(r.OverFloor) > 0 {
		b.WriteString("\nOver the floor: the absolute goals above restated against the bare proxy measured in this run, each as its\n" +
			"budget over the bare proxy where the goal was set (the reference machine: 46 µs, +0.24/+0.35 ms at 1k RPS, +0.27 ms to first\n" +
			"content). The verdicts above stand; these say what the gateway itself adds on this host.\n\n" +
			"| Goal | Budget over the bare proxy | Measured | Status |\n|---|---|---|---|\n")
		for _, g := range r.OverFloor {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.Name, g.Target, g.Measured, g.Status)
		}
	}
	return b.String()
}
