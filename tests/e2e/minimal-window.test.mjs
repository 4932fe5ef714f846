// The minimal example in a real window: an app that registers the plugin, writes no
// telemetry frontend code and opens the panel from Rust. The panel's window is served by
// the plugin and must show live charts, traces, logs, health and alerts over IPC, with
// the read-only capability the plugin granted that window alone.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { artifacts, freePort, minimalBinary, start, stopAll, waitFor, webDriver } from './support.mjs'

let webdriver
let driver
let session
let mainHandle
let panelHandle
// The app's data (consent, spool, crash markers) in a folder of the test's own.
const data = mkdtempSync(join(tmpdir(), 'minimal-e2e-'))

/** The WebDriver client and its one-command function, once tauri-driver listens. */
let driverClient
let wd
/** Runs `script` (a function body) in the current window and returns its value. */
const run = (script, ...args) => driverClient.run(session, script, ...args)

const click = (selector) => run('document.querySelector(arguments[0]).click()', selector)

/** The `data-*` values of every element matching `selector`, as objects. */
const rows = (selector) =>
  run(
    'return [...document.querySelectorAll(arguments[0])].map(e => ({ ...e.dataset, text: e.textContent }))',
    selector
  )

/** Invokes the plugin's `command` from the current window: `allowed`, or the refusal. */
const invokeHere = (command) =>
  wd('POST', `/session/${session}/execute/async`, {
    script: `const done = arguments[arguments.length - 1];
      window.__TAURI_INTERNALS__.invoke('plugin:opentelemetry|' + arguments[0], {})
        .then(() => done('allowed'), (e) => done(String(e)))`,
    args: [command]
  })

async function screenshot(name) {
  const png = await wd('GET', `/session/${session}/screenshot`)
  writeFileSync(join(artifacts, name), Buffer.from(png, 'base64'))
}

before(async () => {
  const xvfb = await start('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
    ready: /^(\d+)$/,
    name: 'Xvfb'
  })
  const port = await freePort()
  const nativePort = await freePort()
  driver = await start('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    env: { DISPLAY: `:${xvfb.match[1]}`, XDG_DATA_HOME: data },
    name: 'tauri-driver'
  })
  webdriver = `http://127.0.0.1:${port}`
  driverClient = webDriver(webdriver)
  wd = driverClient.wd
  await waitFor('tauri-driver to answer', async () => (await fetch(`${webdriver}/status`)).ok)
  const created = await wd('POST', '/session', {
    capabilities: { alwaysMatch: { 'tauri:options': { application: minimalBinary } } }
  })
  session = created.sessionId
  mainHandle = await wd('GET', `/session/${session}/window`)
})

after(async () => {
  try {
    if (session !== undefined) await wd('DELETE', `/session/${session}`).catch(() => {})
  } finally {
    // Stopped before its data folder is read: a running WebKit adds and removes files
    // there while it is listed.
    await stopAll()
  }
  // For a failure's story: what the driver and WebKit printed (the last 200 lines), and
  // what the app left in its data folder (a crash report, a minidump).
  const left = readdirSync(data, { recursive: true }).map(String)
  const reports = left
    .filter((f) => f.endsWith('.json'))
    .map((f) => `--- ${f}\n${readFileSync(join(data, f), 'utf8').slice(0, 4000)}`)
  writeFileSync(
    join(artifacts, 'minimal-window.log'),
    [...(driver?.output ?? []), '--- data folder:', ...left, ...reports].join('\n')
  )
  rmSync(data, { recursive: true, force: true })
})

test("the app's own page has no telemetry code and the plugin opened the panel's window", async () => {
  assert.ok(await run('return document.querySelector(\'[data-testid="minimal"]\') !== null'))
  assert.equal(await run('return document.querySelector(\'[data-testid="view-overview"]\')'), null)
  const handles = await waitFor('the panel window', async () => {
    const all = await wd('GET', `/session/${session}/window/handles`)
    return all.length === 2 ? all : null
  })
  panelHandle = handles.find((h) => h !== mainHandle)
  await wd('POST', `/session/${session}/window`, { handle: panelHandle })
  const href = await run('return location.href')
  assert.match(href, /^telemetry-panel:\/\/localhost\/\?transport=ipc&title=Minimal/)
  assert.equal(await wd('GET', `/session/${session}/title`), 'Minimal — telemetry')
})

test('the panel window draws live charts that move', async () => {
  const cpu = '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
  const lastTs = () => run('const e = document.querySelector(arguments[0]); return e && Number(e.dataset.lastTs)', cpu)
  const first = await waitFor('CPU points', async () => {
    const points = Number(await run('const e = document.querySelector(arguments[0]); return e && e.dataset.points', cpu))
    return points >= 2 ? await lastTs() : null
  }, { timeoutMs: 60_000 })
  const later = await waitFor('a newer CPU point', async () => {
    const last = await lastTs()
    return last > first ? last : null
  }, { timeoutMs: 30_000 })
  assert.ok(later > first)
  await screenshot('minimal-panel-overview.png')
})

test("the panel's own frames are not measured into the app's metrics; the main window's are", async () => {
  assert.equal(await run('return window.__TAURI_INTERNALS__.metadata?.currentWebview?.label'), 'telemetry-panel')
  const snapshot = () =>
    wd('POST', `/session/${session}/execute/async`, {
      script: `const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke('plugin:opentelemetry|get_snapshot', {})
          .then((s) => done(JSON.stringify(s)), (e) => done('refused: ' + e))`,
      args: []
    })
  // The main window reports every 5 s; by then the panel, open since the start, would have too.
  const text = await waitFor("the main window's frame intervals", async () => {
    const t = await snapshot()
    return t.includes('webview_frame_interval_ms') && t.includes('"window":"main"') ? t : null
  }, { timeoutMs: 30_000 })
  assert.ok(!text.includes('"window":"telemetry-panel"'), 'no series of the panel window')
})

test("the panel window lists the app's traces, with the job's steps as children", async () => {
  await click('[data-testid="tab-traces"]')
  const trace = await waitFor('a job trace', async () =>
    (await rows('[data-testid="trace-row"]')).find((r) => r.text.includes('job') && Number(r.spanCount) >= 3)
  )
  assert.ok(Number(trace.spanCount) >= 3, JSON.stringify(trace))
})

test("the panel window tails the app's logs", async () => {
  await click('[data-testid="tab-logs"]')
  const warn = await waitFor('a failed job logged', async () =>
    (await rows('[data-testid="log-row"]')).find((r) => r.level === 'WARN' && r.text.includes('the input was truncated'))
  )
  assert.match(warn.text, /job \d+ failed/)
})

test('the panel window shows the health checks of the config, read-only', async () => {
  await click('[data-testid="tab-health"]')
  const checks = await waitFor('the configured checks', async () => {
    const names = (await rows('[data-testid="health-check"]')).map((r) => r.name)
    return names.includes('memory') && names.includes('disk_space') ? names : null
  })
  assert.ok(checks.includes('memory'))
  // Read-only: no "Run now", and the command itself is refused by the window's capability.
  assert.equal(await run('return document.querySelector(\'[data-testid="health-run"]\')'), null)
  assert.match(await invokeHere('run_health_checks'), /not allowed/)
})

test("the panel window shows the config's alert firing on the app's failing jobs", async () => {
  await click('[data-testid="tab-alerts"]')
  const alert = await waitFor('failing_jobs firing', async () =>
    (await rows('[data-testid="alert-row"]')).find((r) => r.rule === 'failing_jobs' && r.state === 'Firing')
  , { timeoutMs: 60_000 })
  assert.equal(alert.state, 'Firing')
  await screenshot('minimal-panel-alerts.png')
})

test("the main window's capability gives it none of the panel's commands", async () => {
  await wd('POST', `/session/${session}/window`, { handle: mainHandle })
  assert.match(await invokeHere('get_snapshot'), /not allowed/)
})
