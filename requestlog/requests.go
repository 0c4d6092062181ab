package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// RequestQuery filters and pages the request list. Empty fields do not
// filter.
type RequestQuery struct {
	// Limit is the page size. Zero means 50; at most 1000.
	Limit int
	// Offset skips that many of the newest matching requests.
	Offset int
	// Since keeps requests logged at or after it.
	Since time.Time
	// Model, Provider and Key keep requests with exactly that value.
	Model, Provider, Key string
	// Status is "ok" (1–399), "error" (0 or >= 400) or an HTTP status.
	Status string
}

// RequestPage is one page of the request list (GET /api/requests).
type RequestPage struct {
	// Total is the number of requests matching the query, all pages.
	Total int64 `json:"total"`
	// Items are the requests of this page, newest first.
	Items []RequestItem `json:"items"`
}

// RequestItem is one request in the list.
type RequestItem struct {
	RequestID        string    `json:"request_id"`
	Time             time.Time `json:"time"`
	Key              string    `json:"key"`
	Model            string    `json:"model"`
	UpstreamModel    string    `json:"upstream_model"`
	Provider         string    `json:"provider"`
	ProtocolIn       string    `json:"protocol_in"`
	ProtocolOut      string    `json:"protocol_out"`
	Stream           bool      `json:"stream"`
	Status           int       `json:"status"`
	ErrorClass       string    `json:"error_class"`
	Error            string    `json:"error"`
	LatencyMs        float64   `json:"latency_ms"`
	TTFTMs           float64   `json:"ttft_ms"`
	InputTokens      int64     `json:"input_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	CacheReadTokens  int64     `json:"cache_read_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	// CostUSD is null when the request is unpriced.
	CostUSD        *float64 `json:"cost_usd"`
	UsageEstimated bool     `json:"usage_estimated"`
}

// RequestDetail is one request with everything logged about it
// (GET /api/requests/{id}).
type RequestDetail struct {
	RequestItem
	Endpoint           string `json:"endpoint"`
	CacheWrite1hTokens int64  `json:"cache_write_1h_tokens"`
	// CostMicros is the exact cost; null when unpriced.
	CostMicros  *int64          `json:"cost_micros"`
	PriceSource string          `json:"price_source"`
	PolicyHash  string          `json:"policy_hash"`
	StickyKey   string          `json:"sticky_key"`
	Sticky      string          `json:"sticky"`
	Notes       []string        `json:"notes"`
	Features    json.RawMessage `json:"features"`
	Attempts    []AttemptItem   `json:"attempts"`
}

// AttemptItem is one upstream attempt of a RequestDetail.
type AttemptItem struct {
	N         int     `json:"n"`
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Status    int     `json:"status"`
	Class     string  `json:"class"`
	Error     string  `json:"error"`
	LatencyMs float64 `json:"latency_ms"`
	FirstByte bool    `json:"first_byte"`
}

// itemCols are the columns scanned by scanItem, in order.
//
// Text columns are read through substr, so that a listing's bytes per row
// stay bounded even over rows written before the insert-time caps (a
// value under the cap, NUL bytes included, is read whole).
//
// On PostgreSQL (itemColsPG) the columns are read as they are: every row
// there was written with the caps.
const itemCols = `request_id, time_ms, CASE WHEN length(CAST(key AS BLOB)) > 600 THEN substr(key, 1, 600) ELSE key END, CASE WHEN length(CAST(model AS BLOB)) > 600 THEN substr(model, 1, 600) ELSE model END,
	CASE WHEN length(CAST(upstream_model AS BLOB)) > 600 THEN substr(upstream_model, 1, 600) ELSE upstream_model END, CASE WHEN length(CAST(provider AS BLOB)) > 600 THEN substr(provider, 1, 600) ELSE provider END, protocol_in, protocol_out,
	stream, status, error_class, CASE WHEN length(CAST(error_message AS BLOB)) > 2100 THEN substr(error_message, 1, 2100) ELSE error_message END, latency_us, ttft_us,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
	cost_micros, usage_estimated`

const itemColsPG = `request_id, time_ms, key, model, upstream_model, provider, protocol_in, protocol_out,
	stream, status, error_class, error_message, latency_us, ttft_us,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
	cost_micros, usage_estimated`

// itemCols returns the list columns in the log's dialect.
func (db *DB) itemCols() string {
	if db.pg != nil {
		return itemColsPG
	}
	return itemCols
}

type scanner interface{ Scan(dest ...any) error }

func scanItem(s scanner, extra ...any) (RequestItem, *int64, error) {
	var it RequestItem
	var ms, latency, ttft int64
	var cost sql.NullInt64
	dest := []any{&it.RequestID, &ms, &it.Key, &it.Model, &it.UpstreamModel, &it.Provider,
		&it.ProtocolIn, &it.ProtocolOut, &it.Stream, &it.Status, &it.ErrorClass, &it.Error,
		&latency, &ttft, &it.InputTokens, &it.OutputTokens, &it.CacheReadTokens,
		&it.CacheWriteTokens, &it.ReasoningTokens, &cost, &it.UsageEstimated}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return RequestItem{}, nil, err
	}
	it.Time = time.UnixMilli(ms).UTC()
	it.LatencyMs, it.TTFTMs = roundMs(float64(latency)), roundMs(float64(ttft))
	c := nullInt64(cost)
	if c != nil {
		usd := float64(*c) / 1e6
		it.CostUSD = &usd
	}
	return it, c, nil
}

// where returns the query's WHERE clause and arguments.
func (q RequestQuery) where() (string, []any, error) {
	conds := []string{"1 = 1"}
	var args []any
	if !q.Since.IsZero() {
		conds, args = append(conds, "time_ms >= ?"), append(args, q.Since.UnixMilli())
	}
	for _, f := range []struct{ col, val string }{{"model", q.Model}, {"provider", q.Provider}, {"key", q.Key}} {
		if f.val != "" {
			conds, args = append(conds, f.col+" = ?"), append(args, f.val)
		}
	}
	switch q.Status {
	case "":
	case "ok":
		conds = append(conds, "status > 0 AND status < 400")
	case "error":
		conds = append(conds, "(status = 0 OR status >= 400)")
	default:
		n, err := strconv.Atoi(q.Status)
		if err != nil || n < 0 || n > 999 {
			return "", nil, fmt.Errorf("requestlog: %w: status filter %q: want ok, error or an HTTP status", ErrBadQuery, q.Status)
		}
		conds, args = append(conds, "status = ?"), append(args, n)
	}
	return strings.Join(conds, " AND "), args, nil
}

// Requests returns one page of the requests matching q, newest first.
func (db *DB) Requests(ctx context.Context, q RequestQuery) (*RequestPage, error) {
	where, args, err := q.where()
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	page := &RequestPage{Items: []RequestItem{}}
	if err := db.read.QueryRowContext(ctx, db.rebind("SELECT COUNT(*) FROM requests WHERE "+where), args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("requestlog: requests: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, db.rebind("SELECT "+db.itemCols()+" FROM requests WHERE "+where+
		" ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?"), append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("requestlog: requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it, _, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("requestlog: requests: %w", err)
		}
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requestlog: requests: %w", err)
	}
	return page, nil
}

// Request returns everything logged about the request with the given
// id, or ErrNotFound. Should an id have been logged twice, the latest
// row wins.
func (db *DB) Request(ctx context.Context, id string) (*RequestDetail, error) {
	var d RequestDetail
	var row int64
	var notes, features sql.NullString
	r := db.read.QueryRowContext(ctx, db.rebind("SELECT "+db.itemCols()+`, id, endpoint, cache_write_1h_tokens,
		price_source, policy_hash, sticky_key, sticky, notes, features
		FROM requests WHERE request_id = ? ORDER BY id DESC LIMIT 1`), id)
	it, cost, err := scanItem(r, &row, &d.Endpoint, &d.CacheWrite1hTokens,
		&d.PriceSource, &d.PolicyHash, &d.StickyKey, &d.Sticky, &notes, &features)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("requestlog: request %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("requestlog: request %q: %w", id, err)
	}
	d.RequestItem, d.CostMicros = it, cost
	d.Notes = []string{}
	if notes.Valid {
		if err := json.Unmarshal([]byte(notes.String), &d.Notes); err != nil {
			return nil, fmt.Errorf("requestlog: request %q: notes: %w", id, err)
		}
	}
	d.Features = validJSON(features)
	if d.Attempts, err = db.attempts(ctx, row, it.Time); err != nil {
		return nil, fmt.Errorf("requestlog: request %q: %w", id, err)
	}
	return &d, nil
}

// attempts returns the attempts of the request in row, logged at t.
func (db *DB) attempts(ctx context.Context, row int64, t time.Time) ([]AttemptItem, error) {
	q, args := `SELECT n, provider, model, status, class, error, latency_us, first_byte
		FROM attempts WHERE request_row = ? ORDER BY n`, []any{row}
	if db.pg != nil {
		// The request's time names the one day partition to read.
		q, args = `SELECT n, provider, model, status, class, error, latency_us, first_byte
		FROM attempts WHERE request_row = ? AND time_ms = ? ORDER BY n`, []any{row, t.UnixMilli()}
	}
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AttemptItem{}
	for rows.Next() {
		var a AttemptItem
		var us int64
		if err := rows.Scan(&a.N, &a.Provider, &a.Model, &a.Status, &a.Class, &a.Error, &us, &a.FirstByte); err != nil {
			return nil, err
		}
		a.LatencyMs = roundMs(float64(us))
		out = append(out, a)
	}
	return out, rows.Err()
}

// validJSON returns s as raw JSON, or nil when it is NULL or not JSON (so
// that a bad value cannot break the response that embeds it).
func validJSON(s sql.NullString) json.RawMessage {
	if !s.Valid || !json.Valid([]byte(s.String)) {
		return nil
	}
	return json.RawMessage(s.String)
}

// LoggedDecision is a logged request's routing input and outcome, what
// `llmgw replay` re-decides with a candidate policy.
type LoggedDecision struct {
	RequestID  string    `json:"request_id"`
	Time       time.Time `json:"time"`
	ProtocolIn string    `json:"protocol_in"`
	// Features is the routing input as logged (the engine request as JSON).
	Features      json.RawMessage `json:"features"`
	Provider      string          `json:"provider"`
	Model         string          `json:"model"`
	UpstreamModel string          `json:"upstream_model"`
	Status        int             `json:"status"`
	Usage         llm.Usage       `json:"usage"`
	// CostMicros is nil when the request was unpriced.
	CostMicros *int64 `json:"cost_micros"`
	// PolicyHash is the policy version that decided the request.
	PolicyHash string `json:"policy_hash"`
	// Key is the client key name; StickyKey the request's sticky key and
	// Sticky whether its binding was a "hit", a "miss" or "" (none).
	Key       string `json:"key"`
	StickyKey string `json:"sticky_key"`
	Sticky    string `json:"sticky"`
	// Attempts counts the upstream attempts; FirstProvider is the
	// provider of the first, "" when there was none.
	Attempts      int    `json:"attempts"`
	FirstProvider string `json:"first_provider"`
	// Limit is the policy limit() that refused the request (429, before
	// any upstream), "" when none did.
	Limit string `json:"limit"`
	// Latency is how long the request took, to its last byte.
	Latency time.Duration `json:"latency_ns"`
}

// Features returns the requests logged since the given time that carry
// routing features, oldest first.
func (db *DB) Features(ctx context.Context, since time.Time) ([]LoggedDecision, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT request_id, time_ms, protocol_in, features,
		provider, model, upstream_model, status, input_tokens, output_tokens, cache_read_tokens,
		cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cost_micros,
		policy_hash, key, sticky_key, sticky, limit_name, latency_us,
		(SELECT count(*) FROM attempts a WHERE a.request_row = requests.id`+db.sameDay()+`),
		coalesce((SELECT a.provider FROM attempts a WHERE a.request_row = requests.id`+db.sameDay()+` ORDER BY a.n LIMIT 1), '')
		FROM requests WHERE time_ms >= ? AND features IS NOT NULL ORDER BY time_ms, id`), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("requestlog: features: %w", err)
	}
	defer rows.Close()
	var out []LoggedDecision
	for rows.Next() {
		var d LoggedDecision
		var ms, latency int64
		var features sql.NullString
		var cost sql.NullInt64
		u := &d.Usage
		if err := rows.Scan(&d.RequestID, &ms, &d.ProtocolIn, &features, &d.Provider, &d.Model,
			&d.UpstreamModel, &d.Status, &u.InputTokens, &u.OutputTokens, &u.CacheReadTokens,
			&u.CacheWriteTokens, &u.CacheWrite1hTokens, &u.ReasoningTokens, &cost,
			&d.PolicyHash, &d.Key, &d.StickyKey, &d.Sticky, &d.Limit, &latency, &d.Attempts, &d.FirstProvider); err != nil {
			return nil, fmt.Errorf("requestlog: features: %w", err)
		}
		d.Time = time.UnixMilli(ms).UTC()
		d.Latency = time.Duration(latency) * time.Microsecond
		d.Features, d.CostMicros = validJSON(features), nullInt64(cost)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requestlog: features: %w", err)
	}
	return out, nil
}
