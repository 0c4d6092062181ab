// Pure formatting and shaping helpers. No Vue, no DOM: unit-tested directly.

import type { Counters, SeriesPoint } from './types'

/** A range the Overview page offers, with the query it sends. */
export interface Range {
  label: string
  /** Go duration for ?since= */
  since: string
  /** Go duration for ?bucket= */
  bucket: string
}

/** The Overview ranges; durations are in Go syntax so the server can time.ParseDuration them. */
export const RANGES: readonly Range[] = [
  { label: '1h', since: '1h', bucket: '1m' },
  { label: '24h', since: '24h', bucket: '1h' },
  { label: '7d', since: '168h', bucket: '6h' },
  { label: '30d', since: '720h', bucket: '24h' },
]

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Formats an integer with thousands separators: 1234567 → "1,234,567". */
export function formatInt(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–'
  return intFmt.format(Math.round(n))
}

/** Formats a count compactly: 999 → "999", 12345 → "12.3k", 4500000 → "4.5M". */
export function formatCompact(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–'
  const a = Math.abs(n)
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ]
  for (const [scale, suffix] of units) {
    if (a >= scale) {
      const v = n / scale
      return `${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')}${suffix}`
    }
  }
  return String(Math.round(n))
}

/**
 * Formats US dollars with precision that suits LLM prices: cents from $1 up,
 * four significant digits (at least cents) below. null (unpriced) is "–".
 */
export function formatUSD(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–'
  if (n === 0) return '$0'
  const a = Math.abs(n)
  const sign = n < 0 ? '-' : ''
  if (a >= 1) return `${sign}$${a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
  if (a < 0.000001) return `${sign}<$0.000001`
  // Four significant digits, trailing zeros trimmed, but never fewer than cents.
  const digits = a.toPrecision(4).replace(/0+$/, '').replace(/\.$/, '')
  const [, frac = ''] = digits.split('.')
  return `${sign}$${frac.length < 2 ? a.toFixed(2) : digits}`
}

/** Formats milliseconds: 850 → "850 ms", 1234 → "1.23 s", 0 or absent → "–". */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms <= 0) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  return formatSeconds(ms / 1000)
}

/** Formats a duration in seconds: 65 → "1m 05s", 3700 → "1h 01m", 0 → "0s". */
export function formatSeconds(s: number | null | undefined): string {
  if (s == null || !Number.isFinite(s) || s <= 0) return '0s'
  const t = Math.ceil(s)
  if (t < 60) return `${t}s`
  const pad = (n: number) => String(n).padStart(2, '0')
  if (t < 3600) return `${Math.floor(t / 60)}m ${pad(t % 60)}s`
  return `${Math.floor(t / 3600)}h ${pad(Math.floor((t % 3600) / 60))}m`
}

/** Formats a ratio in [0, 1] as a percentage: 0.0123 → "1.2%". */
export function formatPercent(r: number | null | undefined): string {
  if (r == null || !Number.isFinite(r)) return '–'
  const p = r * 100
  if (p === 0) return '0%'
  if (p < 0.1) return '<0.1%'
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`
}

/** A limit's bounds in one line: "rpm 60 · usd $20.00/day · concurrency 4". */
export function limitBounds(l: {
  rpm?: number
  tpm?: number
  usd?: number
  per?: string
  concurrency?: number
}): string {
  const parts: string[] = []
  if (l.rpm) parts.push(`rpm ${formatInt(l.rpm)}`)
  if (l.tpm) parts.push(`tpm ${formatInt(l.tpm)}`)
  if (l.usd) parts.push(`usd ${formatUSD(l.usd)}/${l.per || 'day'}`)
  if (l.concurrency) parts.push(`concurrency ${formatInt(l.concurrency)}`)
  return parts.join(' · ') || '–'
}

/** Formats an RFC 3339 time as local "YYYY-MM-DD HH:MM:SS"; bad or empty input → "–". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime()) || d.getFullYear() <= 1) return '–'
  const pad = (n: number) => String(n).padStart(2, '0')
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  )
}

/**
 * Labels a bucket start (unix seconds) for a chart axis: time of day for
 * buckets under a day, month/day (plus hour when sub-daily spans days) otherwise.
 */
export function bucketLabel(t: number, bucketSeconds: number, spanSeconds: number): string {
  const d = new Date(t * 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
  if (bucketSeconds >= 86400) return md
  if (spanSeconds > 86400) return `${md} ${hm}`
  return hm
}

/** A Counters value with every field zero. */
export function zeroCounters(): Counters {
  return {
    requests: 0,
    errors: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_read_share: 0,
    reasoning_tokens: 0,
    cost_usd: 0,
    unpriced: 0,
  }
}

/**
 * Returns the series with a point for every bucket from since to until
 * (unix seconds), inserting zero points where the server sent none, so
 * charts keep a true time axis. The grid follows the phase of the first
 * point. Points come back sorted by t; when some do not fit the grid, or
 * more than maxPoints buckets would be needed, the series is returned sorted
 * but otherwise as sent.
 */
export function fillSeries(
  series: SeriesPoint[],
  since: number,
  until: number,
  bucket: number,
  maxPoints = 2000,
): SeriesPoint[] {
  const sorted = [...series].sort((a, b) => a.t - b.t)
  if (!(bucket > 0) || !(until > since) || (until - since) / bucket > maxPoints) return sorted
  const byT = new Map(sorted.map((p) => [p.t, p]))
  // Align the grid to the server's buckets (epoch- or since-aligned alike).
  const phase = sorted.length > 0 ? ((sorted[0].t % bucket) + bucket) % bucket : 0
  const start = Math.floor((since - phase) / bucket) * bucket + phase
  const out: SeriesPoint[] = []
  for (let t = start; t < until; t += bucket) {
    out.push(byT.get(t) ?? { t, ...zeroCounters() })
    byT.delete(t)
  }
  // Points off the grid or outside [since, until) mean the server buckets
  // differently than assumed: show what it sent rather than guess.
  return byT.size > 0 ? sorted : out
}

/** Parses an RFC 3339 string to unix seconds; NaN when invalid. */
export function unixSeconds(iso: string): number {
  return Math.floor(new Date(iso).getTime() / 1000)
}

/**
 * Returns "ok" for 2xx statuses (and the words "ok"/"success", which the
 * eval simulator may report) and "error" otherwise.
 */
export function statusKind(status: number | string): 'ok' | 'error' {
  if (typeof status === 'string') {
    const s = status.trim().toLowerCase()
    if (s === 'ok' || s === 'success') return 'ok'
    status = s === '' ? NaN : Number(s)
  }
  return status >= 200 && status < 300 ? 'ok' : 'error'
}

/** Error ratio of a counters value; 0 when there are no requests. */
export function errorRate(c: Pick<Counters, 'requests' | 'errors'>): number {
  return c.requests > 0 ? c.errors / c.requests : 0
}

/**
 * Names a request's protocols: the client's alone when the upstream spoke
 * it too (or none was called), else "client → upstream".
 */
export function protocolLabel(protocolIn: string, protocolOut: string): string {
  if (!protocolOut || protocolOut === protocolIn) return protocolIn || '–'
  return `${protocolIn || '?'} → ${protocolOut}`
}

/**
 * The text of a table with no rows: "loading…" until the first answer
 * arrives (nothing after a failed one: the error is shown instead), then
 * what an empty answer means.
 */
export function emptyText(loaded: boolean, failed: boolean, empty: string): string {
  if (loaded) return empty
  return failed ? '' : 'loading…'
}

/**
 * What a requested model was served as, from a summary's by_served_model:
 * "" when always by its own name (or never served), the served name when
 * one other, "n models" when several.
 */
export function servedAs(served: { model: string; served_model: string }[] | null | undefined, model: string): string {
  const names = new Set((served ?? []).filter((s) => s.model === model && s.served_model && s.served_model !== model).map((s) => s.served_model))
  if (names.size === 0) return ''
  if (names.size === 1) return [...names][0]
  return `${names.size} models`
}

/**
 * The policy file to show first: the entry (main.star, else policies.star,
 * whatever follows ".star"), else the first file that is not a test.
 */
export function entryFile(files: string[]): string {
  for (const base of ['main.star', 'policies.star']) {
    const f = files.find((n) => n === base || n.startsWith(base + '.'))
    if (f) return f
  }
  return files.find((n) => !/_test\.star/.test(n)) ?? files[0] ?? ''
}
