package report

import (
	"strings"
	"testing"

	"github.com/llmgw/llmgw/bench/loadgen"
)

func TestEvaluate(t *testing.T) {
	d := func(p50, p99 float64) loadgen.Dist { return loadgen.Dist{N: 10, P50: p50, P99: p99} }
	dp := func(p50, p99 float64) *loadgen.Dist { x := d(p50, p99); return &x }
	steps := map[string]loadgen.Result{
		"open1k_direct":   {OK: 10, Requests: 10, Latency: d(0.2, 0.5)},
		"open1k_gw":       {OK: 10, Requests: 10, Latency: d(0.5, 2.0)},
		"closed32_bare":   {OK: 10, RPS: 1000, Concurrency: 32},
		"closed32_gw":     {OK: 10, RPS: 700, Concurrency: 32},
		"closed64_direct": {OK: 10, RPS: 1000},
		"closed64_gw":     {OK: 10, RPS: 600, Concurrency: 64, CPUPerRequestUS: 50},
		"sse_direct":      {OK: 10, Requests: 10, TTFC: dp(1, 2), Gaps: dp(20, 20.1), StreamsFaithful: 1},
		"sse_gw":          {OK: 10, Requests: 10, TTFC: dp(1.3, 2.5), Gaps: dp(20, 20.2), StreamsFaithful: 1},
		"sseconv_gw":      {OK: 9, Requests: 10, Errors: 1, StreamsFaithful: 1},
		"idle_gw":         {Proc: &loadgen.ProcReport{RSSEndMB: 12, RSSAnonEndMB: 4, RSSFileEndMB: 8}},
	}
	r := Evaluate(map[string]string{"timestamp": "t"}, steps, &Rows{Before: 5, After: 105, Requests: 100})
	want := map[string]Status{
		"capacity at 32-64 in flight vs bare proxy":    MinimumMet,
		"added latency p50 at 1k RPS":                  Met,
		"added latency p99 at 1k RPS":                  NotMet,
		"CPU per request (c=64)":                       Met,
		"streaming: added time to first content p50":   Met,
		"streaming: added inter-event delay (gap p99)": Met,
		"events delivered, same protocol":              Met,
		"events delivered, with conversion":            NotMet,
		"idle RSS":                                     Met,
		"peak RSS at 5k RPS":                           NotMeasured,
		"slow streams (1 s upstream) held":             NotMeasured,
		"log completeness after saturation":            Met,
	}
	if len(r.Goals) != len(want) {
		t.Fatalf("Evaluate gave %d goals, want %d", len(r.Goals), len(want))
	}
	for _, g := range r.Goals {
		if g.Status != want[g.Name] {
			t.Errorf("goal %q = %s (%s), want %s", g.Name, g.Status, g.Measured, want[g.Name])
		}
	}
	if r.Noisy {
		t.Error("direct p99 0.5 ms: Noisy = true, want false")
	}
	steps["open1k_direct"] = loadgen.Result{OK: 10, Latency: d(0.2, 50)}
	if !Evaluate(nil, steps, nil).Noisy {
		t.Error("direct p99 50 ms: Noisy = false, want true")
	}
	if !r.HarnessBound {
		t.Error("direct 1000 RPS vs gateway 600: HarnessBound = false, want true")
	}
	md := Markdown(r)
	if !strings.Contains(md, "| idle RSS | ≤ 30 MB | 12.0 MB (anonymous 4.0 MB, file-backed 8.0 MB) | met |") || !strings.Contains(md, "harness-bound") {
		t.Errorf("Markdown missing rows:\n%s", md)
	}
}

// TestAddedLatencyMedianOfRounds checks that interleaved rounds are each
// compared with their own direct baseline and that the median round
// decides: one noisy round (every target slow) neither fails nor passes
// the goal on its own.
func TestAddedLatencyMedianOfRounds(t *testing.T) {
	d := func(p99 float64) loadgen.Dist { return loadgen.Dist{N: 10, P50: 0.5, P99: p99} }
	ok := func(p99 float64) loadgen.Result { return loadgen.Result{OK: 10, Requests: 10, Latency: d(p99)} }
	steps := map[string]loadgen.Result{
		// round 1: +0.6; round 2 (noisy host, everything slow): +3.0; round 3: +0.8
		"open1k_direct": ok(1.0), "open1k_bare": ok(1.2), "open1k_gw": ok(1.6),
		"open1k_direct_r2": ok(4.0), "open1k_bare_r2": ok(6.0), "open1k_gw_r2": ok(7.0),
		"open1k_direct_r3": ok(1.1), "open1k_bare_r3": ok(1.3), "open1k_gw_r3": ok(1.9),
	}
	r := Evaluate(nil, steps, nil)
	var got Goal
	for _, g := range r.Goals {
		if g.Name == "added latency p99 at 1k RPS" {
			got = g
		}
	}
	if got.Status != Met || !strings.HasPrefix(got.Measured, "+0.800 ms (gw 1.900, direct 1.100, bare proxy +0.200") ||
		!strings.Contains(got.Measured, "median of 3 rounds: +0.600, +0.800, +3.000") {
		t.Errorf("p99 goal = %+v, want +0.800 ms from round 3, met", got)
	}
	if r.Noisy {
		t.Errorf("median direct p99 1.1 ms: Noisy = true, want false")
	}
	steps["open1k_gw_r3"] = ok(2.5) // round 3 now +1.4: the median fails
	for _, g := range Evaluate(nil, steps, nil).Goals {
		if g.Name == "added latency p99 at 1k RPS" && g.Status != NotMet {
			t.Errorf("median +1.4 ms: status %s, want not met", g.Status)
		}
	}
}

// TestStreamingGoalsOverRounds checks the streaming goals over
// interleaved rounds: the median round's TTFC decides, and one incomplete
// stream in any round fails fidelity.
func TestStreamingGoalsOverRounds(t *testing.T) {
	dp := func(p50, p99 float64) *loadgen.Dist { return &loadgen.Dist{N: 8, P50: p50, P99: p99} }
	sse := func(ttfc float64) loadgen.Result {
		return loadgen.Result{OK: 8, Requests: 8, TTFC: dp(ttfc, ttfc+1), Gaps: dp(20, 21), StreamsFaithful: 1}
	}
	steps := map[string]loadgen.Result{
		"sse_direct": sse(1.0), "sse_gw": sse(1.2), // +0.2
		"sse_direct_r2": sse(1.0), "sse_gw_r2": sse(3.0), // +2.0, a noisy round
		"sse_direct_r3": sse(1.0), "sse_gw_r3": sse(1.4), // +0.4
	}
	goal := func(name string) Goal {
		for _, g := range Evaluate(nil, steps, nil).Goals {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("no goal %q", name)
		return Goal{}
	}
	if g := goal("streaming: added time to first content p50"); g.Status != Met || !strings.HasPrefix(g.Measured, "+0.400 ms") ||
		!strings.Contains(g.Measured, "median of 3 rounds: +0.200, +0.400, +2.000") {
		t.Errorf("TTFC goal = %+v, want +0.400 ms from the median round, met", g)
	}
	if g := goal("events delivered, same protocol"); g.Status != Met || !strings.HasPrefix(g.Measured, "100.00% of 24 streams") {
		t.Errorf("fidelity = %+v, want 24 complete streams over 3 rounds", g)
	}
	bad := sse(1.4)
	bad.StreamsFaithful = 0.875 // one of 8 streams lost an event
	steps["sse_gw_r3"] = bad
	if g := goal("events delivered, same protocol"); g.Status != NotMet {
		t.Errorf("fidelity with an incomplete stream in round 3 = %+v, want not met", g)
	}
}

// TestCPUAndSlowStreamFigures checks the figures the CPU and slow-stream
// rows carry besides their verdicts: the ratio to the bare proxy, and the
// peak RSS while the slow streams were held.
func TestCPUAndSlowStreamFigures(t *testing.T) {
	steps := map[string]loadgen.Result{
		"closed64_gw":   {OK: 10, Requests: 10, CPUPerRequestUS: 96.3},
		"closed64_bare": {OK: 10, Requests: 10, CPUPerRequestUS: 72.0},
		"slow_gw": {OK: 900, Requests: 900, Concurrency: 1000, Proc: &loadgen.ProcReport{
			RSSPeakMB: 175.25, FDs: [3]int{18, 2018, 2018}, Threads: [2]int{7, 7},
		}},
	}
	want := map[string]string{
		"CPU per request (c=64)":           "96.3 µs; bare proxy 72.0 µs in that round; 1.34x",
		"slow streams (1 s upstream) held": "1000 in flight, 900 streams, 0 errors; fds 18→2018→2018; threads 7→7; peak RSS 175.2 MB",
	}
	for _, g := range Evaluate(nil, steps, nil).Goals {
		if w, ok := want[g.Name]; ok && g.Measured != w {
			t.Errorf("%s: measured %q, want %q", g.Name, g.Measured, w)
		}
		delete(want, g.Name)
	}
	for name := range want {
		t.Errorf("no %q row", name)
	}
}

// TestOverFloor checks the restatement of the absolute goals against the
// bare proxy of the same run: the ratio and the per-round margins, the
// median round deciding, and rounds without a bare proxy left out; the
// absolute verdicts are unchanged by it.
func TestOverFloor(t *testing.T) {
	lat := func(p50, p99 float64) loadgen.Result {
		return loadgen.Result{OK: 10, Requests: 10, Latency: loadgen.Dist{N: 10, P50: p50, P99: p99}}
	}
	sse := func(ttfc float64) loadgen.Result {
		d := &loadgen.Dist{N: 8, P50: ttfc, P99: ttfc + 1}
		return loadgen.Result{OK: 8, Requests: 8, TTFC: d, Gaps: &loadgen.Dist{N: 8, P50: 20, P99: 21}, StreamsFaithful: 1}
	}
	steps := map[string]loadgen.Result{
		"closed64_bare": {OK: 10, RPS: 1000, CPUPerRequestUS: 80},
		"closed64_gw":   {OK: 10, RPS: 900, CPUPerRequestUS: 100}, // 1.25x: within 70/46
		// 1k RPS: gw over bare p50 +0.05, +0.20, +0.08; p99 +0.3, +0.9, +0.7
		"open1k_direct": lat(0.5, 1.0), "open1k_bare": lat(0.8, 1.5), "open1k_gw": lat(0.85, 1.8),
		"open1k_direct_r2": lat(0.5, 1.0), "open1k_bare_r2": lat(0.8, 1.5), "open1k_gw_r2": lat(1.0, 2.4),
		"open1k_direct_r3": lat(0.5, 1.0), "open1k_bare_r3": lat(0.8, 1.5), "open1k_gw_r3": lat(0.88, 2.2),
		// streams: the bare proxy alone adds 0.45 ms; the gateway 0.1 more
		"sse_direct": sse(1.0), "sse_bare": sse(1.45), "sse_gw": sse(1.55),
		"sse_direct_r2": sse(1.0), "sse_gw_r2": sse(1.9), // no bare proxy: not counted over the floor
	}
	r := Evaluate(nil, steps, nil)
	want := map[string]struct {
		measured string
		status   Status
	}{
		"CPU per request (c=64)":                     {"1.25x (100.0 / 80.0 µs)", Met},
		"added latency p50 at 1k RPS":                {"+0.080 ms (median of 3 rounds: +0.050, +0.080, +0.200)", Met},
		"added latency p99 at 1k RPS":                {"+0.700 ms (median of 3 rounds: +0.300, +0.700, +0.900)", NotMet},
		"streaming: added time to first content p50": {"+0.100 ms", Met},
	}
	if len(r.OverFloor) != len(want) {
		t.Fatalf("OverFloor has %d rows, want %d: %+v", len(r.OverFloor), len(want), r.OverFloor)
	}
	for _, g := range r.OverFloor {
		w := want[g.Name]
		if g.Measured != w.measured || g.Status != w.status {
			t.Errorf("%s over the floor = %q %s, want %q %s", g.Name, g.Measured, g.Status, w.measured, w.status)
		}
	}
	for _, g := range r.Goals {
		if g.Name == "CPU per request (c=64)" && g.Status != NotMet {
			t.Errorf("absolute CPU goal at 100 µs = %s, want not met whatever the floor", g.Status)
		}
	}
	md := Markdown(r)
	if !strings.Contains(md, "| CPU per request (c=64) | ≤ 1.52x the bare proxy (70 / 46 µs) | 1.25x (100.0 / 80.0 µs) | met |") ||
		!strings.Contains(md, "| streaming: added time to first content p50 | ≤ +0.23 ms over the bare proxy (+0.50 − +0.27) | +0.100 ms | met |") {
		t.Errorf("Markdown lacks the over-the-floor rows:\n%s", md)
	}
	delete(steps, "closed64_bare")
	if g := Evaluate(nil, steps, nil).OverFloor[0]; g.Status != NotMeasured {
		t.Errorf("CPU over the floor without a bare proxy = %+v, want not measured", g)
	}
}

// TestClosedLoopRounds checks capacity and CPU per request over
// interleaved closed-loop rounds: each round's gateway is compared with the
// bare proxy measured beside it, and the median round decides, so one
// round on a slow host neither fails nor passes a goal on its own.
func TestClosedLoopRounds(t *testing.T) {
	c := func(rps, cpu float64) loadgen.Result {
		return loadgen.Result{OK: 100, Requests: 100, RPS: rps, Concurrency: 64, CPUPerRequestUS: cpu}
	}
	steps := map[string]loadgen.Result{
		"closed64_direct": c(40000, 14),
		// ratios 0.90, 0.50 (the gateway's phase hit a slow minute), 0.85;
		// CPU 66 (1.10x), 130 (2.17x), 69 (1.15x)
		"closed64_bare": c(10000, 60), "closed64_gw": c(9000, 66),
		"closed64_bare_r2": c(10000, 60), "closed64_gw_r2": c(5000, 130),
		"closed64_bare_r3": c(10000, 60), "closed64_gw_r3": c(8500, 69),
	}
	r := Evaluate(nil, steps, nil)
	goal := func(name string) Goal {
		for _, g := range r.Goals {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("no goal %q", name)
		return Goal{}
	}
	if g := goal("capacity at 32-64 in flight vs bare proxy"); g.Status != Met ||
		g.Measured != "c=64: 8500 / 10000 RPS = 0.85x (median of 3 rounds: 0.50, 0.85, 0.90)" {
		t.Errorf("capacity = %+v, want the median round's 0.85x, met", g)
	}
	if g := goal("CPU per request (c=64)"); g.Status != Met ||
		g.Measured != "69.0 µs (median of 3 rounds: 66.0, 69.0, 130.0); bare proxy 60.0 µs in that round; 1.15x (median of 3 rounds: 1.10, 1.15, 2.17)" {
		t.Errorf("CPU = %+v, want the median 69.0 µs, met", g)
	}
	if g := r.OverFloor[0]; g.Measured != "1.15x (69.0 / 60.0 µs) (median of 3 rounds: 1.10, 1.15, 2.17)" || g.Status != Met {
		t.Errorf("CPU over the floor = %+v, want the median ratio 1.15x", g)
	}
	steps["closed64_gw_r3"] = c(5500, 120) // now two slow rounds of three: the median fails
	r = Evaluate(nil, steps, nil)
	if g := goal("capacity at 32-64 in flight vs bare proxy"); g.Status != NotMet {
		t.Errorf("capacity with a median of 0.55x = %+v, want not met", g)
	}
	if g := goal("CPU per request (c=64)"); g.Status != NotMet {
		t.Errorf("CPU with a median of 120 µs = %+v, want not met", g)
	}
}

// TestReplicaGoal: with bench/run --replicas the table gains the replica's
// p99 over the single process, the median of the rounds' differences; a
// run without replicas has no such row.
func TestReplicaGoal(t *testing.T) {
	d := func(p50, p99 float64) loadgen.Dist { return loadgen.Dist{N: 10, P50: p50, P99: p99} }
	steps := map[string]loadgen.Result{
		"open1k_direct": {OK: 10, Latency: d(0.2, 0.5)},
		"open1k_gw":     {OK: 10, Latency: d(0.4, 1.0)},
	}
	const name = "replica p99 at 1k RPS over single process"
	for _, g := range Evaluate(nil, steps, nil).Goals {
		if g.Name == name {
			t.Fatalf("a run without replicas has the row %+v", g)
		}
	}
	for _, tc := range []struct {
		reps []float64 // the replica's p99 per round; the single process's is 1.0, 1.1, 1.2
		want Status
		has  string
	}{
		{[]float64{1.1, 1.2, 2.5}, Met, "+0.100 ms"},
		{[]float64{1.5, 1.6, 1.2}, NotMet, "+0.500 ms"},
	} {
		steps := map[string]loadgen.Result{}
		for k, rep := range tc.reps {
			single := 1.0 + 0.1*float64(k)
			steps[roundStep("open1k_direct", k+1)] = loadgen.Result{OK: 10, Latency: d(0.2, 0.5)}
			steps[roundStep("open1k_gw", k+1)] = loadgen.Result{OK: 10, Latency: d(0.4, single)}
			steps[roundStep("open1k_gwrep", k+1)] = loadgen.Result{OK: 10, Latency: d(0.45, rep)}
		}
		var got *Goal
		r := Evaluate(nil, steps, nil)
		for i := range r.Goals {
			if r.Goals[i].Name == name {
				got = &r.Goals[i]
			}
		}
		if got == nil {
			t.Fatalf("no %q row among %+v", name, r.Goals)
		}
		if got.Status != tc.want || !strings.Contains(got.Measured, tc.has) {
			t.Errorf("replica rounds %v: %s %q, want %s with %s", tc.reps, got.Status, got.Measured, tc.want, tc.has)
		}
	}
}
