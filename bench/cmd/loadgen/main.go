// Command loadgen drives bench/run: it generates load, samples processes,
// counts request-log rows and writes the run's report.
//
//	loadgen run    -mode open|closed|sse -url URL [-body JSON | -body-file F] [-rate R] [-c N]
//	               [-duration D] [-warmup D] [-timeout D] [-max N] [-expect N] [-pid P] [-H 'k: v'] [-out F]
//	loadgen sample -pid P [-duration D] [-out F]        sample a process with no load
//	loadgen wait   -url URL [-timeout D]                wait until URL answers
//	loadgen rows   -db PATH [-table T]                  print the row count of the request log
//	loadgen report -dir DIR -json F -md F [-meta k=v]... assemble the run's result
//	loadgen dropschema -url URL -schema S               drop a PostgreSQL schema (a --replicas run's log)
//
// Results are JSON (package bench/loadgen's Result) on stdout or in -out.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the request log's driver

	"github.com/llmgw/llmgw/bench/loadgen"
	"github.com/llmgw/llmgw/bench/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: loadgen run|sample|wait|rows|report|dropschema [flags]")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "run":
		return runLoad(ctx, args)
	case "sample":
		return runSample(ctx, args)
	case "wait":
		return runWait(ctx, args)
	case "rows":
		return runRows(ctx, args)
	case "report":
		return runReport(args)
	case "dropschema":
		return runDropSchema(ctx, args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// headers is a repeatable -H flag.
type headers http.Header

func (h headers) String() string { return "" }

func (h headers) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q: want 'name: value'", v)
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cfg loadgen.Config
	mode := fs.String("mode", "closed", "open, closed or sse")
	fs.StringVar(&cfg.URL, "url", "", "target URL")
	body := fs.String("body", "", "request body")
	bodyFile := fs.String("body-file", "", "request body file")
	fs.IntVar(&cfg.Rate, "rate", 0, "open loop: requests per second")
	fs.IntVar(&cfg.Concurrency, "c", 0, "closed loop and sse: workers")
	fs.IntVar(&cfg.Conns, "conns", 0, "open loop: most connections, as wrk2's -c (0: max(64, rate/10))")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unmeasured warm-up")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&cfg.MaxRequests, "max", 0, "request cap (0: none)")
	fs.IntVar(&cfg.ExpectEvents, "expect", 0, "sse: content events per stream")
	fs.DurationVar(&cfg.Stagger, "stagger", 0, "closed loop and sse: spread the workers' first requests over this long (0: all at once)")
	fs.IntVar(&cfg.PID, "pid", 0, "process to sample")
	fs.IntVar(&cfg.Sessions, "sessions", 0, "give the requests this many session ids in turn (0: none)")
	fs.StringVar(&cfg.SessionHeader, "session-header", "x-session-id", "the header of -sessions' ids")
	h := headers{}
	fs.Var(h, "H", "request header 'name: value' (repeatable)")
	out := fs.String("out", "", "result file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Mode, cfg.Header = loadgen.Mode(*mode), http.Header(h)
	switch {
	case *bodyFile != "":
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		cfg.Body = b
	case *body != "":
		cfg.Body = []byte(*body)
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadgen: %s %s: %d ok, %d errors, %.0f RPS, p50 %.3f ms, p99 %.3f ms\n",
		res.Mode, res.URL, res.OK, res.Errors, res.RPS, res.Latency.P50, res.Latency.P99)
	if res.FirstError != "" {
		fmt.Fprintf(os.Stderr, "loadgen: first error: %s\n", res.FirstError)
	}
	return write(*out, res)
}

func runSample(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "process to sample")
	d := fs.Duration("duration", 2*time.Second, "how long")
	out := fs.String("out", "", "result file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := loadgen.StartSampler(*pid)
	if err != nil {
		return err
	}
	select {
	case <-time.After(*d):
	case <-ctx.Done():
	}
	p := s.Stop()
	return write(*out, loadgen.Result{Mode: "sample", DurationS: d.Seconds(), Proc: &p})
}

func runWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	url := fs.String("url", "", "URL to poll")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait %s: %w", *url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func runRows(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rows", flag.ContinueOnError)
	path := fs.String("db", "", "SQLite request log")
	table := fs.String("table", "", "table (default: requests, or the first table named like request)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+*path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	if *table == "" {
		if *table, err = requestTable(ctx, db); err != nil {
			return err
		}
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(*table, `"`, `""`)+`"`).Scan(&n); err != nil {
		return fmt.Errorf("count %s: %w", *table, err)
	}
	fmt.Println(n)
	return nil
}

// runDropSchema drops the schema a --replicas run's gateway logged into.
func runDropSchema(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dropschema", flag.ContinueOnError)
	u := fs.String("url", "", "PostgreSQL URL")
	schema := fs.String("schema", "", "schema to drop, with everything in it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *u == "" || *schema == "" {
		return errors.New("dropschema: -url and -schema are required")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, *u)
	if err != nil {
		return fmt.Errorf("dropschema: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{*schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("dropschema %s: %w", *schema, err)
	}
	return nil
}

// requestTable finds the per-request table of the log.
func requestTable(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return "", fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var candidates []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		if name == "requests" {
			return name, nil
		}
		if strings.Contains(name, "request") && !strings.Contains(name, "attempt") {
			candidates = append(candidates, name)
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("no request table found; pass -table")
	}
	return candidates[0], rows.Err()
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of step results (NAME.json)")
	jsonOut := fs.String("json", "", "run result file")
	mdOut := fs.String("md", "", "markdown table file")
	meta := map[string]string{}
	fs.Func("meta", "k=v fact about the run (repeatable)", func(v string) error {
		k, val, _ := strings.Cut(v, "=")
		meta[k] = val
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.json"))
	if err != nil {
		return err
	}
	steps := map[string]loadgen.Result{}
	var rows *report.Rows
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name == "rows" {
			rows = new(report.Rows)
			err = json.Unmarshal(b, rows)
		} else {
			var r loadgen.Result
			err = json.Unmarshal(b, &r)
			steps[name] = r
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	res := report.Evaluate(meta, steps, rows)
	if err := write(*jsonOut, res); err != nil {
		return err
	}
	md := report.Markdown(res)
	fmt.Print(md)
	if *mdOut == "" {
		return nil
	}
	return os.WriteFile(*mdOut, []byte(md), 0o644)
}

func write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
