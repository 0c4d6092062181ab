// useLoader runs an async API call and exposes its state to a template.
// It ignores answers that arrive after a newer call was started, so fast
// filter edits never show stale rows. (Pages re-mount when the admin key
// changes, which starts a fresh loader.)

import { onBeforeUnmount, onMounted, ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import { ApiError } from './api'

/** The reactive state of a loader. */
export interface Loader<T> {
  data: ShallowRef<T | null>
  error: Ref<string>
  loading: Ref<boolean>
  /** Runs the call again; resolves when it settles. */
  reload: () => Promise<void>
}

/** Creates a loader for fn and starts it immediately unless lazy. */
export function useLoader<T>(fn: () => Promise<T>, lazy = false): Loader<T> {
  const data = shallowRef<T | null>(null)
  const error = ref('')
  const loading = ref(false)
  let seq = 0

  async function reload() {
    const mine = ++seq
    loading.value = true
    try {
      const v = await fn()
      if (mine !== seq) return
      data.value = v
      error.value = ''
    } catch (err) {
      if (mine !== seq) return
      // 401s are handled by the key prompt; keep the last data on screen.
      error.value = err instanceof ApiError && err.status === 401 ? '' : (err as Error).message
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  if (!lazy) void reload()
  return { data, error, loading, reload }
}

/**
 * Reloads loader every ms while the page is mounted and the returned flag
 * (the page's auto-refresh box) is on, skipping a tick while a call is in
 * flight or the tab is hidden. Call it from a component's setup.
 */
export function useAutoRefresh(loader: Loader<unknown>, ms: number): Ref<boolean> {
  const auto = ref(true)
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    timer = setInterval(() => {
      if (auto.value && !loader.loading.value && document.visibilityState !== 'hidden') void loader.reload()
    }, ms)
  })
  onBeforeUnmount(() => clearInterval(timer))
  return auto
}
