import { describe, expect, it } from 'vitest'
import { SIMULATE_ERRORS_EXAMPLE, parseSimulateErrors } from './eval'

describe('parseSimulateErrors', () => {
  it('accepts the placeholder', () => {
    const r = parseSimulateErrors(SIMULATE_ERRORS_EXAMPLE)
    expect(r.ok).toBe(true)
    expect(r.ok && Object.keys(r.errors).length).toBeGreaterThan(0)
  })

  // The server's rules (engine.ParseSimulateErrors): provider=STATUS with
  // a 400-599 status and an optional :retry-after, or timeout, connect or
  // stream; spaces around items and empty items are ignored.
  it.each([
    ['', {}],
    ['a=429', { a: '429' }],
    [' a=429:30 , b=timeout,,c=connect, d=stream ', { a: '429:30', b: 'timeout', c: 'connect', d: 'stream' }],
    ['a=500:1.5', { a: '500:1.5' }],
  ])('accepts %j', (list, errors) => {
    expect(parseSimulateErrors(list)).toEqual({ ok: true, errors })
  })

  it.each([
    ['openai:rate_limit,anthropic', 'not provider=error'],
    ['anthropic', 'not provider=error'],
    ['=429', 'not provider=error'],
    ['a=', 'not an HTTP status'],
    ['a=rate_limit', 'not an HTTP status'],
    ['a=200', 'not an HTTP status'],
    ['a=600', 'not an HTTP status'],
    ['a=429:soon', 'not an HTTP status'],
    ['a=429:1:2', 'not an HTTP status'],
  ])('refuses %j', (list, message) => {
    const r = parseSimulateErrors(list)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toContain(message)
  })
})
