package sharedstate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/limits"
)

// Limits is a limits.Store whose counters live in Redis, so that a bound
// holds across every replica: rpm = 10 lets ten requests through the whole
// cluster, not ten per replica. Each call is one Lua script, which Redis
// runs atomically: Admit checks every counter the request touches and adds
// to them only if all admit, exactly as limits.Memory does in process. A
// busy counter far from its bounds is admitted from an allowance the
// script set aside for this replica, without a call (see allowance.go).
//
// While Redis is unreachable the replica counts in its own limits.Memory
// (each replica then enforces each bound on its own traffic alone) and
// no call fails; after it rejoins, Redis's counters apply again. A ticket
// admitted on one side and settled on the other releases its in-flight
// slot on the side that settles it, which only ever lowers a count.
type Limits struct {
	s     *State
	local *limits.Memory
	loc   *time.Location
	// allow are the replica's allowances; nil when Config.Allowance
	// turned them off.
	allow *allowances
}

// Limits returns the limit counters shared through s, with local as the
// replica's own counters while Redis is unreachable; the usd periods are
// calendar days and months in local's time zone.
func (s *State) Limits(local *limits.Memory) *Limits {
	l := &Limits{s: s, local: local, loc: local.Location()}
	if s.cfg.Allowance >= 0 {
		l.allow = newAllowances(l, cmp.Or(s.cfg.Allowance, DefaultAllowance))
	}
	return l
}

var _ limits.Store = (*Limits)(nil)

// Location is the time zone of the usd periods (GET /api/limits shows it).
func (l *Limits) Location() *time.Location { return l.loc }

// counterKey is the Redis key of a counter: a hash of its limit and value
// (a user, a session, a metadata value), so that keys have a bounded
// length and hold nothing a client sent. The "lc:" keys hold the packed
// form luaCounter reads; counters an older build kept as hashes under
// "l:" are never read and expire on their own.
func (l *Limits) counterKey(c *limits.Charge) string {
	h := sha256.New()
	h.Write([]byte(c.Limit))
	h.Write([]byte{0})
	h.Write([]byte(c.Each))
	var sum [sha256.Size]byte
	return l.s.cfg.Prefix + "lc:" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// indexKey is the Redis key of a limit's index: a sorted set of the each
// values of its counters, scored by when each counter expires, so that the
// admin API and the metrics can list a limit's counters without scanning
// Redis.
func (l *Limits) indexKey(limit string) string {
	sum := sha256.Sum256([]byte(limit))
	return l.s.cfg.Prefix + "li:" + hex.EncodeToString(sum[:16])
}

// periodArgs are a charge's usd period, as the scripts take it: the
// period name and its start and end in Unix seconds, computed here so that
// Redis needs no time zone.
func (l *Limits) periodArgs(args []any, b *limits.Bounds, now time.Time) []any {
	if b.Per == "" {
		return append(args, "", 0, 0)
	}
	start, next := limits.PeriodStart(b.Per, now, l.loc)
	return append(args, string(b.Per), start.Unix(), next.Unix())
}

// Admit implements limits.Store. A request whose every counter has an
// allowance with room is admitted in process (see allowance.go); any other
// is one script on Redis, which may grant the counters allowances besides.
func (l *Limits) Admit(ctx context.Context, now time.Time, charges []limits.Charge, tokens int64) (limits.Verdict, error) {
	if len(charges) == 0 || !l.s.up.Load() {
		return l.local.Admit(ctx, now, charges, tokens)
	}
	n := len(charges)
	keys := make([]string, 2*n)
	for i := range charges {
		keys[i] = l.counterKey(&charges[i])
	}
	var wants []int64
	gen := l.s.cacheGen.Load()
	if l.allow != nil {
		if v, ok := l.allow.take(now, charges, keys[:n], tokens); ok {
			return v, nil
		}
		wants = l.allow.wants(now, charges, keys[:n])
	}
	args := make([]any, 0, 3+10*n)
	args = append(args, now.Unix(), now.UnixMilli(), tokens)
	for i := range charges {
		c := &charges[i]
		keys[n+i] = l.indexKey(c.Limit)
		shadow := 0
		if c.Shadow {
			shadow = 1
		}
		args = append(args, shadow, c.Bounds.RPM, c.Bounds.TPM, c.Bounds.USDMicros, c.Bounds.Concurrency)
		args = l.periodArgs(args, &c.Bounds, now)
		var want int64
		if wants != nil {
			want = wants[i]
		}
		args = append(args, c.Each, want)
	}
	cctx, cancel := l.s.callCtx()
	defer cancel()
	res, err := admitScript.Run(cctx, l.s.rdb, keys, args...).Slice()
	if err != nil {
		l.s.fail(err)
		return l.local.Admit(ctx, now, charges, tokens)
	}
	v, grants, err := parseAdmit(res, charges, now, tokens)
	if err != nil {
		l.s.fail(err)
		return l.local.Admit(ctx, now, charges, tokens)
	}
	if grants != nil && l.allow != nil {
		l.allow.put(now, keys[:n], grants, gen)
	}
	return v, nil
}

// parseAdmit reads the admit script's answer: {0, index, bound, retry ms}
// for a refusal, or {1, r1, …, rn} where ri is 1 for a charge added,
// {requests, tokens} for a charge added and granted an allowance, and
// "bound:retry ms" for a shadow charge the request went over. grants is
// per charge what was granted, nil when nothing was.
func parseAdmit(res []any, charges []limits.Charge, now time.Time, tokens int64) (v limits.Verdict, grants [][2]int64, err error) {
	bad := fmt.Errorf("sharedstate: limits: unexpected script answer %v", res)
	if len(res) < 1 {
		return v, nil, bad
	}
	if ok, _ := res[0].(int64); ok == 0 {
		if len(res) != 4 {
			return v, nil, bad
		}
		i, _ := res[1].(int64)
		bound, _ := res[2].(string)
		ms, _ := res[3].(int64)
		if i < 1 || int(i) > len(charges) {
			return v, nil, bad
		}
		c := &charges[i-1]
		v.Refusal = &limits.Refusal{Limit: c.Limit, Each: c.Each, Bound: bound, RetryAfter: time.Duration(ms) * time.Millisecond}
		return v, nil, nil
	}
	if len(res) != 1+len(charges) {
		return v, nil, bad
	}
	v.Ticket = limits.Ticket{At: now, Tokens: tokens, Charges: make([]limits.Charge, 0, len(charges))}
	for i, r := range res[1:] {
		c := &charges[i]
		switch r := r.(type) {
		case int64:
			v.Ticket.Charges = append(v.Ticket.Charges, *c)
		case []any:
			g, ok := grantOf(r)
			if !ok {
				return limits.Verdict{}, nil, bad
			}
			v.Ticket.Charges = append(v.Ticket.Charges, *c)
			if grants == nil {
				grants = make([][2]int64, len(charges))
			}
			grants[i] = g
		case string:
			bound, ms, _ := strings.Cut(r, ":")
			n, _ := strconv.ParseInt(ms, 10, 64)
			v.WouldRefuse = append(v.WouldRefuse, limits.Refusal{Limit: c.Limit, Each: c.Each, Bound: bound, Shadow: true, RetryAfter: time.Duration(n) * time.Millisecond})
		default:
			return limits.Verdict{}, nil, bad
		}
	}
	return v, grants, nil
}

// Settle implements limits.Store. No answer waits on it, so it goes
// through the write queue (a pipeline) rather than a round trip of the
// request's own; it takes effect within milliseconds. Should the queue be
// full it runs at once. A request admitted on Redis that ends while Redis
// is unreachable is settled when the replica rejoins (its cost and tokens
// counted then), so that its concurrency slot is not kept there.
func (l *Limits) Settle(ctx context.Context, now time.Time, t limits.Ticket, tokens, usdMicros int64) error {
	if len(t.Charges) == 0 {
		return nil
	}
	again := func(now time.Time) write { return l.settleWrite(now, t, tokens, usdMicros) }
	if !l.s.up.Load() {
		if l.s.admittedShared(t.At) {
			l.s.hold(again)
			return nil
		}
		return l.local.Settle(ctx, now, t, tokens, usdMicros)
	}
	if !l.s.admittedShared(t.At) {
		return l.local.Settle(ctx, now, t, tokens, usdMicros)
	}
	w := l.settleWrite(now, t, tokens, usdMicros)
	w.again = again
	if l.s.tryEnqueue(w) {
		return nil
	}
	cctx, cancel := l.s.callCtx()
	defer cancel()
	if err := settleScript.Run(cctx, l.s.rdb, w.keys, w.args...).Err(); err != nil && err != redis.Nil {
		l.s.fail(err)
		return l.local.Settle(ctx, now, t, tokens, usdMicros)
	}
	return nil
}

// settleWrite is the settle script's call for t at now.
func (l *Limits) settleWrite(now time.Time, t limits.Ticket, tokens, usdMicros int64) write {
	keys := make([]string, 2*len(t.Charges))
	args := make([]any, 0, 5+6*len(t.Charges))
	args = append(args, now.Unix(), t.At.Unix(), t.Tokens, tokens, usdMicros)
	for i := range t.Charges {
		c := &t.Charges[i]
		keys[i] = l.counterKey(c)
		keys[len(t.Charges)+i] = l.indexKey(c.Limit)
		args = l.periodArgs(args, &c.Bounds, now)
		var h limits.Hold
		if t.Held != nil {
			h = t.Held[i]
		}
		args = append(args, c.Each, h.Sec, h.Tokens)
	}
	return write{op: opSettle, keys: keys, args: args}
}

// Usage implements limits.Store.
func (l *Limits) Usage(ctx context.Context, now time.Time, c limits.Charge) (limits.Usage, error) {
	if !l.s.up.Load() {
		return l.local.Usage(ctx, now, c)
	}
	args := l.periodArgs([]any{now.Unix()}, &c.Bounds, now)
	cctx, cancel := l.s.callCtx()
	defer cancel()
	res, err := usageScript.Run(cctx, l.s.rdb, []string{l.counterKey(&c)}, args...).Int64Slice()
	if err != nil || len(res) != 4 {
		if err == nil {
			err = fmt.Errorf("sharedstate: limits: unexpected usage answer %v", res)
		}
		l.s.fail(err)
		return l.local.Usage(ctx, now, c)
	}
	return limits.Usage{Requests: res[0], Tokens: res[1], InFlight: res[2], USDMicros: res[3]}, nil
}

// maxListed bounds the counters of one limit that Counters reads.
const maxListed = 10000

// Counters lists each limit's busiest counters at now, as
// limits.Memory.Counters does (GET /api/limits): the limit's index names
// its live counters, and one pipeline reads them. While the replica has
// fallen back, its own counters are listed.
func (l *Limits) Counters(now time.Time, bounds map[string]limits.Bounds, top int) map[string][]limits.CounterUsage {
	if !l.s.up.Load() {
		return l.local.Counters(now, bounds, top)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*l.s.cfg.Timeout)
	defer cancel()
	names := make([]string, 0, len(bounds))
	for name := range bounds {
		names = append(names, name)
	}
	sort.Strings(names)
	pipe := l.s.rdb.Pipeline()
	idx := make([]*redis.StringSliceCmd, len(names))
	for i, name := range names {
		idx[i] = pipe.ZRangeByScore(ctx, l.indexKey(name), &redis.ZRangeBy{Min: "(" + strconv.FormatInt(now.Unix(), 10), Max: "+inf", Count: maxListed})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		l.s.fail(err)
		return l.local.Counters(now, bounds, top)
	}
	type read struct {
		name, each string
		cmd        *redis.Cmd
	}
	var reads []read
	pipe = l.s.rdb.Pipeline()
	for i, name := range names {
		b := bounds[name]
		for _, each := range idx[i].Val() {
			c := limits.Charge{Limit: name, Each: each, Bounds: b}
			args := l.periodArgs([]any{now.Unix()}, &b, now)
			reads = append(reads, read{name, each, pipe.EvalSha(ctx, usageScript.Hash(), []string{l.counterKey(&c)}, args...)})
		}
	}
	if len(reads) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			l.s.fail(err)
			return l.local.Counters(now, bounds, top)
		}
	}
	out := make(map[string][]limits.CounterUsage, len(names))
	for _, r := range reads {
		v, err := r.cmd.Int64Slice()
		if err != nil || len(v) != 4 {
			continue
		}
		u := limits.Usage{Requests: v[0], Tokens: v[1], InFlight: v[2], USDMicros: v[3]}
		if u == (limits.Usage{}) {
			continue
		}
		out[r.name] = append(out[r.name], limits.CounterUsage{Each: r.each, Usage: u, Share: bounds[r.name].Share(u)})
	}
	limits.Busiest(out, top)
	return out
}

// Peaks is each limit's highest share among its counters at now, for
// llmgw_limit_use_ratio, as limits.Memory.Peaks gives it.
func (l *Limits) Peaks(now time.Time, bounds map[string]limits.Bounds) map[string]float64 {
	out := map[string]float64{}
	for name, cs := range l.Counters(now, bounds, 1) {
		if len(cs) > 0 {
			out[name] = cs[0].Share
		}
	}
	return out
}

// luaCounter is what the three scripts share: a counter is one Redis
// string, limits.Memory's counter packed with Redis's struct library, so
// that a call reads it with one GET and writes it with one SET, whatever
// the bounds (a hash of per-second fields cost a dozen fields to convert
// on every call, and most of a script's time is such conversions). The
// string is a header (the second the window was advanced to, the window's
// requests and tokens, the requests in flight, the usd spend of the period
// [ps, pe) of per, and until when the limit's index lists the counter),
// per's name, then one 20-byte entry per second of the window that saw
// requests, oldest first (second, requests, tokens): at most sixty, and
// one for a counter that sees a request a minute.
const luaCounter = `
local B, HF, EF, EN = 60, '<ddddddddB', '<I4dd', 20
-- load reads the counter at key, advanced to now, and whether it exists.
local function load(key, now)
  local c = {key = key, head = now, reqs = 0, toks = 0, infl = 0, usd = 0, ps = 0, pe = 0, ix = 0, per = '', win = '', dirty = false}
  local v = redis.call('GET', key)
  if not v then return c, false end
  local n, p
  c.head, c.reqs, c.toks, c.infl, c.usd, c.ps, c.pe, c.ix, n, p = struct.unpack(HF, v)
  c.per = string.sub(v, p, p + n - 1)
  c.win = string.sub(v, p + n)
  if now > c.head then
    c.head, c.dirty = now, true
    local w, i = c.win, 1
    while i < #w do
      local s, r, t = struct.unpack(EF, w, i)
      if s > now - B then break end
      c.reqs, c.toks = c.reqs - r, c.toks - t
      i = i + EN
    end
    if i > 1 then c.win = string.sub(w, i) end
  end
  return c, true
end
local function period(c, now, per, ps, pe)
  if per == '' then return end
  if per == c.per and now >= c.ps and now < c.pe then return end
  if per ~= c.per or ps ~= c.ps then c.usd = 0 end
  c.per, c.ps, c.pe, c.dirty = per, ps, pe, true
end
-- find returns the offset in c.win of second sec's entry, created when
-- missing (at its place, seconds ascending), or nil when sec is outside
-- the window (a clock far behind).
local function find(c, sec)
  if sec <= c.head - B or sec > c.head then return nil end
  local w = c.win
  local j = #w + 1
  while j > 1 do
    local s = struct.unpack('<I4', w, j - EN)
    if s == sec then return j - EN end
    if s < sec then break end
    j = j - EN
  end
  c.win = string.sub(w, 1, j - 1) .. struct.pack(EF, sec, 0, 0) .. string.sub(w, j)
  return j
end
-- add counts requests and tokens in second sec's entry.
local function add(c, sec, reqs, toks)
  local j = find(c, sec)
  if not j then return end
  local s, r, t = struct.unpack(EF, c.win, j)
  c.win = string.sub(c.win, 1, j - 1) .. struct.pack(EF, s, r + reqs, t + toks) .. string.sub(c.win, j + EN)
  c.reqs, c.toks, c.dirty = c.reqs + reqs, c.toks + toks, true
end
-- save writes the counter, when it changed, in one SET that also sets
-- its expiry: two minutes past the write, or a minute past its usd
-- period. The limit's index (idx, when given) is renewed only when the
-- counter's entry there would move by ten seconds or more.
local function save(c, now, idx, each)
  local ttl = 2 * B
  if c.per ~= '' and c.pe - now + B > ttl then ttl = c.pe - now + B end
  if idx and now + ttl - c.ix >= 10 then
    redis.call('ZADD', idx, now + ttl, each)
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
    if redis.call('TTL', idx) < ttl then redis.call('EXPIRE', idx, ttl) end
    c.ix, c.dirty = now + ttl, true
  end
  if not c.dirty then return end
  redis.call('SET', c.key, struct.pack(HF, c.head, c.reqs, c.toks, c.infl, c.usd, c.ps, c.pe, c.ix, #c.per) .. c.per .. c.win, 'EX', ttl)
end
-- sub takes up to reqs requests and toks tokens out of second sec's
-- entry, when it is in the window and has them: an allowance's unused
-- part handed back, or a request it held moved to its own second. It
-- never goes below zero (a counter Redis lost has nothing to give back).
local function sub(c, sec, reqs, toks)
  if sec <= c.head - B or sec > c.head then return end
  local w = c.win
  for i = 1, #w, EN do
    local s, r, t = struct.unpack(EF, w, i)
    if s == sec then
      local dr, dt = math.min(r, reqs), math.min(t, toks)
      c.win = string.sub(w, 1, i - 1) .. struct.pack(EF, s, r - dr, t - dt) .. string.sub(w, i + EN)
      c.reqs, c.toks, c.dirty = c.reqs - dr, c.toks - dt, true
      return
    end
    if s > sec then return end
  end
end
-- grant sets aside up to want requests (with per tokens each when tpm
-- bounds the counter) for one replica to admit without asking, counted
-- at now as if admitted. It grants at most a 64th of what the bounds
-- leave, and nothing to a counter within 64 requests of its rpm: near a
-- bound every request is counted here, one at a time, and a bound admits
-- exactly. The caller grants only counters that bound neither cost nor
-- concurrency.
local function grant(c, now, rpm, tpm, want, per)
  if want <= 0 then return 0, 0 end
  local g = want
  if rpm > 0 then g = math.min(g, math.floor((rpm - c.reqs) / 64)) end
  if g < 1 then return 0, 0 end
  local t = 0
  if tpm > 0 then
    if per < 1 then per = 1 end
    g = math.min(g, math.floor(math.floor((tpm - c.toks) / 64) / per))
    if g < 1 then return 0, 0 end
    t = g * per
  end
  add(c, now, g, t)
  return g, t
end
`

// admitScript: KEYS are the n counters, then their n limits' indexes;
// ARGV: now (s), now (ms), tokens, then per charge shadow, rpm, tpm, usd,
// concurrency, per, period start, period end, each value, and the
// allowance wanted (0 for none).
var admitScript = redis.NewScript(luaCounter + `
local now, nowms, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
-- expiry: ms until need units (requests: k = 2, tokens: k = 3) of the
-- window leave it, oldest first.
local function expiry(c, need, k)
  local got, w = 0, c.win
  for i = 1, #w, EN do
    local e = {struct.unpack(EF, w, i)}
    got = got + e[k]
    if got >= need then
      local d = (e[1] + B) * 1000 - nowms
      if d > 0 then return d end
      return 1000
    end
  end
  return B * 1000
end
local function over(c, a)
  if a.rpm > 0 and c.reqs + 1 > a.rpm then return 'rpm', expiry(c, c.reqs + 1 - a.rpm, 2) end
  if a.tpm > 0 and c.toks > 0 and c.toks + tokens > a.tpm then
    local need = c.toks + tokens - a.tpm
    if need > c.toks then need = c.toks end
    return 'tpm', expiry(c, need, 3)
  end
  if a.usd > 0 and c.usd >= a.usd then return 'usd', c.pe * 1000 - nowms end
  if a.conc > 0 and c.infl + 1 > a.conc then return 'concurrency', 1000 end
  return nil, 0
end
local n = #KEYS / 2
local cs, as = {}, {}
for k = 1, n do
  local o = 3 + (k - 1) * 10
  local a = {shadow = ARGV[o+1] == '1', rpm = tonumber(ARGV[o+2]), tpm = tonumber(ARGV[o+3]), usd = tonumber(ARGV[o+4]),
    conc = tonumber(ARGV[o+5]), per = ARGV[o+6], ps = tonumber(ARGV[o+7]), pe = tonumber(ARGV[o+8]), each = ARGV[o+9],
    want = tonumber(ARGV[o+10])}
  local c = load(KEYS[k], now)
  period(c, now, a.per, a.ps, a.pe)
  cs[k], as[k] = c, a
  if not a.shadow then
    local bound, retry = over(c, a)
    if bound then
      for j = 1, k do if cs[j].dirty then save(cs[j], now) end end
      return {0, k, bound, retry}
    end
  end
end
local out = {1}
for k = 1, n do
  local c, a = cs[k], as[k]
  local bound, retry = nil, 0
  if a.shadow then bound, retry = over(c, a) end
  if bound then
    out[k+1] = bound .. ':' .. retry
  else
    add(c, now, 1, tokens)
    c.infl, c.dirty = c.infl + 1, true
    out[k+1] = 1
    if a.want > 0 and a.usd == 0 and a.conc == 0 then
      local g, t = grant(c, now, a.rpm, a.tpm, a.want, tokens)
      if g > 0 then out[k+1] = {g, t} end
    end
  end
  save(c, now, KEYS[n + k], a.each)
end
return out
`)

// settleScript: KEYS are the ticket's n counters, then their n limits'
// indexes; ARGV: now (s), the admission's second, the estimate, the real
// tokens, the cost in micro-USD, then per charge per, period start, period
// end, each value, and for a request admitted from an allowance the second
// it was held in and the tokens it took (0, 0 otherwise).
var settleScript = redis.NewScript(luaCounter + `
local now, at, est, tokens, usd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = #KEYS / 2
for k = 1, n do
  local o = 5 + (k - 1) * 6
  local per, ps, pe = ARGV[o+1], tonumber(ARGV[o+2]), tonumber(ARGV[o+3])
  local held, htoks = tonumber(ARGV[o+5]), tonumber(ARGV[o+6])
  local c = load(KEYS[k], now)
  period(c, now, per, ps, pe)
  if held > 0 then
    -- Admitted from an allowance: the request it held becomes the
    -- request admitted at at, and the real tokens count at now. It took
    -- no in-flight slot (no allowance is granted under a concurrency
    -- bound).
    sub(c, held, 1, htoks)
    add(c, at, 1, 0)
    if tokens > 0 then add(c, now, 0, tokens) end
  else
    -- The estimate leaves the admission's entry, while in the window,
    -- and the real tokens count at now: one entry rewritten when both
    -- are the same second, as they are for most requests.
    local d, j = 0, find(c, at)
    if j then
      local _, _, t = struct.unpack(EF, c.win, j)
      d = math.min(est, t)
    end
    if tokens < 0 then tokens = 0 end
    if at == now then
      if d > 0 or tokens > 0 then add(c, now, 0, tokens - d) end
    else
      if d > 0 then add(c, at, 0, -d) end
      if tokens > 0 then add(c, now, 0, tokens) end
    end
    if c.infl > 0 then c.infl = c.infl - 1 end
  end
  if per ~= '' then c.usd = c.usd + usd end
  c.dirty = true
  save(c, now, KEYS[n + k], ARGV[o+4])
end
return 1
`)

// usageScript: KEYS[1] is the counter; ARGV: now (s), per, period start,
// period end. It answers {requests, tokens, in flight, usd}.
var usageScript = redis.NewScript(luaCounter + `
local now = tonumber(ARGV[1])
local c, ok = load(KEYS[1], now)
if not ok then return {0, 0, 0, 0} end
local usd = 0
if ARGV[2] ~= '' then
  period(c, now, ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
  usd = c.usd
end
save(c, now)
return {c.reqs, c.toks, c.infl, usd}
`)

// grantScript sets aside allowances (see allowance.go): KEYS are n
// counters, then their n limits' indexes; ARGV: now (s), the tokens to set
// aside per request, then per counter rpm, tpm, the requests wanted, each
// value. It answers {requests, tokens} granted per counter.
var grantScript = redis.NewScript(luaCounter + `
local now, per = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = #KEYS / 2
local out = {}
for k = 1, n do
  local o = 2 + (k - 1) * 4
  local c = load(KEYS[k], now)
  local g, t = grant(c, now, tonumber(ARGV[o+1]), tonumber(ARGV[o+2]), tonumber(ARGV[o+3]), per)
  out[k] = {g, t}
  save(c, now, KEYS[n + k], ARGV[o+4])
end
return out
`)

// returnScript hands back what allowances did not use: KEYS are counters;
// ARGV: now (s), then per counter the second the allowance was held in,
// its requests and tokens left.
var returnScript = redis.NewScript(luaCounter + `
local now = tonumber(ARGV[1])
for k = 1, #KEYS do
  local o = 1 + (k - 1) * 3
  local c, ok = load(KEYS[k], now)
  if ok then
    sub(c, tonumber(ARGV[o+1]), tonumber(ARGV[o+2]), tonumber(ARGV[o+3]))
    save(c, now)
  end
end
return 1
`)
