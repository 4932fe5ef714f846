// The npm package as an app outside this repository gets it: `npm pack`, then a fresh
// Vite + TypeScript project in a temporary folder installs the tarball like any package
// (no aliases, no path into this checkout), type-checks under `bundler`, `node16` and
// `nodenext` (ESM, and CommonJS through `require`), builds, and its built page renders
// live data from a running engine (the studio, headless) in Chromium.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync, createReadStream } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { launchChromium } from '../../scripts/chromium.mjs'
import { artifacts, freePort, repo, start, stopAll, studioBinary } from './support.mjs'

const run = promisify(execFile)
const ours = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const version = (name) => ours.devDependencies[name] ?? ours.dependencies[name]

let work
let project
let tarball
let server
let browser

/** Runs `command` with `args` in `cwd`; its output is in the error when it fails. */
async function sh(cwd, command, args) {
  try {
    return await run(command, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, CI: 'true' } })
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${error.stdout}\n${error.stderr}`)
  }
}

const tsconfig = (options, include) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      ...options
    },
    include
  })

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'otel-npm-'))
  const packed = await sh(repo, 'npm', ['pack', '--silent', '--pack-destination', work])
  tarball = join(work, packed.stdout.trim().split('\n').pop())
  assert.ok(existsSync(tarball), tarball)
  project = join(work, 'consumer')
  mkdirSync(join(project, 'src'), { recursive: true })
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: {
        'tauri-plugin-opentelemetry-api': `file:${tarball}`,
        '@tauri-apps/api': version('@tauri-apps/api')
      },
      devDependencies: { typescript: version('typescript'), vite: version('vite') }
    })
  )
  writeFileSync(
    join(project, 'index.html'),
    '<!doctype html><html><body><div id="panel"></div><script type="module" src="/src/main.ts"></script></body></html>'
  )
  writeFileSync(
    join(project, 'src', 'main.ts'),
    `import { TelemetryClient, httpTransport, type MetricsSnapshot } from 'tauri-plugin-opentelemetry-api'
import { mountDashboard, type Dashboard } from 'tauri-plugin-opentelemetry-api/dashboard'
import 'tauri-plugin-opentelemetry-api/dashboard/style.css'

const client = new TelemetryClient(httpTransport(location.origin))
const first: Promise<MetricsSnapshot> = client.getSnapshot()
const panel = document.getElementById('panel')
if (panel === null) throw new Error('no #panel')
const dashboard: Dashboard = mountDashboard(panel, { client, title: 'Consumer' })
void first.then((s) => document.body.setAttribute('data-series', String(s.series.length)))
void dashboard
`
  )
  // A CommonJS file of the same project: the package's require() entry and its declarations.
  writeFileSync(
    join(project, 'src', 'require-check.cts'),
    `import api = require('tauri-plugin-opentelemetry-api')
import dashboard = require('tauri-plugin-opentelemetry-api/dashboard')
export const make = (base: string): InstanceType<typeof api.TelemetryClient> =>
  new api.TelemetryClient(api.httpTransport(base))
export const mount: typeof dashboard.mountDashboard = dashboard.mountDashboard
`
  )
  writeFileSync(join(project, 'tsconfig.bundler.json'), tsconfig({ module: 'ESNext', moduleResolution: 'bundler' }, ['src/main.ts']))
  writeFileSync(
    join(project, 'tsconfig.node16.json'),
    tsconfig({ module: 'node16', moduleResolution: 'node16' }, ['src/main.ts', 'src/require-check.cts'])
  )
  writeFileSync(
    join(project, 'tsconfig.nodenext.json'),
    tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, ['src/main.ts', 'src/require-check.cts'])
  )
  // From npm's cache when this machine has it (the repository's own `npm ci` filled it).
  await sh(project, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'])
})

after(async () => {
  try {
    await browser?.close()
    server?.close()
  } finally {
    await stopAll()
  }
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

test('the tarball holds the built client, the dashboard and its stylesheet, and nothing else', async () => {
  const { stdout } = await sh(work, 'tar', ['-tzf', tarball])
  const files = stdout.trim().split('\n')
  for (const expected of [
    'package/guest-js/dist/esm/src/index.js',
    'package/guest-js/dist/esm/src/index.d.ts',
    'package/guest-js/dist/cjs/src/index.js',
    'package/guest-js/dist/cjs/src/index.d.ts',
    'package/guest-js/dist/esm/dashboard/index.js',
    'package/guest-js/dist/cjs/dashboard/index.d.ts',
    'package/guest-js/dist/dashboard.css',
    'package/LICENSE-MIT'
  ]) {
    assert.ok(files.includes(expected), `${expected} is not in the tarball`)
  }
  assert.deepEqual(
    files.filter((f) => !f.startsWith('package/guest-js/dist/') && !/^package\/(package\.json|README\.md|LICENSE-\w+)$/.test(f)),
    []
  )
  // The client alone does not pull the chart library in.
  const client = files.filter((f) => f.startsWith('package/guest-js/dist/esm/src/') && f.endsWith('.js'))
  const { stdout: uplot } = await sh(work, 'tar', ['-xzOf', tarball, ...client])
  assert.doesNotMatch(uplot, /from ['"]uplot['"]/)
})

for (const resolution of ['bundler', 'node16', 'nodenext']) {
  test(`a fresh project type-checks against the package under moduleResolution ${resolution}`, async () => {
    await sh(project, 'node', ['node_modules/typescript/bin/tsc', '-p', `tsconfig.${resolution}.json`])
  })
}

test("a fresh project's built page renders live data from a running engine", async () => {
  await sh(project, 'node', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'])
  const enginePort = await freePort()
  await start(studioBinary, ['--headless', '--duration', '300', '--encode-rounds', '0'], {
    env: { PROMETHEUS_PORT: String(enginePort) },
    ready: /^dashboard: (http:\/\/\S+)$/,
    name: 'studio'
  })
  // The consumer's own server: its built files, and /api/* passed to the engine (as its
  // Vite dev server's proxy would), event streams included.
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
  server = http.createServer((req, res) => {
    if (req.url.startsWith('/api/')) {
      const upstream = http.request(
        { host: '127.0.0.1', port: enginePort, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers)
          answer.pipe(res)
        }
      )
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
      return
    }
    const path = join(project, 'dist', req.url === '/' ? 'index.html' : req.url.split('?')[0])
    if (!path.startsWith(join(project, 'dist')) || !existsSync(path)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' })
    createReadStream(path).pipe(res)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const problems = []
  browser = await launchChromium()
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(message.text())
    }
  })
  // The page has no icon; every other request must succeed.
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      problems.push(`${response.status()} ${response.url()}`)
    }
  })
  await page.goto(`http://127.0.0.1:${server.address().port}/`)
  const cpu = '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
  await page.waitForFunction(
    (selector) => Number(document.querySelector(selector)?.getAttribute('data-points') ?? 0) >= 2,
    cpu,
    { timeout: 60_000 }
  )
  assert.ok(Number(await page.getAttribute('body', 'data-series')) > 0, 'the client read a snapshot')
  // Both halves of the stylesheet apply: uPlot's and the dashboard's.
  const styled = await page.evaluate(() => ({
    uplot: getComputedStyle(document.querySelector('.u-wrap')).position,
    dash: getComputedStyle(document.querySelector('.otel-dash')).getPropertyValue('--dash-bg').trim()
  }))
  assert.equal(styled.uplot, 'relative')
  assert.notEqual(styled.dash, '')
  await page.screenshot({ path: join(artifacts, 'npm-consumer.png') })
  assert.deepEqual(problems, [])
})
