// The admin API client. Every call goes through one request function that
// attaches the admin key, decodes JSON and turns non-2xx answers into
// ApiError. A 401 flips `needsKey` so the shell can ask for the key.

import { inject, reactive, type InjectionKey } from 'vue'
import type {
  Cluster,
  EvalOptions,
  EvalResult,
  Limits,
  PolicyStatus,
  Providers,
  RequestDetail,
  RequestFilter,
  RequestPage,
  Summary,
} from './types'

/** Where the admin key is kept between visits. */
export const KEY_STORAGE = 'llmgw.adminKey'

/** An API call that failed; status is 0 for network errors. */
export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

/** Dependencies of the client; the defaults are the browser's. */
export interface ApiOptions {
  fetch?: typeof fetch
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>
  /** Prefix of the API paths; "" means same origin. */
  base?: string
}

/** Reactive client state the shell renders. */
export interface ApiState {
  /** True once a call was refused with 401 and until a key is set. */
  needsKey: boolean
  /** Bumped whenever the key changes, so pages can reload. */
  epoch: number
}

export type Api = ReturnType<typeof createApi>

/** Creates an admin API client. */
export function createApi(opts: ApiOptions = {}) {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis)
  const storage = opts.storage ?? globalThis.localStorage
  const base = opts.base ?? ''
  const state = reactive<ApiState>({ needsKey: false, epoch: 0 })

  async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers)
    headers.set('Accept', 'application/json')
    const key = storage.getItem(KEY_STORAGE)
    if (key) headers.set('Authorization', `Bearer ${key}`)
    let res: Response
    try {
      res = await doFetch(base + path, { ...init, headers })
    } catch (err) {
      throw new ApiError(0, `network error: ${(err as Error).message}`)
    }
    if (res.status === 401) {
      state.needsKey = true
      throw new ApiError(401, key ? 'admin key rejected' : 'admin key required')
    }
    const text = await res.text()
    let body: unknown
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      throw new ApiError(res.status, `${res.status} ${res.statusText}: ${text.slice(0, 200)}`)
    }
    if (!res.ok) throw new ApiError(res.status, errorMessage(body) ?? `${res.status} ${res.statusText}`)
    return body as T
  }

  return {
    state,
    /** Stores the admin key (empty clears it) and asks pages to reload. */
    setKey(key: string) {
      if (key) storage.setItem(KEY_STORAGE, key)
      else storage.removeItem(KEY_STORAGE)
      state.needsKey = false
      state.epoch++
    },
    hasKey: () => !!storage.getItem(KEY_STORAGE),
    summary: (since: string, bucket: string) =>
      request<Summary>(`/api/summary?${query({ since, bucket })}`),
    requests: (f: RequestFilter) =>
      request<RequestPage>(`/api/requests?${query({ ...f, limit: String(f.limit), offset: String(f.offset) })}`),
    request: (id: string) => request<RequestDetail>(`/api/requests/${encodeURIComponent(id)}`),
    providers: () => request<Providers>('/api/providers'),
    cluster: () => request<Cluster>('/api/cluster'),
    limits: (since: string) => request<Limits>(`/api/limits?${query({ since })}`),
    policy: () => request<PolicyStatus>('/api/policy'),
    evaluate: (body: string, o: EvalOptions) =>
      request<EvalResult>(
        `/api/eval?${query({
          protocol: o.protocol === 'auto' ? '' : o.protocol,
          explain: '1',
          simulate_errors: o.simulateErrors.trim(),
        })}`,
        { method: 'POST', body, headers: { 'Content-Type': 'application/json' } },
      ),
  }
}

/** Encodes params as a query string, keeping their order. */
export function query(params: Record<string, string>): string {
  return new URLSearchParams(Object.entries(params)).toString()
}

/** Extracts the message of a {"error": {"message": ...}} or {"error": "..."} body. */
export function errorMessage(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const e = (body as { error?: unknown }).error
  if (typeof e === 'string') return e
  if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') {
    return (e as { message: string }).message
  }
  return undefined
}

/** The injection key under which the app provides its client. */
export const apiKey: InjectionKey<Api> = Symbol('api')

/** Returns the client provided by the app. */
export function useApi(): Api {
  const api = inject(apiKey)
  if (!api) throw new Error('dashboard: no api client provided')
  return api
}
