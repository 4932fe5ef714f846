// After tsc: the CommonJS build says it is CommonJS (the package is "type": "module"),
// and the dashboard's stylesheet becomes one file (uPlot's, then the dashboard's), which
// the package exports as `./dashboard/style.css`.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const here = (path) => new URL(path, import.meta.url)
writeFileSync(here('./dist/cjs/package.json'), '{ "type": "commonjs" }\n')
const uplot = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css')
const css = [readFileSync(uplot, 'utf8'), readFileSync(here('./dashboard/style.css'), 'utf8')]
writeFileSync(here('./dist/dashboard.css'), css.join('\n'))
