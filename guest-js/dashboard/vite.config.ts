// Builds the dashboard page the engine serves (`npm run build:dashboard`) into
// crates/engine/assets/dashboard with fixed names, so the output is the same on every
// build and the engine can embed it by path. The dev server
// (`npx vite --config guest-js/dashboard/vite.config.ts`) forwards /api to the engine at
// TELEMETRY_API (default http://127.0.0.1:9090, the demo's).
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  server: { proxy: { '/api': process.env.TELEMETRY_API ?? 'http://127.0.0.1:9090' } },
  build: {
    outDir: fileURLToPath(new URL('../../crates/engine/assets/dashboard', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    minify: true,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/dashboard.js',
        chunkFileNames: 'assets/dashboard-[name].js',
        assetFileNames: (asset) =>
          asset.names.some((n) => n.endsWith('.css'))
            ? 'assets/dashboard.css'
            : 'assets/[name][extname]'
      }
    }
  }
})
