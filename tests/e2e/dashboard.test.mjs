// The dashboard over HTTP in a real browser: the studio runs headless (as on a machine
// with no display) and Debian's Chromium, driven by playwright-core, opens its dashboard.
// Screenshots of every view go to test-artifacts/.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { launchChromium } from '../../scripts/chromium.mjs'
import { artifacts, freePort, start, stop, stopAll, studioBinary } from './support.mjs'

/** Values an installed app may meet in its user's environment. */
const BAD_ENV = {
  OTEL_TRACES_EXPORTER: 'zipkin',
  OTEL_EXPORTER_OTLP_PROTOCOL: '',
  OTEL_TRACES_SAMPLER: 'jaeger_remote',
  OTEL_SDK_DISABLED: 'maybe',
  OTEL_RESOURCE_ATTRIBUTES: 'team=video,broken',
  RUST_LOG: 'info,=x=y'
}

let browser
let page
let base
let studio
const problems = []

/** Takes a screenshot of the page as test-artifacts/dashboard-<name>.png. */
const shot = (name) => page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true })

/** Opens a view by its navigation button and waits for it. */
async function open(view) {
  await page.click(`[data-testid="tab-${view}"]`)
  await page.waitForSelector(`[data-testid="view-${view}"]`, { state: 'visible' })
}

/** The backend's own answer to a read command, for comparison with what is shown. */
async function api(command, args = {}) {
  const response = await fetch(`${base}api/${command}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args)
  })
  assert.equal(response.status, 200, `${command}: ${response.status}`)
  return response.json()
}

before(async () => {
  const port = await freePort()
  // Incidents every 30 s (from 10 s to 20 s): errors, slow frames, a render backlog.
  // Environment values the studio cannot use are warnings, never a failed start.
  studio = await start(studioBinary, ['--headless', '--incident-every', '30', '--duration', '600'], {
    env: { PROMETHEUS_PORT: String(port), ...BAD_ENV },
    ready: /^dashboard: (http:\/\/\S+)$/,
    name: 'studio'
  })
  base = studio.match[1]
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } })
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('requestfailed', (request) => {
    // Event streams are aborted on purpose when a view closes them.
    if (!request.url().includes('/api/subscribe_series') && !request.url().includes('/api/events')) {
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`)
    }
  })
  await page.goto(base)
})

after(async () => {
  try {
    await browser?.close()
  } finally {
    await stopAll()
  }
})

test('the page loads with no console errors', async () => {
  await page.waitForSelector('[data-testid="view-overview"]')
  await page.waitForSelector('[data-testid="chart"][data-points]:not([data-points="0"])')
  assert.deepEqual(problems, [])
})

test('overview charts on screen draw and move; those below the fold draw once scrolled to', async () => {
  const charts = '[data-testid="view-overview"] [data-testid="chart"]'
  const count = await page.locator(charts).count()
  assert.ok(count >= 4, `only ${count} overview charts`)
  const state = () =>
    page.$$eval(charts, (all) =>
      all.map((c) => {
        const r = c.getBoundingClientRect()
        return { metric: c.dataset.metric, points: Number(c.dataset.points), lastTs: Number(c.dataset.lastTs), shown: r.bottom > 0 && r.top < innerHeight }
      })
    )
  // The charts on screen have points.
  await page.waitForFunction(
    (selector) =>
      [...document.querySelectorAll(selector)].every((c) => {
        const r = c.getBoundingClientRect()
        return !(r.bottom > 0 && r.top < innerHeight) || Number(c.dataset.points) > 0
      }),
    charts,
    { timeout: 60_000 }
  )
  const first = await state()
  assert.ok(first.some((c) => !c.shown), 'some overview charts are below the fold at 1366×900')
  // The newest point of each chart on screen moves forward. (That nothing below the fold is
  // drawn is checked where the layout holds still: guest-js/test/dashboard-mount.test.ts
  // and the Chromium benchmark; here the alerts above the charts come and go.)
  await page.waitForFunction(
    ([selector, before]) =>
      [...document.querySelectorAll(selector)].every((c, i) => {
        const r = c.getBoundingClientRect()
        return !(r.bottom > 0 && r.top < innerHeight) || Number(c.dataset.lastTs) > before[i].lastTs
      }),
    [charts, first],
    { timeout: 30_000 }
  )
  const later = await state()
  // Scrolled into view, each chart below the fold draws what it has.
  const newest = Math.max(...later.map((c) => c.lastTs))
  for (const [i, chart] of later.entries()) {
    if (chart.shown) continue
    await page.locator(charts).nth(i).scrollIntoViewIfNeeded()
    await page.waitForFunction(
      ([selector, at, since]) => Number(document.querySelectorAll(selector)[at].dataset.lastTs) >= since,
      [charts, i, newest],
      { timeout: 30_000 }
    )
  }
  await page.locator(charts).first().scrollIntoViewIfNeeded()
  const names = first.map((c) => c.metric)
  for (const metric of ['system_cpu_usage_percent', 'system_memory_usage_bytes']) {
    assert.ok(names.includes(metric), `${metric} not charted: ${names.join(', ')}`)
  }
  await shot('overview')
})

test('the trace list fills and a click opens a waterfall with every span of the trace', async () => {
  await open('traces')
  const row = page.locator('[data-testid="trace-row"]').first()
  await row.waitFor({ timeout: 30_000 })
  const traceId = await row.getAttribute('data-trace-id')
  assert.match(traceId, /^[0-9a-f]{32}$/)
  await row.click()
  await page.waitForSelector('[data-testid="waterfall"] [data-testid="waterfall-span"]')
  const trace = await api('get_trace', { traceId })
  assert.ok(trace !== null, 'the backend no longer keeps the trace')
  const shown = await page.locator('[data-testid="waterfall-span"]').count()
  assert.equal(shown, trace.spans.length)
  assert.ok(shown >= 4, 'a render trace has pipeline, decode, encode and mux (#[instrument]) spans')
  const ids = await page.$$eval('[data-testid="waterfall-span"]', (all) => all.map((s) => s.dataset.spanId))
  assert.deepEqual(new Set(ids), new Set(trace.spans.map((s) => s.spanId)))
  await page.locator('[data-testid="waterfall-span"]').nth(1).click()
  await page.waitForSelector('[data-testid="span-details"]')
  await page.waitForSelector('[data-testid="trace-logs"]')
  await shot('traces')
})

test('an alert fires and shows', async () => {
  await open('alerts')
  const firing = page.locator('[data-testid="alert-row"][data-state="Firing"]').first()
  await firing.waitFor({ timeout: 90_000 })
  const rule = await firing.getAttribute('data-rule')
  const active = await api('get_active_alerts')
  assert.ok(
    active.some((a) => a.rule === rule),
    `${rule} is shown firing but the backend has ${JSON.stringify(active.map((a) => a.rule))}`
  )
  // Over HTTP the panel is read-only: no silence or acknowledge buttons.
  assert.equal(await page.locator('[data-testid="alert-silence"], [data-testid="alert-ack"]').count(), 0)
  await shot('alerts')
})

test('a health check turns unhealthy and shows', async () => {
  await open('health')
  const check = page.locator('[data-testid="health-check"][data-name="render_queue"]')
  await check.waitFor()
  await page.waitForSelector('[data-testid="health-check"][data-name="render_queue"][data-status="Unhealthy"]', {
    timeout: 90_000
  })
  assert.equal(await page.locator('[data-testid="health-run"]').count(), 0, 'run now needs write access')
  await shot('health')
  await open('overview')
  await page.waitForSelector('[data-testid="health-summary"][data-status="Unhealthy"]', { timeout: 30_000 })
})

test('logs tail live and filter by level', async () => {
  await open('logs')
  await page.waitForSelector('[data-testid="log-row"]', { timeout: 30_000 })
  await page.selectOption('[data-testid="log-level"]', 'ERROR')
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="log-row"]')]
    return rows.length > 0 && rows.every((r) => r.dataset.level === 'ERROR')
  }, undefined, { timeout: 60_000 })
  await shot('logs')
})

test("logs filter by session: this launch's session.id is offered and its records kept", async () => {
  const { 'session.id': session } = await api('get_resource')
  assert.match(session, /^[0-9a-f-]{36}$/)
  await open('logs')
  await page.waitForSelector(`[data-testid="log-session"] option[value="${session}"]`, { state: 'attached' })
  await page.selectOption('[data-testid="log-session"]', session)
  await page.waitForSelector('[data-testid="log-row"]', { timeout: 30_000 })
  const backend = await api('get_logs', { filter: { sessionId: session, limit: 5 } })
  assert.ok(backend.length > 0 && backend.every((r) => r.sessionId === session))
  const other = await api('get_logs', { filter: { sessionId: 'another-launch' } })
  assert.deepEqual(other, [])
})

test('each environment value the studio could not use is a warning that names it', async () => {
  const logs = await api('get_logs', { filter: { minLevel: 'warn', text: 'environment variable', limit: 50 } })
  const named = logs.filter((r) => r.target === 'telemetry::config').map((r) => r.message)
  for (const [variable, value] of Object.entries(BAD_ENV)) {
    if (value === '') continue // an empty value is unset, not a problem
    assert.ok(
      named.some((m) => m.startsWith(`environment variable ${variable}: "${value}" is ignored`)),
      `${variable}: ${named.join(' | ')}`
    )
  }
  assert.equal(named.length, Object.values(BAD_ENV).filter((v) => v !== '').length, named.join(' | '))
})

test('the metric panels and the explorer chart the studio metrics', async () => {
  await open('metrics')
  const charts = '[data-testid="view-metrics"] [data-testid="chart"]'
  await page.waitForFunction(
    (selector) => {
      const all = [...document.querySelectorAll(selector)]
      return all.length >= 6 && all.filter((c) => Number(c.dataset.points) > 0).length >= 6
    },
    charts,
    { timeout: 60_000 }
  )
  // The studio registers its own panels (the engine knows none of them): its sections
  // come first, in its order, then the default panels of its other metrics.
  const sections = await page.$$eval('[data-testid="view-metrics"] .chart-section h3', (hs) =>
    hs.map((h) => h.textContent)
  )
  assert.deepEqual(sections.slice(0, 4), ['Video and frames', 'API', 'Cache', 'Workers and tasks'])
  assert.ok(await page.$('[data-testid="view-metrics"] [data-metric="video_processing_duration_ms"]'))
  await shot('metrics')
})

test('themes switch and a narrow side panel has no horizontal scroll', async () => {
  const theme = () => page.$eval('[data-theme]', (e) => e.dataset.theme)
  const before = await theme()
  await page.click('[data-testid="theme-toggle"]')
  const afterToggle = await theme()
  assert.notEqual(afterToggle, before)
  await open('overview')
  await shot(`overview-${afterToggle}`)
  await page.setViewportSize({ width: 360, height: 800 })
  await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth + 1)
  await shot('narrow')
  assert.deepEqual(problems, [])
})

// Last: it stops the studio.
test('a bundle saved from the headless studio opens offline and shows its traces and charts', async () => {
  await page.setViewportSize({ width: 1366, height: 900 })
  await open('traces')
  await page.locator('[data-testid="trace-row"]').first().waitFor({ timeout: 30_000 })
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid="save-bundle"]')
  ])
  assert.match(download.suggestedFilename(), /^timeline-studio-diagnostics-\d{8}T\d{6}Z\.json\.gz$/)
  const file = join(artifacts, download.suggestedFilename())
  await download.saveAs(file)
  // The backend goes away: from here on, everything shown comes from the file.
  await stop(studio.child)
  await page.setInputFiles('[data-testid="open-bundle-file"]', file)
  const banner = await page.waitForSelector('[data-testid="bundle-banner"]')
  assert.match(await banner.innerText(), /Diagnostics bundle of timeline-studio .*last 15 min/)
  await open('overview')
  const charts = '[data-testid="view-overview"] [data-testid="chart"]'
  // The charts on screen draw the bundle's series (those below the fold draw when
  // scrolled to).
  await page.waitForFunction(
    (selector) => {
      const all = [...document.querySelectorAll(selector)]
      const shown = all.filter((c) => {
        const r = c.getBoundingClientRect()
        return r.bottom > 0 && r.top < innerHeight
      })
      return all.length >= 4 && shown.length >= 3 && shown.every((c) => Number(c.dataset.points) > 0)
    },
    charts,
    { timeout: 15_000 }
  )
  await open('traces')
  const row = page.locator('[data-testid="trace-row"]').first()
  await row.waitFor({ timeout: 15_000 })
  await row.click()
  await page.waitForSelector('[data-testid="waterfall"] [data-testid="waterfall-span"]')
  assert.ok((await page.locator('[data-testid="waterfall-span"]').count()) >= 4)
  await shot('bundle')
  await page.click('[data-testid="bundle-back"]')
  await page.waitForSelector('[data-testid="bundle-banner"]', { state: 'detached' })
})
