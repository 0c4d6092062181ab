import { describe, expect, it } from 'vitest'
import {
  bucketLabel,
  emptyText,
  entryFile,
  errorRate,
  fillSeries,
  formatCompact,
  formatInt,
  formatMs,
  formatPercent,
  formatSeconds,
  formatTime,
  formatUSD,
  limitBounds,
  protocolLabel,
  servedAs,
  statusKind,
  zeroCounters,
} from './format'
import type { SeriesPoint } from './types'

// table runs fn over [input, want] pairs with the house message format.
function table<I, O>(name: string, fn: (i: I) => O, cases: [I, O][]) {
  describe(name, () => {
    it.each(cases)(`${name}(%j) = %j`, (input, want) => {
      expect(fn(input), `${name}(${JSON.stringify(input)})`).toEqual(want)
    })
  })
}

table('formatInt', formatInt, [
  [0, '0'],
  [999, '999'],
  [1234567, '1,234,567'],
  [12.6, '13'],
  [null, '–'],
  [Number.NaN, '–'],
])

table('formatCompact', formatCompact, [
  [0, '0'],
  [999, '999'],
  [1000, '1k'],
  [12345, '12.3k'],
  [4_500_000, '4.5M'],
  [123_456_789, '123M'],
  [2e9, '2B'],
  [-1500, '-1.5k'],
  [undefined, '–'],
])

table('formatUSD', formatUSD, [
  [0, '$0'],
  [1234.5, '$1,234.50'],
  [1, '$1.00'],
  [0.5, '$0.50'],
  [0.123, '$0.123'],
  [0.1, '$0.10'],
  [0.0123456, '$0.01235'],
  [0.000042, '$0.000042'],
  [0.0000001, '<$0.000001'],
  [-2, '-$2.00'],
  [null, '–'],
])

table('formatMs', formatMs, [
  [0, '–'],
  [850, '850 ms'],
  [1234, '1.23 s'],
  [90_000, '1m 30s'],
  [null, '–'],
])

table('formatSeconds', formatSeconds, [
  [0, '0s'],
  [4.2, '5s'],
  [65, '1m 05s'],
  [3700, '1h 01m'],
])

table('formatPercent', formatPercent, [
  [0, '0%'],
  [0.0005, '<0.1%'],
  [0.0123, '1.2%'],
  [0.5, '50%'],
  [1, '100%'],
])

table('limitBounds', limitBounds, [
  [{}, '–'],
  [{ rpm: 60 }, 'rpm 60'],
  [{ usd: 20, per: 'month' }, 'usd $20.00/month'],
  [{ rpm: 1000, tpm: 2500000, usd: 0.5, per: 'day', concurrency: 4 }, 'rpm 1,000 · tpm 2,500,000 · usd $0.50/day · concurrency 4'],
])

table('statusKind', statusKind, [
  [200, 'ok'],
  [204, 'ok'],
  [429, 'error'],
  [0, 'error'],
  ['200', 'ok'],
  ['OK', 'ok'],
  ['error', 'error'],
  ['', 'error'],
])

describe('formatTime', () => {
  it('formats a valid time in local YYYY-MM-DD HH:MM:SS', () => {
    const d = new Date(2026, 10, 25, 9, 5, 7) // local time
    expect(formatTime(d.toISOString())).toBe('2026-11-25 09:05:07')
  })
  it.each(['', 'not a time', '0001-01-01T00:00:00Z'])('formatTime(%j) = "–"', (s) => {
    expect(formatTime(s)).toBe('–')
  })
})

describe('bucketLabel', () => {
  const t = new Date(2026, 10, 25, 14, 30).getTime() / 1000
  it('shows time of day for sub-daily buckets within a day', () => {
    expect(bucketLabel(t, 3600, 86400)).toBe('14:30')
  })
  it('adds the date when the span is longer than a day', () => {
    expect(bucketLabel(t, 21600, 7 * 86400)).toBe('11-25 14:30')
  })
  it('shows only the date for daily buckets', () => {
    expect(bucketLabel(t, 86400, 30 * 86400)).toBe('11-25')
  })
})

describe('fillSeries', () => {
  const pt = (t: number, requests: number): SeriesPoint => ({ ...zeroCounters(), t, requests })

  it('inserts zero buckets for gaps and sorts', () => {
    const got = fillSeries([pt(7200, 5), pt(0, 1)], 0, 4 * 3600, 3600)
    expect(got.map((p) => [p.t, p.requests])).toEqual([
      [0, 1],
      [3600, 0],
      [7200, 5],
      [10800, 0],
    ])
  })

  it('follows the phase of the server buckets', () => {
    const got = fillSeries([pt(130, 2)], 10, 250, 60)
    expect(got.map((p) => p.t)).toEqual([10, 70, 130, 190])
    expect(got[2].requests).toBe(2)
  })

  it('returns the points as sent when they do not fit one grid', () => {
    const sent = [pt(60, 1), pt(0, 1), pt(90, 1)]
    expect(fillSeries(sent, 0, 120, 60).map((p) => p.t)).toEqual([0, 60, 90])
  })

  it('does not loop on a bad bucket or range', () => {
    expect(fillSeries([pt(5, 1)], 0, 100, 0)).toHaveLength(1)
    expect(fillSeries([], 100, 0, 10)).toEqual([])
    expect(fillSeries([], 0, 1e9, 1)).toEqual([]) // over maxPoints
  })

  it('fills an empty series with zeros', () => {
    expect(fillSeries([], 0, 180, 60)).toEqual([
      { ...zeroCounters(), t: 0 },
      { ...zeroCounters(), t: 60 },
      { ...zeroCounters(), t: 120 },
    ])
  })
})

describe('errorRate', () => {
  it('is errors over requests, and 0 without requests', () => {
    expect(errorRate({ requests: 8, errors: 2 })).toBe(0.25)
    expect(errorRate({ requests: 0, errors: 0 })).toBe(0)
  })
})

describe('protocolLabel', () => {
  it.each([
    ['openai', 'openai', 'openai'],
    ['anthropic', 'openai', 'anthropic → openai'],
    ['gemini', '', 'gemini'], // refused before any upstream
    ['', '', '–'],
  ])('%s, %s → %s', (i, o, want) => {
    expect(protocolLabel(i, o)).toBe(want)
  })
})

describe('emptyText', () => {
  it('says loading… until loaded, nothing after a failure, then the empty text', () => {
    expect(emptyText(false, false, 'No requests yet.')).toBe('loading…')
    expect(emptyText(false, true, 'No requests yet.')).toBe('')
    expect(emptyText(true, false, 'No requests yet.')).toBe('No requests yet.')
    expect(emptyText(true, true, 'No requests yet.')).toBe('No requests yet.')
  })
})

describe('servedAs', () => {
  const served = [
    { model: 'a', served_model: 'a' },
    { model: 'b', served_model: 'b-2025' },
    { model: 'b', served_model: '' },
    { model: 'c', served_model: 'c-1' },
    { model: 'c', served_model: 'c-2' },
  ]
  it.each([
    ['a', ''],
    ['b', 'b-2025'],
    ['c', '2 models'],
    ['d', ''],
  ])('%s → %j', (model, want) => {
    expect(servedAs(served, model)).toBe(want)
  })
  it('copes with null', () => expect(servedAs(null, 'a')).toBe(''))
})

describe('entryFile', () => {
  it.each([
    [['lib/x.star', 'main.star', 'main_test.star'], 'main.star'],
    [['a.star', 'policies.star.example', 'policies_test.star.example'], 'policies.star.example'],
    [['lib/x_test.star', 'lib/y.star'], 'lib/y.star'],
    [[], ''],
  ])('%j → %s', (files, want) => {
    expect(entryFile(files)).toBe(want)
  })
})
