import { describe, expect, it } from 'vitest'
import { href, parseHash } from './router'

describe('parseHash', () => {
  it.each([
    ['', 'overview', {}, {}],
    ['#/', 'overview', {}, {}],
    ['#/requests?model=gpt&offset=50', 'requests', {}, { model: 'gpt', offset: '50' }],
    ['#/requests/req%2F1', 'request', { id: 'req/1' }, {}],
    ['#/providers', 'providers', {}, {}],
    ['#/limits?range=7d', 'limits', {}, { range: '7d' }],
    ['#/cluster', 'cluster', {}, {}],
    ['#/policy/', 'policy', {}, {}],
    ['#/nope', 'notfound', {}, {}],
  ])('parseHash(%j) is %s', (hash, name, params, query) => {
    expect(parseHash(hash)).toMatchObject({ name, params, query })
  })
})

describe('href', () => {
  it('drops empty query values', () => {
    expect(href('/requests', { model: 'a b', provider: '', offset: 50 })).toBe('#/requests?model=a+b&offset=50')
    expect(href('/')).toBe('#/')
  })
})
