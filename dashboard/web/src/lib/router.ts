// A hash router small enough to read in one sitting: "#/requests/abc?x=1"
// becomes { name: 'request', params: { id: 'abc' }, query: { x: '1' } }.
// Hash routing keeps every page at "/" so the gateway needs no SPA rewrites
// for navigation, and deep links survive reloads.

import { inject, reactive, readonly, type InjectionKey } from 'vue'

/** The pages of the dashboard. */
export type RouteName = 'overview' | 'requests' | 'request' | 'providers' | 'limits' | 'cluster' | 'policy' | 'notfound'

/** A parsed location. */
export interface Route {
  name: RouteName
  path: string
  params: Record<string, string>
  query: Record<string, string>
}

const patterns: [RouteName, RegExp][] = [
  ['overview', /^\/$/],
  ['requests', /^\/requests\/?$/],
  ['request', /^\/requests\/(?<id>[^/]+)$/],
  ['providers', /^\/providers\/?$/],
  ['limits', /^\/limits\/?$/],
  ['cluster', /^\/cluster\/?$/],
  ['policy', /^\/policy\/?$/],
]

/** Parses a location hash ("#/path?query") into a Route. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/'
  const [pathPart, queryPart = ''] = raw.split('?', 2)
  const path = pathPart.startsWith('/') ? pathPart : `/${pathPart}`
  const query = Object.fromEntries(new URLSearchParams(queryPart))
  for (const [name, re] of patterns) {
    const m = re.exec(path)
    if (m) {
      const params: Record<string, string> = {}
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v)
      return { name, path, params, query }
    }
  }
  return { name: 'notfound', path, params: {}, query }
}

/** Builds a hash href from a path and optional query, dropping empty values. */
export function href(path: string, query: Record<string, string | number> = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== '' && v != null) q.set(k, String(v))
  const s = q.toString()
  return `#${path}${s ? `?${s}` : ''}`
}

/** Creates a router bound to a window; call stop() to detach it. */
export function createRouter(win: Window = window) {
  const current = reactive<Route>(parseHash(win.location.hash))
  const sync = () => Object.assign(current, parseHash(win.location.hash))
  win.addEventListener('hashchange', sync)
  return {
    route: readonly(current),
    /** Navigates to a path; replace avoids a new history entry (for filter edits). */
    go(path: string, query: Record<string, string | number> = {}, replace = false) {
      const target = href(path, query)
      if (replace) {
        win.history.replaceState(null, '', target)
        sync()
      } else {
        win.location.hash = target
      }
    },
    stop: () => win.removeEventListener('hashchange', sync),
  }
}

export type Router = ReturnType<typeof createRouter>

/** The injection key under which the app provides its router. */
export const routerKey: InjectionKey<Router> = Symbol('router')

/** Returns the router provided by the app. */
export function useRouter(): Router {
  const r = inject(routerKey)
  if (!r) throw new Error('dashboard: no router provided')
  return r
}
