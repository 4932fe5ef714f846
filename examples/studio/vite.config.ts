// Builds the studio's frontend into examples/studio/dist, which the Tauri app embeds.
// The plugin's client and dashboard come from this repository's sources under the names
// an app would import them by.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: [
      { find: /^tauri-plugin-opentelemetry-api\/dashboard\/style\.css$/, replacement: repo('guest-js/dashboard/index.css') },
      { find: /^tauri-plugin-opentelemetry-api\/dashboard$/, replacement: repo('guest-js/dashboard/index.ts') },
      { find: /^tauri-plugin-opentelemetry-api$/, replacement: repo('guest-js/src/index.ts') }
    ]
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    sourcemap: false
  },
  clearScreen: false,
  logLevel: 'warn'
})
