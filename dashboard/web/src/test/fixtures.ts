// Canned admin API answers for component tests, shaped like the gateway's.
import type { Cluster, Limits, PolicyStatus, Providers, RequestDetail, RequestPage, Summary } from '../lib/types'

const c = (requests: number, errors: number, input: number, output: number, cost: number) => ({
  requests,
  errors,
  input_tokens: input,
  output_tokens: output,
  cache_read_tokens: 1000,
  cache_write_tokens: 200,
  cache_read_share: 0,
  reasoning_tokens: 50,
  cost_usd: cost,
  unpriced: 0,
})

export const summary: Summary = {
  since: '2026-11-24T22:00:00Z',
  until: '2026-11-25T22:00:00Z',
  bucket_seconds: 3600,
  totals: { ...c(1234567, 89, 987654321, 12345678, 42.5), unpriced: 3 },
  series: [
    { t: Date.parse('2026-11-25T10:00:00Z') / 1000, ...c(100, 2, 5000, 900, 0.5) },
    { t: Date.parse('2026-11-25T12:00:00Z') / 1000, ...c(300, 0, 15000, 2700, 1.5) },
  ],
  by_model: [{ model: 'gpt-4o-mini', ...c(1000000, 80, 900000000, 10000000, 40), cache_read_share: 0.0004 }],
  by_served_model: [
    { model: 'gpt-4o-mini', served_model: 'gpt-4o-mini-2024-07-18', ...c(999990, 75, 900000000, 10000000, 40) },
    { model: 'gpt-4o-mini', served_model: '', ...c(10, 5, 0, 0, 0) },
  ],
  by_provider: [
    { provider: 'openai', ...c(1000000, 80, 900000000, 10000000, 40), cache_read_share: 0.8125, attempts: 1000120, attempt_errors: 200, failovers: 120 },
    { provider: 'demo', ...c(234567, 9, 87654321, 2345678, 2.5), attempts: 234567, attempt_errors: 9, failovers: 0 },
    // Failed over twice, served nothing.
    { provider: 'anthropic', ...c(0, 0, 0, 0, 0), attempts: 2, attempt_errors: 2, failovers: 2 },
  ],
  by_key: [{ key: 'team-a', ...c(1234567, 89, 987654321, 12345678, 42.5) }],
  sticky_hits_session: 1200,
  sticky_hits_key: 34567,
}

export const item = {
  request_id: 'req-1',
  time: '2026-11-25T21:59:00Z',
  key: 'team-a',
  model: 'gpt-4o-mini',
  upstream_model: 'gpt-4o-mini-2024-07-18',
  provider: 'openai',
  protocol_in: 'openai',
  protocol_out: 'openai',
  stream: true,
  status: 200,
  error_class: '',
  error: '',
  latency_ms: 812,
  ttft_ms: 240,
  input_tokens: 1200,
  output_tokens: 85,
  cache_read_tokens: 1024,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  cost_usd: 0.000231,
  usage_estimated: false,
}

export const page: RequestPage = {
  total: 120,
  items: [item, { ...item, request_id: 'req-2', protocol_in: 'anthropic', status: 429, error_class: 'rate_limit', cost_usd: null }],
}

export const detail: RequestDetail = {
  ...item,
  attempts: [
    { n: 1, provider: 'anthropic', model: 'claude', status: 529, class: 'overloaded', error: 'overloaded', latency_ms: 120, first_byte: false },
    { n: 2, provider: 'openai', model: 'gpt-4o-mini', status: 200, class: '', error: '', latency_ms: 690, first_byte: true },
  ],
  notes: ['fallback: anthropic overloaded', 'picked openai'],
  policy_hash: 'abc123',
  sticky_key: 'conv-9',
  sticky: 'hit',
  price_source: 'builtin',
  features: { has_tools: false },
}

export const providers: Providers = {
  providers: [
    { name: 'openai', kind: 'openai', state: 'healthy', cooldown_left_s: 0, error_rate: 0.01, latency_ms: 420, in_flight: 2, requests: 1000, failures: 10, last_error: '' },
    { name: 'anthropic', kind: 'anthropic', state: 'cooldown', cooldown_left_s: 42, error_rate: 0.5, latency_ms: 0, in_flight: 0, requests: 10, failures: 5, last_error: '529 overloaded' },
  ],
  sticky_bindings: 7,
}

export const policy: PolicyStatus = {
  hash: 'h-42',
  loaded_at: '2026-11-25T20:00:00Z',
  files: ['lib/route.star', 'main.star'],
  last_error: '',
  last_error_at: '',
  failed_tests: [],
  reloads: 3,
  reload_failures: 0,
  sources: [
    { file: 'lib/route.star', source: 'def pick(p):\n    return [p]\n' },
    { file: 'main.star', source: 'load("lib/route.star", "pick")\nd = provider("d", kind = "demo")\n\ndef route(req, ctx):\n    return pick(d)\n' },
  ],
}

export const limits: Limits = {
  since: '2026-11-24T22:00:00Z',
  until: '2026-11-25T22:00:00Z',
  tz: 'Europe/Paris',
  table: { counters: 1234, bound: 262144, evicted: 7 },
  limits: [
    {
      name: 'team-daily',
      usd: 20,
      per: 'day',
      each: 'key',
      shadow: false,
      use: 1.002,
      counters: [
        { each: 'research', requests: 3, tokens: 9000, usd: 20.04, in_flight: 1, share: 1.002 },
        { each: 'support', requests: 1, tokens: 100, usd: 2.5, in_flight: 0, share: 0.125 },
      ],
      refused: 51,
      would_refuse: 0,
    },
    { name: 'ci-rpm', rpm: 30, keys: ['ci'], shadow: false, wait_s: 5, use: 0, counters: [], refused: 0, would_refuse: 0 },
    {
      name: 'team-rpm',
      rpm: 60,
      each: 'key',
      shadow: true,
      use: 0.5,
      counters: [{ each: 'support', requests: 30, tokens: 600, usd: 0, in_flight: 0, share: 0.5 }],
      refused: 0,
      would_refuse: 10,
    },
  ],
}

export const cluster: Cluster = {
  self: 'gw-1',
  state: {
    backend: 'redis',
    addr: 'redis:6379',
    shared: true,
    since: '2026-11-25T20:00:00Z',
    allowance_admits: 4200,
    fallbacks: 1,
    rejoins: 1,
    errors: 4,
    dropped: 0,
  },
  policy_hash: 'aaaaaaaaaaaaaaaa',
  drift: true,
  replicas: [
    { id: 'gw-1', policy_hash: 'aaaaaaaaaaaaaaaa', version: 'v1.2.0', state: 'redis', shared: true, started_at: '2026-11-25T19:00:00Z', last_seen: '2026-11-25T20:00:00Z', self: true, drift: false },
    { id: 'gw-2', policy_hash: 'aaaaaaaaaaaaaaaa', version: 'v1.2.0', state: 'redis', shared: true, started_at: '2026-11-25T19:00:00Z', last_seen: '2026-11-25T20:00:00Z', drift: false },
    { id: 'gw-3', policy_hash: 'bbbbbbbbbbbbbbbb', version: 'v1.1.0', state: 'redis', shared: true, started_at: '2026-11-25T19:00:00Z', last_seen: '2026-11-25T20:00:00Z', drift: true },
  ],
}
