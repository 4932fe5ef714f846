// Builds the init script the plugin injects into its webviews (`npm run build:init`):
// one self-contained classic script, no imports, fixed name, so the plugin can embed it
// with include_str!.
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

export default defineConfig({
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../src', import.meta.url)),
    emptyOutDir: false,
    sourcemap: false,
    minify: true,
    reportCompressedSize: false,
    lib: {
      entry: fileURLToPath(new URL('./capture-init.ts', import.meta.url)),
      formats: ['iife'],
      name: 'otelCapture',
      fileName: () => 'capture-init.js'
    }
  }
})
