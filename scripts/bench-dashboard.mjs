#!/usr/bin/env node
// The live dashboard's performance benchmark (`npm run bench:dashboard`): builds the bench
// page (guest-js/dashboard/bench), serves it on 127.0.0.1, opens it in Debian's Chromium
// (playwright-core) and, one after the other in the same browser, streams 10 updates a
// second of 50 series × 3,600 points for BENCH_SECONDS (default 600) into
//   - dashboard: the real dashboard's Metrics view over an in-memory engine, and
//   - uplot:     the same charts drawn with bare uPlot (the peer, the chart library's floor).
// Measures main-thread time per update (in the page: handling it and drawing it, in the
// update's task for the peer, in the next animation frame for the dashboard, whose wait for
// the frame is idle time reported apart as latency; and from CDP: the main thread's CPU
// time, ThreadTime, and its task time, TaskDuration, which leaves out the canvas raster
// Chromium runs after a task, but not the raster of canvases drawn in a frame, done in the
// frame's own task) and the JS heap after a forced GC every 30 s (5 s for runs
// under 2 minutes); prints a Markdown table with the ratio dashboard / uPlot and writes
// target/dashboard-bench/result.json. The peer draws every point it holds (uPlot reduces
// them per pixel itself); the dashboard decimates to at most 4 points per pixel column and
// line, which the run checks.
// Exits non-zero when the page reports an error or the updates did not all arrive and draw.
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { dirname, extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import { build } from 'vite'

import { launchChromium } from './chromium.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'target', 'dashboard-bench')
const CONFIG = join(ROOT, 'guest-js', 'dashboard', 'bench', 'vite.config.ts')

const VIEWPORT = { width: 1366, height: 900 }
const MODES = [
  ['dashboard', 'dashboard'],
  ['uplot', 'bare uPlot']
]

/** The CDP metrics read per update (seconds, summed since the page opened). */
const TIMES = [
  'ThreadTime',
  'TaskDuration',
  'ProcessTime',
  'ScriptDuration',
  'LayoutDuration',
  'RecalcStyleDuration'
]

/** The targets: main-thread time per update, and a heap that does not grow. */
const TARGET_MS = 4
/** "Flat": the heap's trend over the run's second half, in KiB a minute, stays under this. */
const FLAT_KIB_PER_MIN = 64

/** A side keeps up when the stream skips at most this share of its ticks. */
const KEEP_UP = 0.01
const keepsUp = (r) => r.outcome.skipped <= KEEP_UP * r.outcome.scheduled

const SECONDS = Number(process.env.BENCH_SECONDS ?? 600)
if (!Number.isFinite(SECONDS) || SECONDS < 10) {
  console.error(`BENCH_SECONDS: give a number of seconds, 10 or more (got ${process.env.BENCH_SECONDS})`)
  process.exit(2)
}
const SAMPLE_S = SECONDS < 120 ? 5 : 30

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

/** Serves `dir` on 127.0.0.1 at a free port; resolves to the server and its base URL. */
function serve(dir) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)
    const file = resolve(dir, `.${path === '/' ? '/index.html' : path}`)
    if (!file.startsWith(dir + sep)) {
      response.writeHead(403).end()
      return
    }
    try {
      const body = await readFile(file)
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      response.end(body)
    } catch {
      response.writeHead(404).end()
    }
  })
  return new Promise((resolveServe, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolveServe({ server, base: `http://127.0.0.1:${server.address().port}` })
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)))

/** Sorted copy's value at quantile `q` (nearest rank). */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** Median, p95, p99, max and mean of `values` (ms). */
function distribution(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    medianMs: quantile(sorted, 0.5),
    p95Ms: quantile(sorted, 0.95),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? NaN,
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length
  }
}

/** Least-squares slope of `y` over `x`. */
function slope(points) {
  const n = points.length
  if (n < 2) return NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}

/** Streams into one side of the bench page for SECONDS and measures it. */
async function measure(browser, base, mode) {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 })
  const problems = []
  try {
    const page = await context.newPage()
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    page.on('crash', () => problems.push('the page crashed'))
    await page.goto(`${base}/index.html?mode=${mode}`)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable')
    const metrics = async () => {
      const { metrics: list } = await cdp.send('Performance.getMetrics')
      return Object.fromEntries(list.map((m) => [m.name, m.value]))
    }
    // A forced GC, then the heap, with the stream held: the GC's time is left out of the
    // updates' and does not make the page late.
    const held = Object.fromEntries(TIMES.map((name) => [name, 0]))
    const sample = async (t) => {
      await page.evaluate(() => window.bench.pause())
      const before = await metrics()
      await cdp.send('HeapProfiler.collectGarbage')
      const after = await metrics()
      await page.evaluate(() => window.bench.resume())
      for (const name of TIMES) held[name] += after[name] - before[name]
      return {
        t,
        heapBytes: after.JSHeapUsedSize,
        nodes: after.Nodes,
        listeners: after.JSEventListeners,
        gcMs: (after.ThreadTime - before.ThreadTime) * 1000
      }
    }

    const prepared = await page.evaluate((s) => window.bench.prepare(s), SECONDS)
    const samples = [await sample(0)]
    for (const name of TIMES) held[name] = 0
    const m0 = await metrics()
    const started = Date.now()
    const running = page.evaluate(() => window.bench.run())
    let ended = false
    const end = running.then(
      () => (ended = true),
      () => (ended = true)
    )
    for (let next = SAMPLE_S; ; next += SAMPLE_S) {
      await Promise.race([sleep(started + next * 1000 - Date.now()), end])
      if (ended || problems.length > 0) break
      const s = await sample((Date.now() - started) / 1000)
      samples.push(s)
      const delivered = await page.evaluate(() => window.bench.delivered())
      console.error(
        `  ${mode.padEnd(9)} ${String(Math.round(s.t)).padStart(4)}/${SECONDS} s  ` +
          `heap ${(s.heapBytes / 2 ** 20).toFixed(2)} MiB  nodes ${s.nodes}  updates ${delivered}`
      )
    }
    const outcome = await running
    const m1 = await metrics()
    const cdpMs = Object.fromEntries(
      TIMES.map((name) => [name, ((m1[name] - m0[name] - held[name]) * 1000) / outcome.delivered])
    )
    const forcedGcMs = held.ThreadTime * 1000
    samples.push(await sample((Date.now() - started) / 1000))

    const half = samples.at(-1).t / 2
    const second = samples.filter((s) => s.t >= half).map((s) => [s.t / 60, s.heapBytes / 1024])
    return {
      mode,
      problems: [...problems, ...outcome.errors],
      prepared,
      outcome: { ...outcome, handleMs: undefined, updateMs: undefined, latencyMs: undefined },
      rate: outcome.delivered / (outcome.elapsedMs / 1000),
      update: distribution(outcome.updateMs),
      handle: distribution(outcome.handleMs),
      latency: distribution(outcome.latencyMs),
      cdpMs,
      forcedGcMs,
      heap: {
        firstBytes: samples[0].heapBytes,
        lastBytes: samples.at(-1).heapBytes,
        slopeKiBPerMin: slope(second),
        samples
      },
      nodes: { first: samples[0].nodes, last: samples.at(-1).nodes },
      elements: { first: prepared.domNodes, last: outcome.domNodes }
    }
  } finally {
    await context.close()
  }
}

/** What went wrong in a run, as sentences; empty when it measured what it should. */
function checks(result) {
  const out = [...result.problems.map((p) => `${result.mode}: ${p}`)]
  const o = result.outcome
  if (o.delivered === 0) out.push(`${result.mode}: no update was delivered`)
  if (o.delivered + o.skipped !== o.scheduled) {
    out.push(`${result.mode}: ${o.delivered} handled + ${o.skipped} skipped ≠ ${o.scheduled} ticks`)
  }
  if (o.undrawn > 0) out.push(`${result.mode}: ${o.undrawn} updates did not draw every chart on screen`)
  // On screen, every chart shows the last update (the dashboard's within a second of it:
  // the run waits that long); below the fold the dashboard draws nothing.
  const stale = o.charts.filter((c) => c.onScreen && c.lastTs !== o.lastTs).map((c) => c.metric)
  if (stale.length > 0) out.push(`${result.mode}: charts on screen missing the last update: ${stale.join(', ')}`)
  if (result.mode === 'dashboard') {
    const drawnOff = o.charts.filter((c) => !c.onScreen && c.lastTs === o.lastTs).map((c) => c.metric)
    if (drawnOff.length > 0) out.push(`dashboard: charts off screen were drawn: ${drawnOff.join(', ')}`)
  }
  return out
}

const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '–')
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–')
const mib = (bytes) => (bytes / 2 ** 20).toFixed(2)

function table(d, u) {
  const row = (label, a, b, r = '') => `| ${label} | ${a} | ${b} | ${r} |`
  const ms = (label, get) => row(label, fmt(get(d)), fmt(get(u)), ratio(get(d), get(u)))
  const both = (label, get) => row(label, get(d), get(u))
  const points = (r) => r.outcome.charts.filter((c) => c.onScreen).reduce((n, c) => n + c.points, 0)
  const shown = (r) => `${r.outcome.charts.filter((c) => c.onScreen).length} of ${r.outcome.charts.length}`
  return [
    '| measure | dashboard | bare uPlot | dashboard / uPlot |',
    '|---|---:|---:|---:|',
    ms('update to next task (with canvas raster), median (ms)', (r) => r.update.medianMs),
    ms('… p95 (ms)', (r) => r.update.p95Ms),
    ms('… max (ms)', (r) => r.update.maxMs),
    ms('handler and uPlot draw calls only, median (ms)', (r) => r.handle.medianMs),
    ms('update to next task after its draws, waits included (latency), median (ms)', (r) =>
      r.latency.medianMs
    ),
    ms('main-thread CPU, CDP ThreadTime, mean (ms)', (r) => r.cdpMs.ThreadTime),
    ms('main-thread tasks, CDP TaskDuration, mean (ms)', (r) => r.cdpMs.TaskDuration),
    ms('renderer process CPU, CDP ProcessTime, mean (ms)', (r) => r.cdpMs.ProcessTime),
    both('updates handled / stream ticks', (r) => `${r.outcome.delivered} / ${r.outcome.scheduled}`),
    both('charts on screen (drawn)', shown),
    both('points on screen (end)', points),
    both('JS heap after GC, first → last (MiB)', (r) => `${mib(r.heap.firstBytes)} → ${mib(r.heap.lastBytes)}`),
    both('JS heap slope, second half (KiB/min)', (r) => fmt(r.heap.slopeKiBPerMin, 1)),
    both('DOM nodes (CDP), start → end', (r) => `${r.nodes.first} → ${r.nodes.last}`),
    both('DOM elements in page, start → end', (r) => `${r.elements.first} → ${r.elements.last}`)
  ].join('\n')
}

async function main() {
  const load = { before: loadavg() }
  console.error(`building the bench page into ${OUT}`)
  await build({ configFile: CONFIG, logLevel: 'warn' })

  let server
  let browser
  const stop = async () => {
    await browser?.close().catch(() => {})
    browser = undefined
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise((r) => server.close(() => r()))
      server = undefined
    }
  }
  const onSignal = (signal) => {
    console.error(`${signal}: stopping`)
    void stop().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const results = {}
  let version
  try {
    const served = await serve(OUT)
    server = served.server
    browser = await launchChromium(['--enable-precise-memory-info'])
    version = browser.version()
    for (const [mode, label] of MODES) {
      console.error(`${label}: ${SECONDS} s of 10 updates/s (heap sampled every ${SAMPLE_S} s)`)
      results[mode] = await measure(browser, served.base, mode)
    }
  } finally {
    await stop()
  }
  load.after = loadavg()

  const d = results.dashboard
  const u = results.uplot
  const failures = [...checks(d), ...checks(u)]
  // Both sides must draw the same charts on screen: the same sizes; the peer every point it
  // holds, the dashboard no more than 4 points per pixel column and line (its canvas is
  // wider than its plot) and never more than the peer. Below the fold the dashboard draws
  // nothing (width 0).
  const list = (r, key) => r.prepared.charts.filter((c) => c.onScreen).map((c) => c[key]).join(',')
  if (list(d, 'width') !== list(u, 'width') || list(d, 'metric') !== list(u, 'metric')) {
    failures.push(`chart widths differ: dashboard ${list(d, 'width')}; uPlot ${list(u, 'width')}`)
  }
  d.prepared.charts.forEach((c, i) => {
    const bound = Math.min(4 * (c.width + 1) * c.lines, u.prepared.charts[i]?.points ?? 0)
    if (c.points > bound) {
      failures.push(`${c.metric}: the dashboard draws ${c.points} points, more than ${bound}`)
    }
  })

  const cpu = cpus()
  const shape = d.prepared
  const header =
    `Dashboard benchmark: ${shape.series} series in ${shape.charts.length} charts ` +
    `(${shape.lines} lines, the Metrics view), ${shape.historyPoints} points of history each, ` +
    `10 updates/s for ${SECONDS} s; Chromium ${version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}; ` +
    `load average ${load.before.map((l) => l.toFixed(2)).join(' ')} before, ` +
    `${load.after.map((l) => l.toFixed(2)).join(' ')} after`
  const timeMet = d.update.p95Ms < TARGET_MS && d.cdpMs.ThreadTime < TARGET_MS
  const flat = d.heap.slopeKiBPerMin < FLAT_KIB_PER_MIN
  const verdict =
    `Target: under ${TARGET_MS} ms per update (p95 to the next task, and mean main-thread CPU): ` +
    `${timeMet ? 'met' : 'NOT met'}; flat memory (second-half slope under ${FLAT_KIB_PER_MIN} KiB/min): ` +
    `${flat ? 'met' : 'NOT met'}.`
  const keeps = (r) => (keepsUp(r) ? 'keeps up' : 'falls behind')
  const pace =
    `At 10 updates/s the dashboard ${keeps(d)}, bare uPlot ${keeps(u)} ` +
    `(falling behind: still busy a whole tick after ${KEEP_UP * 100}% of the ticks or more, ` +
    'which the stream then skips, as the engine does for a receiver that has not acknowledged).'
  const markdown = `${header}\n\n${table(d, u)}\n\n${verdict} ${pace}`
  console.log(markdown)
  console.log(
    `\nratio dashboard / bare uPlot, time per update: ${ratio(d.update.medianMs, u.update.medianMs)} ` +
      `(median, update to next task), ${ratio(d.cdpMs.ThreadTime, u.cdpMs.ThreadTime)} (mean main-thread CPU)`
  )

  const result = {
    date: new Date().toISOString(),
    seconds: SECONDS,
    sampleSeconds: SAMPLE_S,
    updatesPerSecond: 10,
    viewport: VIEWPORT,
    machine: {
      cpus: cpu.length,
      model: cpu[0]?.model,
      loadavg: load,
      chromium: version,
      node: process.version
    },
    target: {
      msPerUpdate: TARGET_MS,
      flatKiBPerMin: FLAT_KIB_PER_MIN,
      timeMet,
      flat,
      keepsUp: { dashboard: keepsUp(d), uplot: keepsUp(u) }
    },
    ratio: {
      updateMedian: d.update.medianMs / u.update.medianMs,
      updateP95: d.update.p95Ms / u.update.p95Ms,
      handleMedian: d.handle.medianMs / u.handle.medianMs,
      threadTime: d.cdpMs.ThreadTime / u.cdpMs.ThreadTime,
      taskDuration: d.cdpMs.TaskDuration / u.cdpMs.TaskDuration
    },
    results,
    failures,
    markdown
  }
  await writeFile(join(OUT, 'result.json'), `${JSON.stringify(result, null, 2)}\n`)
  console.error(`wrote ${join(OUT, 'result.json')}`)
  if (failures.length > 0) {
    console.error(`\nthe benchmark did not measure what it should:\n- ${failures.join('\n- ')}`)
    return 1
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
