// Wire shapes of the gateway's admin API (/api/...). They mirror the JSON
// that gateway/admin.go serves; keep them in step with requestlog's query
// result types.

/** Counters aggregated over a set of requests. */
export interface Counters {
  requests: number
  errors: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  /**
   * Share of all input tokens (uncached, cache reads, cache writes) read
   * from a provider's prompt cache, 0 to 1.
   */
  cache_read_share: number
  reasoning_tokens: number
  cost_usd: number
  /** Requests that used tokens of a model with no price (not in cost_usd). */
  unpriced: number
}

/** One time bucket of a summary; t is the bucket start in unix seconds. */
export interface SeriesPoint extends Counters {
  t: number
}

/** GET /api/summary */
export interface Summary {
  since: string
  until: string
  bucket_seconds: number
  totals: Counters
  series: SeriesPoint[]
  by_model: (Counters & { model: string })[]
  /** Requested model by the model sent upstream ("" when none was called). */
  by_served_model: (Counters & { model: string; served_model: string })[]
  by_provider: ProviderCounters[]
  by_key: (Counters & { key: string })[]
  /**
   * Requests whose sticky binding decided the pick, by what bound them: a
   * session, or the client key alone (no session; the default sticky key
   * then binds every request of that key to one provider).
   */
  sticky_hits_session: number
  sticky_hits_key: number
  /** The answering replica's request-log writer (absent without one). */
  log_writer?: LogWriter
}

/**
 * A request-log writer's counters: rows held in memory while PostgreSQL is
 * unreachable (`buffered`, `unavailable`), and rows the log lost (`shed`
 * past its queue or buffer, `failed` refused by the database).
 */
export interface LogWriter {
  backend: 'sqlite' | 'postgres'
  queued: number
  buffered: number
  buffered_bytes: number
  unavailable: boolean
  outages: number
  written: number
  shed: number
  failed: number
}

/**
 * A provider's counters: the requests it served or failed last, and every
 * upstream attempt made to it (those it failed and the request moved on
 * from included).
 */
export interface ProviderCounters extends Counters {
  provider: string
  attempts: number
  attempt_errors: number
  failovers: number
}

/** One logged request, as listed by GET /api/requests. */
export interface RequestItem {
  request_id: string
  time: string
  key: string
  model: string
  upstream_model: string
  provider: string
  protocol_in: string
  protocol_out: string
  stream: boolean
  status: number
  error_class: string
  error: string
  latency_ms: number
  ttft_ms: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  reasoning_tokens: number
  cost_usd: number | null
  usage_estimated: boolean
}

/** GET /api/requests */
export interface RequestPage {
  total: number
  items: RequestItem[]
}

/** One upstream attempt of a request. */
export interface Attempt {
  n: number
  provider: string
  model: string
  status: number
  class: string
  error: string
  latency_ms: number
  first_byte: boolean
}

/** GET /api/requests/{id} */
export interface RequestDetail extends RequestItem {
  attempts: Attempt[]
  notes: string[]
  policy_hash: string
  sticky_key: string
  sticky: 'hit' | 'miss' | ''
  price_source: string
  features: Record<string, unknown>
}

/** Filters accepted by GET /api/requests; empty strings mean "any". */
export interface RequestFilter {
  limit: number
  offset: number
  model: string
  provider: string
  key: string
  status: '' | 'ok' | 'error'
  since: string
}

/** Health of one provider. */
export interface ProviderHealth {
  name: string
  kind: string
  state: 'healthy' | 'cooldown' | 'half_open'
  cooldown_left_s: number
  error_rate: number
  latency_ms: number
  in_flight: number
  requests: number
  failures: number
  last_error: string
}

/** GET /api/providers */
export interface Providers {
  providers: ProviderHealth[]
  sticky_bindings: number
}

/** Where the shared state stands: backend "local" alone, "redis" with --state. */
export interface StateStatus {
  backend: string
  addr?: string
  /** False while the replica serves from its own state (Redis unreachable) or has none to share. */
  shared: boolean
  since: string
  fallbacks?: number
  rejoins?: number
  errors?: number
  dropped?: number
  /** Requests admitted from this replica's limit allowances, without a round trip. */
  allowance_admits?: number
  last_error?: string
}

/** One replica in the cluster registry. */
export interface Replica {
  id: string
  policy_hash: string
  version: string
  state: string
  shared: boolean
  started_at: string
  last_seen: string
  self?: boolean
  /** Serves another policy than the majority's. */
  drift: boolean
}

/** GET /api/cluster */
export interface Cluster {
  self: string
  state: StateStatus
  policy_hash: string
  drift: boolean
  replicas: Replica[] | null
}

/** One counter of a limit: the shared one (each "") or one per key, user, session or metadata value. */
export interface LimitCounter {
  each: string
  requests: number
  tokens: number
  usd: number
  in_flight: number
  share: number
}

/** One limit() of the live policy in GET /api/limits. */
export interface Limit {
  name: string
  rpm?: number
  tpm?: number
  usd?: number
  per?: string
  concurrency?: number
  keys?: string[] | null
  models?: string[] | null
  each?: string
  shadow: boolean
  wait_s?: number
  /** The busiest counter's used fraction of its tightest bound (1: spent). */
  use: number
  counters: LimitCounter[] | null
  refused: number
  would_refuse: number
}

/** GET /api/limits */
export interface Limits {
  since: string
  until: string
  tz?: string
  limits: Limit[] | null
  /** The in-process counters' table; absent for a store shared by replicas. */
  table?: { counters: number; bound: number; evicted: number }
}

/** GET /api/policy */
export interface PolicyStatus {
  hash: string
  loaded_at: string
  files: string[]
  last_error: string
  last_error_at: string
  failed_tests: string[]
  reloads: number
  reload_failures: number
  /** The live version's files as loaded (credentials written into them redacted). */
  sources: { file: string; source: string }[]
}

/** Protocols accepted by POST /api/eval; "auto" lets the gateway sniff. */
export type EvalProtocol = 'auto' | 'openai' | 'responses' | 'anthropic' | 'gemini'

/** Options of POST /api/eval. */
export interface EvalOptions {
  protocol: EvalProtocol
  /** Failures to simulate: "provider=STATUS[:retry-after]|timeout|connect|stream, ...". */
  simulateErrors: string
}

/** POST /api/eval */
export interface EvalResult {
  policy: string
  candidates: { provider: string; model: string; priority: number; weight: number }[]
  sticky_key: string | null
  notes: string[]
  explain: string[]
  attempts: { provider: string; model: string; status: number | string; class: string }[]
}
