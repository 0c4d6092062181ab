package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/requestlog"
)

// runStats implements 'llmgw stats': totals of the request log since a
// time, then the same by provider (with its upstream attempts), requested
// model, requested and served model, and client key, then each policy
// limit's refusals and would-refusals, as tables or (--json) as one
// requestlog.Stats object with a limits list. With --gateway it also reads
// each limit's live use from the running gateway: the counters are in its
// memory (or Redis), not in the log.
func runStats(ctx context.Context, args []string, e env) error {
	flags := flagSet("stats", e)
	dbPath := flags.String("db", envDefault(e, "LLMGW_DB", "./llmgw.db"), "request log `file` or postgres:// URL (env LLMGW_DB)")
	sinceFlag := flags.String("since", "24h", "count requests logged this long ago and later (e.g. 90m, 24h, 7d; 0 for all)")
	asJSON := flags.Bool("json", false, "print one JSON object instead of tables")
	gatewayURL := flags.String("gateway", "", "also show each limit's live use, read from the running gateway at this `URL` (its admin API)")
	adminKey := envString(flags, e, "admin-key", "LLMGW_ADMIN_KEY", "", "with --gateway: the policy's admin_key(), when it declares one")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("stats: unexpected argument %q", flags.Arg(0))
	}
	window, err := parseDays(*sinceFlag)
	if err != nil || window < 0 {
		return fmt.Errorf("stats: --since: bad duration %q (want e.g. 90m, 24h, 7d)", *sinceFlag)
	}
	now := time.Now()
	since := time.Unix(0, 0)
	if window > 0 {
		since = now.Add(-window)
	}
	st, counts, err := readStats(ctx, *dbPath, since, now)
	if err != nil {
		return err
	}
	rep := statsReport{Stats: st, Limits: statsLimits(counts, nil)}
	if *gatewayURL != "" {
		var live liveLimits
		if _, err := newAdminClient(*gatewayURL, *adminKey).do(ctx, http.MethodGet, "/api/limits?since="+url.QueryEscape(since.Sub(now).Abs().String()), &live); err != nil {
			rep.LiveError = err.Error()
		} else {
			rep.Limits = statsLimits(counts, live.Limits)
			rep.LimitTZ = live.TZ
		}
	}
	if *asJSON {
		return printJSON(e.stdout, rep)
	}
	if err := printStats(e.stdout, st, requestlog.Redact(*dbPath), *sinceFlag, window == 0); err != nil {
		return err
	}
	return printStatsLimits(e.stdout, &rep, *gatewayURL != "")
}

// statsReport is `llmgw stats --json`: the log's stats, and its limits.
type statsReport struct {
	*requestlog.Stats
	// Limits are the policy limits the log names in the period (refused
	// or would-refused requests) and, with --gateway, every limit the
	// running policy declares; by name.
	Limits []statsLimit `json:"limits"`
	// LimitTZ is the time zone of the live usd periods (with --gateway).
	LimitTZ string `json:"limit_tz,omitempty"`
	// LiveError says why --gateway's live use could not be read; the
	// log's figures are printed all the same.
	LiveError string `json:"live_error,omitempty"`
}

// statsLimit is one limit in `llmgw stats`.
type statsLimit struct {
	Name string `json:"name"`
	// From the request log, in the period.
	Refused     int64                      `json:"refused"`
	WouldRefuse int64                      `json:"would_refuse"`
	Keys        []requestlog.LimitKeyCount `json:"keys"`
	// Live is the limit as the running gateway has it (--gateway); nil
	// without, or when the running policy no longer declares it.
	Live *liveLimit `json:"live,omitempty"`
}

// liveLimits is the part of GET /api/limits stats reads.
type liveLimits struct {
	TZ     string      `json:"tz"`
	Limits []liveLimit `json:"limits"`
}

type liveLimit struct {
	Name        string   `json:"name"`
	RPM         int64    `json:"rpm,omitempty"`
	TPM         int64    `json:"tpm,omitempty"`
	USD         float64  `json:"usd,omitempty"`
	Per         string   `json:"per,omitempty"`
	Concurrency int64    `json:"concurrency,omitempty"`
	Each        string   `json:"each,omitempty"`
	Keys        []string `json:"keys,omitempty"`
	Models      []string `json:"models,omitempty"`
	Shadow      bool     `json:"shadow"`
	Use         float64  `json:"use"`
	Counters    []struct {
		Each     string  `json:"each"`
		Requests int64   `json:"requests"`
		Tokens   int64   `json:"tokens"`
		USD      float64 `json:"usd"`
		InFlight int64   `json:"in_flight"`
		Share    float64 `json:"share"`
	} `json:"counters"`
}

// statsLimits merges the log's counts with the live limits, by name.
func statsLimits(counts map[string]requestlog.LimitCount, live []liveLimit) []statsLimit {
	by := map[string]*statsLimit{}
	for name, c := range counts {
		by[name] = &statsLimit{Name: name, Refused: c.Refused, WouldRefuse: c.WouldRefuse, Keys: c.Keys}
	}
	for i := range live {
		l := &live[i]
		sl := by[l.Name]
		if sl == nil {
			sl = &statsLimit{Name: l.Name, Keys: []requestlog.LimitKeyCount{}}
			by[l.Name] = sl
		}
		sl.Live = l
	}
	out := make([]statsLimit, 0, len(by))
	for _, sl := range by {
		out = append(out, *sl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// printStatsLimits writes the LIMIT table: refusals from the log, and
// with --gateway the live bounds, use and busiest counters.
func printStatsLimits(w io.Writer, rep *statsReport, live bool) error {
	if rep.LiveError != "" {
		fmt.Fprintf(w, "\nlimits' live use unavailable: %s\n", rep.LiveError)
	}
	if len(rep.Limits) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "LIMIT\tREFUSED\tWOULD REFUSE\tBY KEY")
	if live {
		fmt.Fprint(tw, "\tBOUNDS\tUSE NOW\tBUSIEST")
	}
	fmt.Fprintln(tw)
	for _, l := range rep.Limits {
		name := l.Name
		if l.Live != nil && l.Live.Shadow {
			name += " (shadow)"
		}
		var keys []string
		for _, k := range l.Keys {
			keys = append(keys, fmt.Sprintf("%s %d", orNone(k.Key), k.Refused+k.WouldRefuse))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s", name, l.Refused, l.WouldRefuse, orDash(strings.Join(keys, ", ")))
		if live {
			if l.Live == nil {
				fmt.Fprint(tw, "\t(not in the running policy)\t-\t-")
			} else {
				var busiest []string
				for i, c := range l.Live.Counters {
					if i == 3 {
						break
					}
					each := c.Each
					if each == "" {
						each = "all"
					}
					busiest = append(busiest, each+" "+strconv.FormatFloat(100*c.Share, 'f', 0, 64)+"%")
				}
				fmt.Fprintf(tw, "\t%s\t%s\t%s", liveBounds(l.Live), strconv.FormatFloat(100*l.Live.Use, 'f', 0, 64)+"%", orDash(strings.Join(busiest, ", ")))
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.LimitTZ != "" {
		fmt.Fprintf(w, "usd days and months in %s; USE NOW is the busiest counter's used share of its tightest bound\n", rep.LimitTZ)
	}
	return nil
}

// liveBounds is a limit's bounds and what it counts in one cell: "rpm 60,
// usd $20/day, per key, keys ci".
func liveBounds(l *liveLimit) string {
	var parts []string
	if l.RPM > 0 {
		parts = append(parts, "rpm "+strconv.FormatInt(l.RPM, 10))
	}
	if l.TPM > 0 {
		parts = append(parts, "tpm "+strconv.FormatInt(l.TPM, 10))
	}
	if l.USD > 0 {
		parts = append(parts, "usd $"+strconv.FormatFloat(l.USD, 'f', -1, 64)+"/"+l.Per)
	}
	if l.Concurrency > 0 {
		parts = append(parts, "concurrency "+strconv.FormatInt(l.Concurrency, 10))
	}
	if l.Each != "" {
		parts = append(parts, "per "+l.Each)
	}
	if len(l.Keys) > 0 {
		parts = append(parts, "keys "+strings.Join(l.Keys, " "))
	}
	if len(l.Models) > 0 {
		parts = append(parts, "models "+strings.Join(l.Models, " "))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readStats opens an existing request log (never creating one) and reads
// its stats and its limits' refusals.
func readStats(ctx context.Context, path string, since, until time.Time) (*requestlog.Stats, map[string]requestlog.LimitCount, error) {
	if _, err := os.Stat(path); !requestlog.IsURL(path) && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("stats: no request log at %s (pass --db or set LLMGW_DB)", path)
	}
	db, err := requestlog.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: %w", err)
	}
	defer db.Close()
	st, err := db.Stats(ctx, since)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: %w", err)
	}
	counts, err := db.LimitCounts(ctx, since, until.Add(time.Millisecond))
	if err != nil {
		return nil, nil, fmt.Errorf("stats: %w", err)
	}
	return st, counts, nil
}

// printStats writes the human-readable report.
func printStats(w io.Writer, st *requestlog.Stats, path, since string, all bool) error {
	window := "last " + since
	if all {
		window = "all time"
	}
	fmt.Fprintf(w, "%s, %s (since %s)\n\n", path, window, st.Since.Local().Format("2006-01-02 15:04 MST"))
	if st.Requests == 0 {
		_, err := fmt.Fprintln(w, "no requests logged in this window")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A row is a name, its counters and the table's extra columns.
	type row struct {
		name  string
		c     requestlog.Counters
		extra []string
	}
	table := func(title string, extra []string, rows []row) {
		fmt.Fprintf(tw, "%s\tREQUESTS\tERRORS\tERR%%\tINPUT\tOUTPUT\tCACHE READ\tCACHE WRITE\tCACHED%%\tREASONING\tCOST\tUNPRICED\tAVG LATENCY", title)
		for _, h := range extra {
			fmt.Fprintf(tw, "\t%s", h)
		}
		fmt.Fprintln(tw)
		for _, r := range rows {
			c := r.c
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s",
				r.name, c.Requests, c.Errors, percent(c.Errors, c.Requests), count(c.InputTokens), count(c.OutputTokens),
				count(c.CacheReadTokens), count(c.CacheWriteTokens),
				percent(c.CacheReadTokens, c.InputTokens+c.CacheReadTokens+c.CacheWriteTokens), count(c.ReasoningTokens),
				dollars(c.CostMicros), c.Unpriced, millis(c.LatencyMsAvg))
			for _, v := range r.extra {
				fmt.Fprintf(tw, "\t%s", v)
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw)
	}
	table("TOTAL", nil, []row{{name: "all", c: st.Counters}})
	// A provider's requests are those it served or failed last; its
	// attempts include the ones it failed and the request moved on from.
	var rows []row
	for _, g := range st.ByProvider {
		rows = append(rows, row{orNone(g.Provider), g.Counters, []string{
			strconv.FormatInt(g.Attempts, 10), strconv.FormatInt(g.AttemptErrors, 10), strconv.FormatInt(g.Failovers, 10)}})
	}
	table("PROVIDER", []string{"ATTEMPTS", "ATTEMPT ERRORS", "FAILOVERS"}, rows)
	rows = rows[:0]
	for _, g := range st.ByModel {
		rows = append(rows, row{name: orNone(g.Model), c: g.Counters})
	}
	table("MODEL", nil, rows)
	rows = rows[:0]
	for _, g := range st.ByServedModel {
		rows = append(rows, row{name: orNone(g.Model) + " → " + orNone(g.ServedModel), c: g.Counters})
	}
	table("MODEL → SERVED", nil, rows)
	rows = rows[:0]
	for _, g := range st.ByKey {
		rows = append(rows, row{name: orNone(g.Key), c: g.Counters})
	}
	table("KEY", nil, rows)
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Unpriced > 0 {
		fmt.Fprintf(w, "unpriced requests: %d (tokens used by a model not in the price table; not included in COST)\n", st.Unpriced)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// count formats a token count compactly: 950, 12.3k, 4.56M.
func count(n int64) string {
	switch {
	case n < 10_000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	case n < 1_000_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + "G"
}

// dollars formats micro-USD with four decimals (cents are too coarse for
// a handful of requests).
func dollars(micros int64) string {
	return fmt.Sprintf("$%.4f", float64(micros)/1e6)
}

func percent(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

func millis(ms float64) string {
	if ms >= 10_000 {
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
}
