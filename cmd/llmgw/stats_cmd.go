package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/requestlog"
)

// runStats implements 'llmgw stats': totals of the request log since a
// time, then the same by provider (with its upstream attempts), requested
// model, requested and served model, and client key, as tables or
// (--json) as one requestlog.Stats object.
func runStats(ctx context.Context, args []string, e env) error {
	flags := flagSet("stats", e)
	dbPath := flags.String("db", envDefault(e, "LLMGW_DB", "./llmgw.db"), "request log `file` or postgres:// URL (env LLMGW_DB)")
	sinceFlag := flags.String("since", "24h", "count requests logged this long ago and later (e.g. 90m, 24h, 7d; 0 for all)")
	asJSON := flags.Bool("json", false, "print one JSON object instead of tables")
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
	st, err := readStats(ctx, *dbPath, since)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, st)
	}
	return printStats(e.stdout, st, requestlog.Redact(*dbPath), *sinceFlag, window == 0)
}

// readStats opens an existing request log (never creating one) and reads
// its stats.
func readStats(ctx context.Context, path string, since time.Time) (*requestlog.Stats, error) {
	if _, err := os.Stat(path); !requestlog.IsURL(path) && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stats: no request log at %s (pass --db or set LLMGW_DB)", path)
	}
	db, err := requestlog.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer db.Close()
	st, err := db.Stats(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return st, nil
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
