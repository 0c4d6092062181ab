import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import App from './App.vue'
import { KEY_STORAGE, apiKey, createApi } from './lib/api'
import { SIMULATE_ERRORS_EXAMPLE, parseSimulateErrors } from './lib/eval'
import { createRouter, routerKey } from './lib/router'
import * as fx from './test/fixtures'

// routes maps an API path (without query) to its JSON answer; a number
// answers with that status instead, and a function decides per call.
type Routes = Record<string, unknown>

function mountAt(hash: string, routes: Routes) {
  window.location.hash = hash
  const calls: { url: string; init?: RequestInit }[] = []
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input)
    calls.push({ url, init })
    const route = routes[url.split('?')[0]]
    const body = typeof route === 'function' ? route(init) : route
    if (body === undefined) return new Response('{"error":{"message":"not found"}}', { status: 404 })
    if (typeof body === 'number') return new Response('', { status: body })
    return new Response(JSON.stringify(body), { status: 200 })
  })
  const api = createApi({ fetch: fetch as unknown as typeof globalThis.fetch, storage: window.localStorage })
  const router = createRouter(window)
  stops.push(router.stop)
  const wrapper = mount(App, { global: { provide: { [apiKey as symbol]: api, [routerKey as symbol]: router } } })
  return { wrapper, calls, api, router }
}

const stops: (() => void)[] = []
enableAutoUnmount(afterEach)
beforeEach(() => window.localStorage.clear())
afterEach(() => {
  vi.useRealTimers()
  stops.splice(0).forEach((stop) => stop())
})

describe('Overview', () => {
  it('shows exact totals, charts and top tables', async () => {
    const { wrapper, calls } = mountAt('#/', { '/api/summary': fx.summary })
    await flushPromises()

    expect(calls[0].url).toBe('/api/summary?since=24h&bucket=1h')
    const card = (k: string) => wrapper.get(`[data-test="total-${k}"]`)
    expect(card('requests').attributes('data-value')).toBe('1234567')
    expect(card('requests').text()).toContain('1,234,567')
    expect(card('input_tokens').attributes('data-value')).toBe('987654321')
    expect(card('reasoning_tokens').attributes('data-value')).toBe('50')
    expect(card('cost').attributes('data-value')).toBe('42.5')
    expect(card('cost').text()).toContain('3 unpriced')
    for (const c of ['requests', 'tokens', 'cost']) {
      expect(wrapper.find(`[data-test="chart-${c}"] canvas`).exists(), `chart-${c} canvas`).toBe(true)
    }
    expect(wrapper.findAll('[data-test="top-providers"] [data-test="top-row"]')).toHaveLength(3)
    expect(wrapper.get('[data-test="top-keys"]').text()).toContain('team-a')
  })

  it('shows attempt failures and failovers per provider, and what models were served as', async () => {
    const { wrapper } = mountAt('#/', { '/api/summary': fx.summary })
    await flushPromises()
    // anthropic failed over twice and served nothing: its failures show.
    const row = wrapper.get('[data-test="top-providers"] [data-name="anthropic"]')
    expect(row.get('[data-test="attempt-errors"]').attributes('data-value')).toBe('2')
    expect(row.get('[data-test="attempt-errors"]').text()).toBe('2 / 2')
    expect(row.get('[data-test="failovers"]').attributes('data-value')).toBe('2')
    expect(wrapper.get('[data-test="top-providers"]').text()).toContain('Failovers')
    // Only the providers table has attempt columns; every table has a cost.
    expect(wrapper.find('[data-test="top-models"] [data-test="failovers"]').exists()).toBe(false)
    const model = wrapper.get('[data-test="top-models"] [data-name="gpt-4o-mini"]')
    expect(model.get('[data-test="served-as"]').text()).toBe('→ gpt-4o-mini-2024-07-18')
    expect(model.get('[data-test="cost"]').attributes('data-value')).toBe('40')
  })

  it('shows the cache-read share of input tokens per provider and model', async () => {
    const { wrapper } = mountAt('#/', { '/api/summary': fx.summary })
    await flushPromises()
    const share = (table: string, name: string) => wrapper.get(`[data-test="${table}"] [data-name="${name}"] [data-test="cache-read-share"]`)
    expect(share('top-providers', 'openai').attributes('data-value')).toBe('0.8125')
    expect(share('top-providers', 'openai').text()).toBe('81%')
    expect(share('top-providers', 'anthropic').text()).toBe('0%')
    expect(share('top-models', 'gpt-4o-mini').text()).toBe('<0.1%')
    expect(wrapper.get('[data-test="top-models"]').text()).toContain('Cache read')
  })

  it('counts sticky picks by session and by client key apart', async () => {
    const { wrapper } = mountAt('#/', { '/api/summary': fx.summary })
    await flushPromises()
    const line = wrapper.get('[data-test="sticky-picks"]')
    expect(line.get('[data-test="sticky-hits-session"]').attributes('data-value')).toBe('1200')
    expect(line.get('[data-test="sticky-hits-key"]').attributes('data-value')).toBe('34567')
    expect(line.text().replace(/\s+/g, ' ')).toBe('Sticky picks: 1,200 by session, 34,567 by client key')
  })

  it('says when the request log holds or has dropped rows, and nothing when it has not', async () => {
    const writer = { backend: 'postgres', queued: 0, buffered: 0, buffered_bytes: 0, unavailable: false, outages: 0, written: 10, shed: 0, failed: 0 }
    const quiet = mountAt('#/', { '/api/summary': { ...fx.summary, log_writer: writer } })
    await flushPromises()
    expect(quiet.wrapper.find('[data-test="log-writer"]').exists()).toBe(false)
    quiet.wrapper.unmount()
    const down = mountAt('#/', { '/api/summary': { ...fx.summary, log_writer: { ...writer, unavailable: true, buffered: 1500, shed: 3, failed: 1 } } })
    await flushPromises()
    const text = down.wrapper.get('[data-test="log-writer"]').text()
    expect(text).toContain('PostgreSQL is unreachable: 1,500 rows held')
    expect(text).toContain('4 rows dropped from the request log on this replica since it started (3 shed, 1 failed)')
  })

  it('reloads with the picked range', async () => {
    const { wrapper, calls } = mountAt('#/', { '/api/summary': fx.summary })
    await flushPromises()
    await wrapper.get('[data-test="range-7d"]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.url).toBe('/api/summary?since=168h&bucket=6h')
    expect(window.location.hash).toBe('#/?range=7d')
  })
})

describe('null lists', () => {
  // Go encodes nil slices as null; every page must cope.
  it.each([
    ['#/', '/api/summary', { ...fx.summary, series: null, by_model: null, by_served_model: null, by_provider: null, by_key: null }, 'No traffic in this range.'],
    ['#/requests', '/api/requests', { total: 0, items: null }, 'No requests yet.'],
    ['#/requests?model=x', '/api/requests', { total: 0, items: null }, 'No requests match these filters.'],
    ['#/policy', '/api/policy', { ...fx.policy, files: null, failed_tests: null, sources: null }, 'Eval playground'],
    ['#/requests/x', '/api/requests/x', { ...fx.detail, attempts: null, notes: null, features: null }, 'No upstream attempt'],
    ['#/providers', '/api/providers', { providers: null, sticky_bindings: 0 }, 'No providers configured.'],
    ['#/cluster', '/api/cluster', { ...fx.cluster, replicas: null }, 'No replica listed.'],
    ['#/limits', '/api/limits', { ...fx.limits, limits: [{ ...fx.limits.limits![0], counters: null, keys: null, models: null }] }, 'none in use'],
  ])('%s renders with null lists', async (hash, path, body, text) => {
    const { wrapper } = mountAt(hash, { [path]: body })
    await flushPromises()
    expect(wrapper.find('[data-test="error"]').exists()).toBe(false)
    expect(wrapper.text()).toContain(text)
  })
})

describe('loading', () => {
  // An empty table says "loading…" until the first answer, then what an
  // empty answer means; a failed first answer shows the error instead.
  it.each([
    ['#/requests', '/api/requests', { total: 0, items: [] }, 'requests-empty', 'No requests yet.'],
    ['#/providers', '/api/providers', { providers: [], sticky_bindings: 0 }, 'providers-empty', 'No providers configured.'],
  ])('%s says loading… until the first answer', async (hash, path, body, test, after) => {
    let answer: (v: Response) => void = () => {}
    window.location.hash = hash
    const fetch = vi.fn((input: string | URL | Request) => {
      expect(String(input).split('?')[0]).toBe(path)
      return new Promise<Response>((resolve) => (answer = resolve))
    })
    const api = createApi({ fetch: fetch as unknown as typeof globalThis.fetch, storage: window.localStorage })
    const router = createRouter(window)
    stops.push(router.stop)
    const wrapper = mount(App, { global: { provide: { [apiKey as symbol]: api, [routerKey as symbol]: router } } })
    await flushPromises()
    expect(wrapper.get(`[data-test="${test}"]`).text()).toBe('loading…')
    answer(new Response(JSON.stringify(body), { status: 200 }))
    await flushPromises()
    expect(wrapper.get(`[data-test="${test}"]`).text()).toBe(after)
  })

  it('shows the error, not loading…, when the first answer fails', async () => {
    const { wrapper } = mountAt('#/requests', { '/api/requests': 500 })
    await flushPromises()
    expect(wrapper.find('[data-test="error"]').exists()).toBe(true)
    expect(wrapper.text()).not.toContain('loading…')
  })
})

describe('Requests', () => {
  it('shows each request\'s protocols', async () => {
    const { wrapper } = mountAt('#/requests', { '/api/requests': fx.page })
    await flushPromises()
    expect(wrapper.get('[data-test="requests-table"] thead').text()).toContain('Protocol')
    const protocols = wrapper.findAll('[data-test="request-row"] [data-test="protocol"]').map((td) => td.text())
    expect(protocols).toEqual(['openai', 'anthropic → openai'])
  })

  it('lists rows, pages and opens the detail view', async () => {
    const { wrapper, calls } = mountAt('#/requests?status=error', {
      '/api/requests': fx.page,
      '/api/requests/req-1': fx.detail,
    })
    await flushPromises()

    expect(calls[0].url).toContain('status=error')
    const rows = wrapper.findAll('[data-test="request-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[1].text()).toContain('429 · rate_limit')
    expect(wrapper.get('[data-test="pager"]').text()).toContain('1–2 of 120')

    await wrapper.get('[data-test="next"]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.url).toContain('offset=50')
    expect(calls.at(-1)?.url).toContain('status=error')

    await rows[0].trigger('click')
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect(calls.at(-1)?.url).toBe('/api/requests/req-1')
    const d = wrapper.get('[data-test="request-detail"]')
    expect(d.findAll('[data-test="attempt-row"]')).toHaveLength(2)
    expect(d.get('[data-test="notes"]').text()).toContain('fallback: anthropic overloaded')
    expect(d.get('[data-test="features"]').text()).toContain('has_tools')
  })
})

describe('Providers', () => {
  it('shows health and refreshes every interval', async () => {
    vi.useFakeTimers()
    const { wrapper, calls } = mountAt('#/providers', { '/api/providers': fx.providers })
    await flushPromises()

    const rows = wrapper.findAll('[data-test="provider-row"]')
    expect(rows.map((r) => r.attributes('data-state'))).toEqual(['healthy', 'cooldown'])
    expect(rows[1].text()).toContain('42s')
    expect(wrapper.get('[data-test="sticky-bindings"]').attributes('data-value')).toBe('7')

    const before = calls.length
    await vi.advanceTimersByTimeAsync(5000)
    await flushPromises()
    expect(calls.length).toBe(before + 1)

    wrapper.unmount() // stops the refresh timer
    await vi.advanceTimersByTimeAsync(15000)
    expect(calls.length).toBe(before + 1)
  })
})

describe('Limits', () => {
  it('shows each limit with its use now, refusals and would-refusals', async () => {
    const { wrapper, calls } = mountAt('#/limits', { '/api/limits': fx.limits })
    await flushPromises()
    expect(calls[0].url).toBe('/api/limits?since=24h')
    const row = (name: string) => wrapper.get(`[data-test="limit-row"][data-name="${name}"]`)
    expect(wrapper.findAll('[data-test="limit-row"]')).toHaveLength(3)
    const budget = row('team-daily')
    expect(budget.get('[data-test="bounds"]').text()).toBe('usd $20.00/day')
    expect(budget.text()).toContain('per key')
    expect(budget.get('[data-test="use"]').attributes('data-value')).toBe('1.002')
    expect(budget.get('[data-test="use"]').classes()).toContain('bad')
    expect(budget.get('[data-test="refused"]').attributes('data-value')).toBe('51')
    expect(budget.findAll('[data-test="counter"]').map((c) => c.attributes('data-each'))).toEqual(['research', 'support'])
    expect(budget.get('[data-test="counter"][data-each="research"]').text().replace(/\s+/g, ' ')).toBe('research 100% (3 req/min, $20.04)')
    expect(budget.find('[data-test="shadow"]').exists()).toBe(false)
    // A shadow limit says so, and counts what it would refuse.
    const shadow = row('team-rpm')
    expect(shadow.attributes('data-shadow')).toBe('true')
    expect(shadow.find('[data-test="shadow"]').exists()).toBe(true)
    expect(shadow.get('[data-test="would-refuse"]').attributes('data-value')).toBe('10')
    expect(row('ci-rpm').get('[data-test="counters"]').text()).toBe('none in use')
    expect(row('ci-rpm').text()).toContain('keys ci')
    expect(wrapper.get('[data-test="limits-tz"]').text()).toContain('Europe/Paris')
    const size = wrapper.get('[data-test="limits-table-size"]')
    expect(size.text().replace(/\s+/g, ' ')).toBe('1,234 counters in process, of at most 262,144; 7 forgotten before they were idle, to stay within it')
    expect(size.classes()).toContain('bad')

    await wrapper.get('[data-test="range-7d"]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.url).toBe('/api/limits?since=168h')
    expect(window.location.hash).toBe('#/limits?range=7d')
  })

  it('says when the policy declares no limit', async () => {
    const { wrapper } = mountAt('#/limits', { '/api/limits': { since: '', until: '', limits: [] } })
    await flushPromises()
    expect(wrapper.get('[data-test="limits-empty"]').text()).toBe('The policy declares no limit().')
    expect(wrapper.find('[data-test="limits-table-size"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="nav-limits"]').classes()).toContain('active')
  })
})

describe('Cluster', () => {
  it('lists the replicas and flags the one off the majority policy', async () => {
    const { wrapper, calls } = mountAt('#/cluster', { '/api/cluster': fx.cluster })
    await flushPromises()
    expect(calls[0].url).toBe('/api/cluster')
    expect(wrapper.get('[data-test="nav-cluster"]').classes()).toContain('active')
    const rows = wrapper.findAll('[data-test="replica-row"]')
    expect(rows.map((r) => r.attributes('data-id'))).toEqual(['gw-1', 'gw-2', 'gw-3'])
    expect(rows.map((r) => r.attributes('data-drift'))).toEqual(['false', 'false', 'true'])
    expect(rows[2].find('[data-test="drift"]').exists()).toBe(true)
    expect(rows[0].find('[data-test="drift"]').exists()).toBe(false)
    expect(rows[0].text()).toContain('(this one)')
    expect(wrapper.get('[data-test="drift-warning"]').text()).toContain('aaaaaaaaaaaa')
    expect(wrapper.get('[data-test="state"]').attributes('data-condition')).toBe('shared')
    expect(wrapper.get('[data-test="fallbacks"]').text()).toBe('1')
    expect(wrapper.get('[data-test="allowance-admits"]').text()).toBe('4,200')
  })

  it('shows a replica that fell back to its own state', async () => {
    const fallen = {
      ...fx.cluster,
      drift: false,
      state: { ...fx.cluster.state, shared: false, fallbacks: 2, last_error: 'dial tcp: connection refused' },
      replicas: [{ ...fx.cluster.replicas![0], shared: false }],
    }
    const { wrapper } = mountAt('#/cluster', { '/api/cluster': fallen })
    await flushPromises()
    expect(wrapper.get('[data-test="state"]').attributes('data-condition')).toBe('fallback')
    expect(wrapper.get('[data-test="state-badge"]').text()).toBe('fallback')
    expect(wrapper.get('[data-test="state"]').text()).toContain('connection refused')
    expect(wrapper.find('[data-test="drift-warning"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="replica-row"]').text()).toContain('redis (fallback)')
  })

  it('says a gateway without --state is alone', async () => {
    const alone = {
      self: 'host-1',
      state: { backend: 'local', shared: false, since: '2026-11-25T19:00:00Z' },
      policy_hash: 'h',
      drift: false,
      replicas: [{ id: 'host-1', policy_hash: 'h', version: '', state: 'local', shared: false, started_at: '2026-11-25T19:00:00Z', last_seen: '2026-11-25T20:00:00Z', self: true, drift: false }],
    }
    const { wrapper } = mountAt('#/cluster', { '/api/cluster': alone })
    await flushPromises()
    expect(wrapper.get('[data-test="state"]').attributes('data-condition')).toBe('local')
    expect(wrapper.get('[data-test="replica-row"]').text()).not.toContain('fallback')
  })
})

describe('Policy', () => {
  it('shows the live source, the entry first, file by file', async () => {
    const { wrapper } = mountAt('#/policy', { '/api/policy': fx.policy })
    await flushPromises()
    const src = () => wrapper.get('[data-test="policy-source"]')
    expect(src().attributes('data-file')).toBe('main.star')
    expect(src().findAll('.src-line')).toHaveLength(5)
    expect(src().findAll('.src-line')[3].text()).toBe('4def route(req, ctx):')
    const files = wrapper.findAll('[data-test="policy-source-file"]')
    expect(files.map((b) => b.text())).toEqual(['lib/route.star', 'main.star'])
    await files[0].trigger('click')
    expect(src().attributes('data-file')).toBe('lib/route.star')
    expect(src().text()).toContain('def pick(p):')
  })

  it('offers a simulate-errors placeholder the server accepts, and checks the list before sending', async () => {
    const { wrapper, calls } = mountAt('#/policy', { '/api/policy': fx.policy, '/api/eval': { policy: 'h-42', candidates: [], attempts: [] } })
    await flushPromises()
    const input = wrapper.get('input[name="simulate_errors"]')
    expect(input.attributes('placeholder')).toBe(`e.g. ${SIMULATE_ERRORS_EXAMPLE}`)
    expect(parseSimulateErrors(SIMULATE_ERRORS_EXAMPLE)).toEqual({ ok: true, errors: { openai: '429', anthropic: 'timeout' } })

    const before = calls.length
    await input.setValue('openai:rate_limit,anthropic')
    await wrapper.get('[data-test="eval-form"]').trigger('submit')
    await flushPromises()
    expect(calls.length).toBe(before)
    expect(wrapper.get('[data-test="eval-error"]').text()).toContain('not provider=error')

    await input.setValue(SIMULATE_ERRORS_EXAMPLE)
    await wrapper.get('[data-test="eval-form"]').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)?.url).toBe(`/api/eval?protocol=&explain=1&simulate_errors=${encodeURIComponent(SIMULATE_ERRORS_EXAMPLE)}`)
    expect(wrapper.find('[data-test="eval-error"]').exists()).toBe(false)
  })

  it('shows status and runs an eval', async () => {
    const { wrapper, calls } = mountAt('#/policy', {
      '/api/policy': { ...fx.policy, files: ['policies.star'], sources: [] },
      '/api/eval': {
        policy: 'h-42',
        candidates: [{ provider: 'demo', model: 'demo-1', priority: 0, weight: 1 }],
        sticky_key: null,
        notes: ['matched default'],
        explain: ['route() -> demo'],
        attempts: [{ provider: 'demo', model: 'demo-1', status: 200, class: '' }],
      },
    })
    await flushPromises()
    expect(wrapper.get('[data-test="policy-hash"]').text()).toBe('h-42')

    await wrapper.get('select[name="protocol"]').setValue('openai')
    await wrapper.get('input[name="simulate_errors"]').setValue('openai=503')
    await wrapper.get('[data-test="eval-form"]').trigger('submit')
    await flushPromises()

    expect(calls.at(-1)?.url).toBe('/api/eval?protocol=openai&explain=1&simulate_errors=openai%3D503')
    expect(wrapper.find('[data-test="policy-source"]').exists()).toBe(false)
    const res = wrapper.get('[data-test="eval-result"]')
    expect(res.get('[data-test="eval-candidates"]').text()).toContain('demo-1')
    expect(res.get('[data-test="eval-explain"]').text()).toContain('route() -> demo')
  })
})

describe('admin key', () => {
  it('asks for a key on 401 and retries with it', async () => {
    const { wrapper, calls } = mountAt('#/providers', {
      '/api/providers': (init?: RequestInit) =>
        new Headers(init?.headers).get('Authorization') === 'Bearer adm1n' ? fx.providers : 401,
    })
    await flushPromises()
    expect(wrapper.find('[data-test="key-prompt"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="provider-row"]').exists()).toBe(false)

    await wrapper.get('[data-test="key-input"]').setValue('adm1n')
    await wrapper.get('[data-test="key-prompt"]').trigger('submit')
    await flushPromises()

    expect(window.localStorage.getItem(KEY_STORAGE)).toBe('adm1n')
    expect(new Headers(calls.at(-1)?.init?.headers).get('Authorization')).toBe('Bearer adm1n')
    expect(wrapper.find('[data-test="key-prompt"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-test="provider-row"]')).toHaveLength(2)
  })
})
