// The studio app in a real window: Xvfb, tauri-driver and WebKitWebDriver drive the
// binary built with its frontend embedded, and the telemetry panel must show live data
// that reaches it over Tauri IPC.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { artifacts, freePort, start, stopAll, studioBinary, waitFor, webDriver } from './support.mjs'

let webdriver
let session
let metricsPort

/** The WebDriver client and its one-command function, once tauri-driver listens. */
let driverClient
let wd
/** Runs `script` (a function body) in the current window and returns its value. */
const run = (script, ...args) => driverClient.run(session, script, ...args)

const attribute = (selector, name) =>
  run('const e = document.querySelector(arguments[0]); return e && e.getAttribute(arguments[1])', selector, name)

before(async () => {
  const xvfb = await start('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
    ready: /^(\d+)$/,
    name: 'Xvfb'
  })
  const display = `:${xvfb.match[1]}`
  const port = await freePort()
  const nativePort = await freePort()
  metricsPort = await freePort()
  await start('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    env: { DISPLAY: display, PROMETHEUS_PORT: String(metricsPort) },
    name: 'tauri-driver'
  })
  webdriver = `http://127.0.0.1:${port}`
  driverClient = webDriver(webdriver)
  wd = driverClient.wd
  await waitFor('tauri-driver to answer', async () => (await fetch(`${webdriver}/status`)).ok)
  const created = await wd('POST', '/session', {
    capabilities: {
      alwaysMatch: {
        'tauri:options': { application: studioBinary, args: ['--incident-every', '20'] }
      }
    }
  })
  session = created.sessionId
})

after(async () => {
  if (session !== undefined) await wd('DELETE', `/session/${session}`).catch(() => {})
  await stopAll()
})

test('the panel renders inside the app window', async () => {
  await waitFor('the overview', () => attribute('[data-testid="view-overview"]', 'data-testid'))
  const title = await wd('GET', `/session/${session}/title`)
  assert.match(title, /Timeline Studio/)
})

test('the overview charts draw live data that moves', async () => {
  const cpu = '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
  const first = Number(
    await waitFor('CPU points', async () => {
      const points = Number(await attribute(cpu, 'data-points'))
      return points >= 2 ? await attribute(cpu, 'data-last-ts') : null
    }, { timeoutMs: 60_000 })
  )
  const later = Number(
    await waitFor('a newer CPU point', async () => {
      const last = Number(await attribute(cpu, 'data-last-ts'))
      return last > first ? last : null
    })
  )
  assert.ok(later > first)
})

test('health and exporters reach the window over IPC', async () => {
  const status = await waitFor('the health summary', () =>
    attribute('[data-testid="health-summary"]', 'data-status')
  )
  assert.match(status, /^(Healthy|Warning|Unhealthy|Unknown)$/)
  const exporters = await waitFor('an exporter row', () =>
    run('return [...document.querySelectorAll(\'[data-testid="exporter-row"]\')].map(e => e.dataset.name)')
      .then((names) => (names.length > 0 ? names : null))
  )
  assert.ok(exporters.some((name) => name.startsWith('metrics:prometheus:')), exporters.join(', '))
})

test('a write command the capability grants works from the panel', async () => {
  await run('document.querySelector(\'[data-testid="tab-health"]\').click()')
  await waitFor('the health checks', () =>
    run('return document.querySelectorAll(\'[data-testid="health-check"]\').length').then((n) => n >= 4)
  )
  await run('document.querySelector(\'[data-testid="health-run"]\').click()')
  const names = await waitFor('render_queue among the checks', () =>
    run('return [...document.querySelectorAll(\'[data-testid="health-check"]\')].map(e => e.dataset.name)').then(
      (n) => (n.includes('render_queue') ? n : null)
    )
  )
  assert.ok(names.includes('render_queue'))
  const errors = await run(
    'const e = document.querySelector(\'[data-testid="error-strip"]\'); return e ? e.textContent : ""'
  )
  assert.equal(errors.trim(), '', `the panel reported an error: ${errors}`)
  const png = await wd('GET', `/session/${session}/screenshot`)
  writeFileSync(join(artifacts, 'studio-window-health.png'), Buffer.from(png, 'base64'))
  await run('document.querySelector(\'[data-testid="tab-overview"]\').click()')
  const overview = await wd('GET', `/session/${session}/screenshot`)
  writeFileSync(join(artifacts, 'studio-window-overview.png'), Buffer.from(overview, 'base64'))
})

test("a thrown JS error is captured with no app code and shows in the panel's log tail with its stack", async () => {
  await run('document.querySelector(\'[data-testid="throw-error"]\').click()')
  await run('document.querySelector(\'[data-testid="tab-logs"]\').click()')
  const stack = await waitFor('the error row with its stack', () =>
    run(`
      const row = [...document.querySelectorAll('[data-testid="log-row"]')]
        .find((r) => r.textContent.includes('project.clips is undefined'))
      const stack = row && row.querySelector('[data-testid="log-stack"] pre')
      return row ? { level: row.dataset.level, text: row.textContent, stack: stack ? stack.textContent : '' } : null
    `), { timeoutMs: 30_000 }
  )
  assert.equal(stack.level, 'ERROR')
  assert.match(stack.text, /exception\.type=TypeError/)
  assert.match(stack.text, /window=main/)
  assert.ok(stack.stack.length > 0, 'the stack is shown')
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  assert.match(text, /webview_errors_total\{window="main"\} [1-9]/)
  await run('document.querySelector(\'[data-testid="tab-overview"]\').click()')
})

/** The value of the first sample of metric `name` whose line holds every one of `labels`. */
async function sample(name, ...labels) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && labels.every((x) => l.includes(x)))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

test("the window's frame intervals and page load are measured with no app code", async () => {
  const frames = await waitFor('frame intervals from the main window', async () => {
    const n = await sample('webview_frame_interval_ms_count', 'window="main"')
    return n > 0 ? n : null
  }, { timeoutMs: 30_000 })
  assert.ok(frames > 0)
  const load = await sample('webview_page_load_ms_count', 'window="main"', 'phase="load"')
  assert.ok(load >= 1, 'the page load was measured')
})

test('a flooding page is cut at its budget: drops are counted, the app stays responsive', async () => {
  const rss = await sample('process_resident_memory_bytes')
  // 3,000 console.error calls, yielding between them so that they reach the plugin as
  // fast as IPC goes (a synchronous loop is cut in the page, at 64 on their way).
  const flood = await wd('POST', `/session/${session}/execute/async`, {
    script: `
      const done = arguments[arguments.length - 1]
      ;(async () => {
        for (let i = 0; i < 3000; i += 1) {
          console.error('flood', i)
          if (i % 10 === 0) await new Promise((r) => setTimeout(r, 0))
        }
        done(window.__OTEL_CAPTURE__.dropped)
      })()`,
    args: []
  })
  const dropped = await waitFor('the plugin to count the flood', async () => {
    const n = await sample('webview_logs_dropped_total', 'reason="rate"', 'window="main"')
    return n > 0 ? n : null
  })
  // What the page did not drop, the plugin did, past 100 at once and 20 a second.
  assert.ok(flood + dropped > 2000, `page dropped ${flood}, plugin dropped ${dropped}`)
  const after = await sample('process_resident_memory_bytes')
  assert.ok(after - rss < 64 * 1024 * 1024, `RSS grew by ${(after - rss) >> 20} MiB`)
  // Still answering.
  const status = await run('return document.querySelector(\'[data-testid="health-summary"]\') !== null')
  assert.equal(status, true)
})

/** `telemetry_streams_open{transport="ipc"}` as the app's Prometheus endpoint serves it. */
async function ipcStreamsOpen() {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('telemetry_streams_open{transport="ipc"} '))
  return line === undefined ? null : Number(line.split(' ').pop())
}

test('a pop-out panel window streams on its own, and its streams end when it closes', async () => {
  // The previous test left the overview open: its streams are the main window's, the
  // "Windows" charts included once the window has reported its frame intervals.
  await waitFor('the overview\'s Windows charts', () =>
    run('return document.querySelectorAll(\'.window-charts [data-testid="chart"]\').length').then((n) =>
      n > 0 ? n : null
    ), { timeoutMs: 30_000 }
  )
  const mainOnly = await waitFor('the main window\'s stream to be counted', async () => {
    const open = await ipcStreamsOpen()
    return open !== null && open > 0 ? open : null
  })
  await run('document.querySelector(\'[data-testid="pop-out"]\').click()')
  await waitFor('the pop-out window to open', () =>
    attribute('[data-testid="pop-out"]', 'data-state').then((s) => (s === 'open' ? s : null))
  )
  const both = await waitFor('the pop-out window\'s stream', async () => {
    const open = await ipcStreamsOpen()
    return open !== null && open > mainOnly ? open : null
  })
  assert.ok(both > mainOnly)
  // Destroying the window ends its streams at once (the plugin drops a destroyed
  // webview's streams); waiting for them to stall would take 30 s.
  await run('document.querySelector(\'[data-testid="pop-out"]\').click()')
  const after = await waitFor(
    'the pop-out window\'s streams to end',
    async () => {
      const open = await ipcStreamsOpen()
      return open === mainOnly ? open : null
    },
    { timeoutMs: 10_000 }
  )
  assert.equal(after, mainOnly)
  await waitFor('the button to offer the pop-out again', () =>
    attribute('[data-testid="pop-out"]', 'data-state').then((s) => (s === 'closed' ? s : null))
  )
})

test('the app serves the same dashboard over HTTP while its window is open', async () => {
  const page = await fetch(`http://127.0.0.1:${metricsPort}/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /assets\/dashboard\.js/)
})

test("a click on a studio command is one trace: the webview's client span, the command's span and its tracing work", async () => {
  await run('document.querySelector(\'[data-testid="export-project"]\').click()')
  const state = await waitFor('the export to finish', () =>
    attribute('[data-testid="project-status"]', 'data-state').then((s) => (s === 'exported' || s === 'failed' ? s : null))
  )
  assert.equal(state, 'exported', await attribute('[data-testid="project-status"]', 'data-state'))
  // The init script reports what it measured every 2 s; the trace is complete once the
  // client span (its root) has arrived.
  const api = async (command, args) => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/api/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args)
    })
    assert.equal(response.status, 200, command)
    return response.json()
  }
  const trace = await waitFor('the trace with its client span', async () => {
    const traces = await api('list_traces', { filter: { name: 'export_project' } })
    return traces.find((t) => t.spans.some((s) => s.attributes['tauri.outcome'] === 'ok')) ?? null
  }, { timeoutMs: 30_000 })
  const client = trace.spans.find((s) => s.attributes['tauri.outcome'] === 'ok')
  assert.equal(client.parentSpanId, null, 'the client span is the root')
  assert.equal(client.attributes['rpc.system'], 'tauri')
  assert.equal(client.attributes['rpc.service'], 'app')
  assert.equal(client.attributes['tauri.window'], 'main')
  const server = trace.spans.find((s) => s.name === 'export_project' && s.parentSpanId === client.spanId)
  assert.ok(server, `the command's span is the client span's child: ${JSON.stringify(trace.spans)}`)
  const encodes = trace.spans.filter((s) => s.name === 'encode_segment' && s.parentSpanId === server.spanId)
  assert.equal(encodes.length, 4, 'each #[instrument] segment is a child of the command span')
  assert.ok(trace.spans.some((s) => s.name === 'read_project' && s.parentSpanId === server.spanId))
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  assert.match(text, /tauri_ipc_duration_ms_count\{command="export_project",outcome="ok"\} [1-9]/)
})
