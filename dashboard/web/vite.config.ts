import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// The gateway the dev server proxies /api to; override with LLMGW_URL.
const gateway = process.env.LLMGW_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [vue()],
  // Assets are referenced from "/" because the gateway serves the dashboard at its root.
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No source maps in the embedded build: they would double its size.
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: gateway, changeOrigin: true } },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
})
