import { describe, expect, it, vi } from 'vitest'
import { ApiError, KEY_STORAGE, createApi, errorMessage } from './api'

// memoryStorage is a localStorage stand-in.
function memoryStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init))
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  }
}

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

// setup returns a client whose fetch answers with the given responses in
// order and records each call.
function setup(responses: Response[], storage = memoryStorage()) {
  const calls: { url: string; init: RequestInit }[] = []
  const fetch = vi.fn(async (url: string | URL | Request, init: RequestInit = {}) => {
    calls.push({ url: String(url), init })
    const r = responses.shift()
    if (!r) throw new Error('unexpected fetch')
    return r
  })
  return { api: createApi({ fetch: fetch as unknown as typeof globalThis.fetch, storage }), calls, storage }
}

const header = (init: RequestInit, name: string) => new Headers(init.headers).get(name)

describe('createApi', () => {
  it('builds the summary URL and decodes JSON', async () => {
    const { api, calls } = setup([json({ bucket_seconds: 3600 })])
    const s = await api.summary('24h', '1h')
    expect(s.bucket_seconds).toBe(3600)
    expect(calls[0].url).toBe('/api/summary?since=24h&bucket=1h')
    expect(header(calls[0].init, 'Authorization')).toBeNull()
  })

  it('sends every request filter, empty ones included', async () => {
    const { api, calls } = setup([json({ total: 0, items: [] })])
    await api.requests({ limit: 50, offset: 100, model: 'gpt 4', provider: '', key: 'k&1', status: 'error', since: '24h' })
    expect(calls[0].url).toBe(
      '/api/requests?limit=50&offset=100&model=gpt+4&provider=&key=k%261&status=error&since=24h',
    )
  })

  it('escapes request ids', async () => {
    const { api, calls } = setup([json({})])
    await api.request('a/b?c')
    expect(calls[0].url).toBe('/api/requests/a%2Fb%3Fc')
  })

  it('posts eval bodies with protocol, explain and simulated errors', async () => {
    const { api, calls } = setup([json({ candidates: [] }), json({ candidates: [] })])
    await api.evaluate('{"model":"x"}', { protocol: 'anthropic', simulateErrors: ' openai:rate_limit ' })
    expect(calls[0].url).toBe('/api/eval?protocol=anthropic&explain=1&simulate_errors=openai%3Arate_limit')
    expect(calls[0].init.method).toBe('POST')
    expect(calls[0].init.body).toBe('{"model":"x"}')
    expect(header(calls[0].init, 'Content-Type')).toBe('application/json')

    await api.evaluate('{}', { protocol: 'auto', simulateErrors: '' })
    expect(calls[1].url).toBe('/api/eval?protocol=&explain=1&simulate_errors=')
  })

  it('turns a 401 into needsKey, then sends the stored key', async () => {
    const { api, calls, storage } = setup([new Response('', { status: 401 }), json({ providers: [], sticky_bindings: 3 })])
    await expect(api.providers()).rejects.toMatchObject({ status: 401 })
    expect(api.state.needsKey).toBe(true)

    const epoch = api.state.epoch
    api.setKey('s3cret')
    expect(storage.getItem(KEY_STORAGE)).toBe('s3cret')
    expect(api.state.needsKey).toBe(false)
    expect(api.state.epoch).toBe(epoch + 1)

    const p = await api.providers()
    expect(p.sticky_bindings).toBe(3)
    expect(header(calls[1].init, 'Authorization')).toBe('Bearer s3cret')
  })

  it('clears the key when set to empty', () => {
    const { api, storage } = setup([], memoryStorage({ [KEY_STORAGE]: 'old' }))
    expect(api.hasKey()).toBe(true)
    api.setKey('')
    expect(storage.getItem(KEY_STORAGE)).toBeNull()
    expect(api.hasKey()).toBe(false)
  })

  it('reports the server error message of a 4xx', async () => {
    const { api } = setup([json({ error: { message: 'eval: bad body' } }, 400)])
    const err = await api.evaluate('{', { protocol: 'auto', simulateErrors: '' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 400, message: 'eval: bad body' })
  })

  it('reports non-JSON answers and network failures', async () => {
    const { api } = setup([new Response('<html>oops</html>', { status: 502, statusText: 'Bad Gateway' })])
    await expect(api.policy()).rejects.toMatchObject({ status: 502, message: expect.stringContaining('502') })

    const failing = createApi({
      fetch: (async () => {
        throw new TypeError('connection refused')
      }) as typeof globalThis.fetch,
      storage: memoryStorage(),
    })
    await expect(failing.policy()).rejects.toMatchObject({ status: 0, message: 'network error: connection refused' })
  })
})

describe('errorMessage', () => {
  it.each([
    [{ error: { message: 'm' } }, 'm'],
    [{ error: 'plain' }, 'plain'],
    [{ error: { code: 1 } }, undefined],
    [null, undefined],
    ['text', undefined],
  ])('errorMessage(%j) = %j', (body, want) => {
    expect(errorMessage(body)).toBe(want)
  })
})
