// The eval playground's simulated-errors list: the syntax POST /api/eval
// accepts (the same as llmgw eval --simulate-errors), checked in the
// browser before it is sent.

/**
 * The placeholder of the playground's "Simulate errors" field. It must be
 * a list the server accepts: the gateway's tests read it from this file.
 */
export const SIMULATE_ERRORS_EXAMPLE = 'openai=429,anthropic=timeout'

const KINDS = new Set(['timeout', 'connect', 'stream'])

/**
 * Parses "provider=error, ..." into a map, or returns the first problem.
 * An error is an HTTP status 400-599 (optionally ":retry-after seconds"),
 * or timeout, connect or stream; empty items are ignored.
 */
export function parseSimulateErrors(list: string): { ok: true; errors: Record<string, string> } | { ok: false; error: string } {
  const errors: Record<string, string> = {}
  for (const raw of list.split(',')) {
    const item = raw.trim()
    if (!item) continue
    const eq = item.indexOf('=')
    const name = eq < 0 ? '' : item.slice(0, eq)
    const spec = eq < 0 ? '' : item.slice(eq + 1)
    if (!name) return { ok: false, error: `"${item}" is not provider=error` }
    if (!validSpec(spec)) {
      return { ok: false, error: `"${spec}" is not an HTTP status 400-599 (optionally :retry-after seconds), timeout, connect or stream` }
    }
    errors[name] = spec
  }
  return { ok: true, errors }
}

function validSpec(spec: string): boolean {
  if (KINDS.has(spec)) return true
  const [status, after, ...rest] = spec.split(':')
  if (rest.length > 0 || !/^\d+$/.test(status)) return false
  const code = Number(status)
  if (code < 400 || code > 599) return false
  return after === undefined || (/^\d+(\.\d+)?$/.test(after))
}
