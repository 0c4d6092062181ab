package requestlog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// LimitCount is what the log says of one policy limit over a period: the
// requests it refused (answered 429) and those it would have refused in
// shadow (served), and whose they were.
type LimitCount struct {
	Limit       string `json:"limit"`
	Refused     int64  `json:"refused"`
	WouldRefuse int64  `json:"would_refuse"`
	// First and Last are the first and last such request.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Keys are the client keys with the most such requests, most first
	// (at most limitCountKeys); "" is the open gateway's requests.
	Keys []LimitKeyCount `json:"keys"`
}

// LimitKeyCount is one client key's share of a LimitCount.
type LimitKeyCount struct {
	Key         string `json:"key"`
	Refused     int64  `json:"refused"`
	WouldRefuse int64  `json:"would_refuse"`
}

// limitCountKeys bounds LimitCount.Keys.
const limitCountKeys = 5

// LimitCounts returns, by limit name, the refusals and would-refusals the
// log recorded in [since, until). Only rows a limit touched are read (a
// refused row names its limit, a served one the shadow limits it went
// over), and only their time, key and those names, so that a day of
// traffic under a shadow limit stays cheap to count. The same query
// serves SQLite and PostgreSQL.
func (db *DB) LimitCounts(ctx context.Context, since, until time.Time) (map[string]LimitCount, error) {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT time_ms, key, limit_name, would_refuse FROM requests
		WHERE time_ms >= ? AND time_ms < ? AND (limit_name <> '' OR would_refuse <> '')`), since.UnixMilli(), until.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("requestlog: limit counts: %w", err)
	}
	defer rows.Close()
	type acc struct {
		LimitCount
		keys map[string]*LimitKeyCount
	}
	by := map[string]*acc{}
	add := func(limit, key string, at time.Time, shadow bool) {
		a := by[limit]
		if a == nil {
			a = &acc{LimitCount: LimitCount{Limit: limit, First: at, Last: at}, keys: map[string]*LimitKeyCount{}}
			by[limit] = a
		}
		k := a.keys[key]
		if k == nil {
			k = &LimitKeyCount{Key: key}
			a.keys[key] = k
		}
		if shadow {
			a.WouldRefuse++
			k.WouldRefuse++
		} else {
			a.Refused++
			k.Refused++
		}
		if at.Before(a.First) {
			a.First = at
		}
		if at.After(a.Last) {
			a.Last = at
		}
	}
	for rows.Next() {
		var ms int64
		var key, limit, would string
		if err := rows.Scan(&ms, &key, &limit, &would); err != nil {
			return nil, fmt.Errorf("requestlog: limit counts: %w", err)
		}
		at := time.UnixMilli(ms).UTC()
		if limit != "" {
			add(limit, key, at, false)
		}
		for _, name := range limitNames(would) {
			add(name, key, at, true)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requestlog: limit counts: %w", err)
	}
	out := make(map[string]LimitCount, len(by))
	for name, a := range by {
		keys := make([]LimitKeyCount, 0, len(a.keys))
		for _, k := range a.keys {
			keys = append(keys, *k)
		}
		sort.Slice(keys, func(i, j int) bool {
			ni, nj := keys[i].Refused+keys[i].WouldRefuse, keys[j].Refused+keys[j].WouldRefuse
			if ni != nj {
				return ni > nj
			}
			return keys[i].Key < keys[j].Key
		})
		if len(keys) > limitCountKeys {
			keys = keys[:limitCountKeys]
		}
		a.Keys = keys
		out[name] = a.LimitCount
	}
	return out, nil
}

// limitNames reads a would_refuse column: a JSON array of limit names, or
// names separated by commas.
func limitNames(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == "[]" || s == "null" {
		return nil
	}
	var names []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &names) == nil {
		return names
	}
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}
