// Builds the dashboard benchmark page (bench/index.html) into target/dashboard-bench, with
// the same build settings as the dashboard the engine serves (minified, one CSS file), so
// the benchmark measures the code users get. `npm run bench:dashboard` builds and drives it.
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../../target/dashboard-bench', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    minify: true,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false
  }
})
