import { describe, expect, it } from 'vitest'

import type { LogRecord, SpanRecord, TraceRecord, TraceSummary } from '../src/index'
import { formatBytes, formatTicks, formatValue } from '../dashboard/core/format'
import { isUsableLocale } from '../dashboard/core/locale'
import { Scope } from '../dashboard/core/scope'
import { resolveTheme } from '../dashboard/core/theme'
import { labelValues } from '../dashboard/data/catalogue'
import { LogTail } from '../dashboard/data/logtail'
import {
  type Line,
  quantilePanel,
  ratePanel,
  ratioPanel,
  selectorsOf
} from '../dashboard/data/panels'
import { CounterRate, HitRatio } from '../dashboard/data/rate'
import { PointRing } from '../dashboard/data/ring'
import { SeriesBuffers } from '../dashboard/data/series'
import { TraceList, loadNote, passes, toTraceFilter } from '../dashboard/data/traces'
import { layoutWaterfall } from '../dashboard/data/waterfall'
import { TOKEN_KEY, takeToken } from '../dashboard/token'

/** A ring's points as `[ts, value]` pairs, oldest first. */
function pointsOf(ring: PointRing): Array<[number, number]> {
  return Array.from({ length: ring.size }, (_, i) => [ring.ts(i), ring.value(i)])
}

/** A ring of `capacity` (default: room for all) holding `points`. */
function ringOf(points: ReadonlyArray<readonly [number, number]>, capacity = 16): PointRing {
  const ring = new PointRing(capacity)
  for (const [ts, value] of points) ring.push(ts, value)
  return ring
}

describe('the point ring', () => {
  it('keeps the newest points up to its capacity, oldest first', () => {
    const ring = new PointRing(3)
    for (const t of [1, 2, 3, 4, 5]) ring.push(t, t * 10)
    expect(ring.size).toBe(3)
    expect(pointsOf(ring)).toEqual([
      [3, 30],
      [4, 40],
      [5, 50]
    ])
    expect([ring.lastTs, ring.lastValue]).toEqual([5, 50])
  })

  it('drops points older than a time, also across the wrap', () => {
    const ring = new PointRing(4)
    for (const t of [1, 2, 3, 4, 5, 6]) ring.push(t, t)
    ring.dropBefore(5)
    expect(pointsOf(ring)).toEqual([
      [5, 5],
      [6, 6]
    ])
    ring.push(7, 7)
    expect(pointsOf(ring).map(([t]) => t)).toEqual([5, 6, 7])
    const epoch = ring.epoch
    ring.clear()
    expect(ring.size).toBe(0)
    expect([ring.lastTs, ring.lastValue]).toEqual([-Infinity, undefined])
    expect(ring.epoch).toBe(epoch + 1)
  })

  it('copies its columns out oldest first, also across the wrap', () => {
    const ring = new PointRing(4)
    for (const t of [1, 2, 3, 4, 5, 6]) ring.push(t, t * 10)
    const ts = new Float64Array(4)
    const values = new Float64Array(4)
    expect(ring.copyTo(ts, values)).toBe(4)
    expect([...ts]).toEqual([3, 4, 5, 6])
    expect([...values]).toEqual([30, 40, 50, 60])
  })

  it('refuses a capacity below one', () => {
    expect(() => new PointRing(0)).toThrow('capacity: must be at least 1, got 0')
  })
})

describe('counter rates', () => {
  const rates = (points: ReadonlyArray<readonly [number, number]>) => {
    const rate = new CounterRate(ringOf(points))
    rate.update()
    return pointsOf(rate.ring)
  }

  it('is the increase per second between points', () => {
    expect(
      rates([
        [0, 10],
        [2000, 30],
        [3000, 35]
      ])
    ).toEqual([
      [2000, 10],
      [3000, 5]
    ])
  })

  it('takes a drop as a restart from zero, never as a negative rate', () => {
    expect(
      rates([
        [0, 100],
        [1000, 4],
        [2000, 10]
      ])
    ).toEqual([
      [1000, 4],
      [2000, 6]
    ])
  })

  it('takes only the points added since it last ran, and follows what the counter drops', () => {
    const counter = ringOf([[0, 0]], 3)
    const rate = new CounterRate(counter)
    rate.update()
    expect(rate.ring.size).toBe(0)
    counter.push(1000, 5)
    counter.push(2000, 15)
    rate.update()
    expect(pointsOf(rate.ring)).toEqual([
      [1000, 5],
      [2000, 10]
    ])
    // The counter is full: its oldest point goes, and with it the rate at 1000.
    counter.push(3000, 16)
    rate.update()
    expect(pointsOf(rate.ring)).toEqual([
      [2000, 10],
      [3000, 1]
    ])
    rate.update() // nothing new: nothing changes
    expect(rate.ring.size).toBe(2)
    counter.dropBefore(2500)
    rate.update()
    expect(rate.ring.size).toBe(0)
  })

  it('starts over when its counter is emptied and loaded again', () => {
    const counter = ringOf([
      [0, 0],
      [1000, 5]
    ])
    const rate = new CounterRate(counter)
    rate.update()
    counter.clear()
    counter.push(500, 10)
    counter.push(1500, 30)
    rate.update()
    expect(pointsOf(rate.ring)).toEqual([[1500, 20]])
  })

  it('computes the hit ratio per interval, leaving out intervals without lookups', () => {
    const hits = ringOf([
      [0, 0],
      [1000, 3],
      [2000, 3],
      [3000, 1]
    ])
    const misses = ringOf([
      [0, 0],
      [1000, 1],
      [2000, 1],
      [3000, 2]
    ])
    const ratio = new HitRatio(hits, misses)
    ratio.update()
    // 2000: no lookup; 3000: the hit counter restarted (1 hit) and 1 miss.
    expect(pointsOf(ratio.ring)).toEqual([
      [1000, 0.75],
      [3000, 0.5]
    ])
  })

  it('waits for both counters before taking an interval, and skips unpaired ones', () => {
    const hits = ringOf([
      [0, 0],
      [1000, 1]
    ])
    const misses = ringOf([[0, 0]])
    const ratio = new HitRatio(hits, misses)
    ratio.update()
    expect(ratio.ring.size).toBe(0)
    misses.push(1000, 3) // the pair of hits' 1000 arrives late
    hits.push(3000, 2)
    misses.push(2000, 3) // no hits at 2000
    ratio.update()
    expect(pointsOf(ratio.ring)).toEqual([[1000, 0.25]])
    misses.push(3000, 4)
    ratio.update()
    expect(pointsOf(ratio.ring)).toEqual([
      [1000, 0.25],
      [3000, 0.5]
    ])
  })
})

describe('series buffers and panels', () => {
  const at = (ts: number, value: number, labels: Record<string, string> = {}) => ({
    name: 'api_requests_total',
    labels,
    value,
    ts
  })
  /** The lines as labels and `[ts, value]` pairs. */
  const drawn = (lines: readonly Line[]) =>
    lines.map((l) => ({ label: l.label, points: pointsOf(l.ring) }))

  it('appends a stream point only when it is newer than the series last one', () => {
    const buffers = new SeriesBuffers(10)
    buffers.load([
      {
        name: 'queue_size',
        labels: {},
        points: [
          [1000, 1],
          [2000, 2],
          [1500, 9] // out of order: skipped
        ]
      }
    ])
    expect(buffers.append(2000, [{ name: 'queue_size', labels: {}, value: 9 }])).toBe(false)
    expect(buffers.append(3000, [{ name: 'queue_size', labels: {}, value: 3 }])).toBe(true)
    expect(pointsOf(buffers.matching({ name: 'queue_size' })[0].ring)).toEqual([
      [1000, 1],
      [2000, 2],
      [3000, 3]
    ])
  })

  it('changes its version when a series appears or all are forgotten, not on points', () => {
    const buffers = new SeriesBuffers(10)
    const start = buffers.version
    buffers.append(1000, [{ name: 'queue_size', labels: {}, value: 1 }])
    expect(buffers.version).toBe(start + 1)
    buffers.append(2000, [{ name: 'queue_size', labels: {}, value: 2 }])
    expect(buffers.version).toBe(start + 1)
    buffers.clear()
    expect(buffers.version).toBe(start + 2)
  })

  it('charts a counter as one rate line per label set, narrowed by labels', () => {
    const buffers = new SeriesBuffers(10)
    for (const p of [at(0, 0, { status: '200' }), at(0, 0, { status: '500' })]) {
      buffers.append(p.ts, [p])
    }
    buffers.append(1000, [at(1000, 10, { status: '200' }), at(1000, 2, { status: '500' })])
    const all = ratePanel('api_requests_total', 'Requests', 'per_s').lines(buffers)
    expect(drawn(all())).toEqual([
      { label: '200', points: [[1000, 10]] },
      { label: '500', points: [[1000, 2]] }
    ])
    const failed = ratePanel('api_requests_total', 'Requests', 'per_s', { status: '500' })
    expect(failed.selectors).toEqual([{ name: 'api_requests_total', labels: { status: '500' } }])
    expect(failed.lines(buffers)().map((l) => l.label)).toEqual(['500'])
  })

  it('keeps its lines while the series are the same, and brings rates up to date', () => {
    const buffers = new SeriesBuffers(10)
    buffers.append(0, [at(0, 0, { status: '200' })])
    const lines = ratePanel('api_requests_total', 'Requests', 'per_s').lines(buffers)
    const first = lines()
    buffers.append(1000, [at(1000, 7, { status: '200' })])
    expect(lines()).toBe(first)
    expect(drawn(first)).toEqual([{ label: '200', points: [[1000, 7]] }])
    buffers.append(2000, [at(2000, 9, { status: '200' }), at(2000, 1, { status: '500' })])
    const second = lines()
    expect(second).not.toBe(first)
    expect(drawn(second)).toEqual([
      { label: '200', points: [[1000, 7], [2000, 2]] },
      { label: '500', points: [] }
    ])
  })

  it('charts a histogram from its stored quantile series', () => {
    const buffers = new SeriesBuffers(10)
    buffers.append(1000, [
      { name: 'frame_processing_duration_ms_p50', labels: {}, value: 12 },
      { name: 'frame_processing_duration_ms_p99', labels: {}, value: 40 }
    ])
    const panel = quantilePanel('frame_processing_duration_ms', 'Frames', 'ms')
    expect(panel.metric).toBe('frame_processing_duration_ms')
    expect(panel.selectors.map((s) => s.name)).toEqual([
      'frame_processing_duration_ms_p50',
      'frame_processing_duration_ms_p90',
      'frame_processing_duration_ms_p99'
    ])
    expect(drawn(panel.lines(buffers)())).toEqual([
      { label: 'p50', points: [[1000, 12]] },
      { label: 'p99', points: [[1000, 40]] }
    ])
  })

  it('charts the cache hit ratio from hits and misses', () => {
    const buffers = new SeriesBuffers(10)
    const tick = (ts: number, hits: number, misses: number) =>
      buffers.append(ts, [
        { name: 'cache_hits_total', labels: {}, value: hits },
        { name: 'cache_misses_total', labels: {}, value: misses }
      ])
    const panel = ratioPanel(
      'cache_hit_ratio',
      'Hit ratio',
      'cache_hits_total',
      'cache_misses_total'
    )
    const lines = panel.lines(buffers)
    expect(lines()).toEqual([])
    tick(0, 0, 0)
    tick(1000, 9, 1)
    expect(drawn(lines())).toEqual([{ label: 'hit ratio', points: [[1000, 0.9]] }])
  })

  it('streams each selector once for all panels', () => {
    const panels = [
      ratioPanel('cache_hit_ratio', 'Hit ratio', 'cache_hits_total', 'cache_misses_total'),
      ratePanel('cache_hits_total', 'Hits', 'per_s'),
      ratePanel('cache_hits_total', 'Hits', 'per_s', { shard: '1' })
    ]
    expect(selectorsOf(panels)).toEqual([
      { name: 'cache_hits_total' },
      { name: 'cache_misses_total' },
      { name: 'cache_hits_total', labels: { shard: '1' } }
    ])
  })
})

describe('the waterfall layout', () => {
  const span = (
    spanId: string,
    parentSpanId: string | null,
    startMs: number,
    durationMs: number
  ): SpanRecord => ({
    spanId,
    parentSpanId,
    name: `span ${spanId}`,
    startMs,
    durationMs,
    error: null,
    attributes: {},
    events: [],
    droppedAttributes: 0,
    droppedEvents: 0
  })
  const trace = (spans: SpanRecord[]): TraceRecord => ({
    traceId: 'a'.repeat(32),
    name: 'render',
    startMs: 1000,
    durationMs: 100,
    error: false,
    spans,
    droppedSpans: 0
  })

  it('nests children under their parent in start order and places bars on the trace axis', () => {
    const { rows, startMs, durationMs } = layoutWaterfall(
      trace([
        span('root', null, 1000, 100),
        span('late', 'root', 1060, 40),
        span('early', 'root', 1010, 30),
        span('deep', 'early', 1020, 10)
      ])
    )
    expect(startMs).toBe(1000)
    expect(durationMs).toBe(100)
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['root', 0],
      ['early', 1],
      ['deep', 2],
      ['late', 1]
    ])
    const late = rows.find((r) => r.span.spanId === 'late')!
    expect(late.offset).toBeCloseTo(0.6)
    expect(late.width).toBeCloseTo(0.4)
  })

  it('shows spans whose parent was not kept, or in a cycle, once at the top level', () => {
    const { rows } = layoutWaterfall(
      trace([
        span('root', null, 1000, 50),
        span('orphan', 'gone', 1005, 5),
        span('x', 'y', 1010, 5),
        span('y', 'x', 1020, 5)
      ])
    )
    expect(rows.map((r) => r.span.spanId).sort()).toEqual(['orphan', 'root', 'x', 'y'])
    expect(rows.find((r) => r.span.spanId === 'orphan')!.depth).toBe(0)
    expect(rows.find((r) => r.span.spanId === 'y')!.depth).toBe(1)
  })

  it('lays out a trace without spans as no rows', () => {
    expect(layoutWaterfall(trace([])).rows).toEqual([])
  })
})

describe('the log tail', () => {
  const log = (timestampMs: number, message: string): LogRecord => ({
    timestampMs,
    level: 'INFO',
    target: 'studio',
    message,
    fields: {},
    traceId: null,
    spanId: null,
    sessionId: 's1'
  })

  it('accepts each record once across overlapping polls, oldest first', () => {
    const tail = new LogTail()
    expect(tail.accept([log(2, 'b'), log(1, 'a')]).map((r) => r.message)).toEqual(['a', 'b'])
    expect(tail.accept([log(3, 'c'), log(2, 'b'), log(1, 'a')]).map((r) => r.message)).toEqual([
      'c'
    ])
    expect(tail.accept([log(3, 'c')])).toEqual([])
  })

  it('keeps records that share the newest millisecond but differ', () => {
    const tail = new LogTail()
    tail.accept([log(5, 'first')])
    expect(tail.accept([log(5, 'second'), log(5, 'first')]).map((r) => r.message)).toEqual([
      'second'
    ])
  })

  it('starts over after a reset', () => {
    const tail = new LogTail()
    tail.accept([log(1, 'a')])
    tail.reset()
    expect(tail.accept([log(1, 'a')])).toHaveLength(1)
  })
})

describe('the trace list', () => {
  const summary = (
    traceId: string,
    startMs: number,
    extra: Partial<TraceSummary> = {}
  ): TraceSummary => ({
    traceId,
    name: 'render_video',
    startMs,
    durationMs: 50,
    error: false,
    spanCount: 3,
    ...extra
  })

  it('keeps the newest traces up to its capacity, each once', () => {
    const list = new TraceList(2)
    list.add([summary('a', 1), summary('b', 2)])
    list.add([summary('c', 3), summary('b', 2, { spanCount: 9 })])
    expect(list.all.map((s) => s.traceId)).toEqual(['c', 'b'])
    expect(list.all[1].spanCount).toBe(9)
  })

  it('filters live traces like the engine filters listed ones', () => {
    const filter = { name: 'render', errorsOnly: true, minDurationMs: 40 }
    expect(passes(summary('a', 1, { error: true }), filter)).toBe(true)
    expect(passes(summary('a', 1), filter)).toBe(false)
    expect(passes(summary('a', 1, { error: true, durationMs: 10 }), filter)).toBe(false)
    expect(passes(summary('a', 1, { error: true, name: 'Render' }), filter)).toBe(false)
    expect(toTraceFilter(filter, 100)).toEqual({
      name: 'render',
      error: true,
      minDurationMs: 40,
      limit: 100
    })
    expect(toTraceFilter({ name: '', errorsOnly: false, minDurationMs: 0 }, 5)).toEqual({
      limit: 5
    })
  })

  it('says how much of the load the store keeps only while it keeps a share', () => {
    expect(loadNote(undefined, undefined)).toBeUndefined()
    expect(loadNote(1, 0)).toBeUndefined()
    expect(loadNote(Number.NaN, 5)).toBeUndefined()
    expect(loadNote(0.125, 7000)).toBe(
      'Many traces end: the list keeps about 12.5% of them, chosen by trace id (7,000 passed ' +
        'over so far). Every failed span is kept with its trace.'
    )
    expect(loadNote(0.5, undefined)).toContain('about 50% of them, chosen by trace id.')
    expect(loadNote(0.000_42, 2_400_000)).toContain('about 0.04% of them')
  })
})

describe('catalogue, format, theme and scope', () => {
  it('lists the label values a metric can be narrowed to', () => {
    const sets = [
      { method: 'GET', status: '200' },
      { method: 'POST', status: '200' },
      { method: 'GET', status: '500' }
    ]
    expect(labelValues({ labelSets: sets })).toEqual([
      ['method', ['GET', 'POST']],
      ['status', ['200', '500']]
    ])
  })

  it('formats values in their unit', () => {
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatValue('bytes/s', 3 * 1024 * 1024)).toBe('3 MiB/s')
    expect(formatValue('ratio', 0.754)).toBe('75.4 %')
    expect(formatValue('ms', 1500)).toBe('1.5 s')
    expect(formatValue('ms', 0.0596)).toBe('59.6 µs')
    expect(formatValue('count', 123.4)).toBe('123')
  })

  it('gives axis labels the digits that keep them apart', () => {
    const gib = 1024 ** 3
    expect(formatTicks('bytes', [233.1 * gib, 233.2 * gib, 233.3 * gib])).toEqual([
      '233.1 GiB',
      '233.2 GiB',
      '233.3 GiB'
    ])
    expect(formatTicks('percent', [0, 50, 100])).toEqual(['0 %', '50 %', '100 %'])
    expect(formatValue('per_s', 12345)).toBe('12.3k /s')
  })

  it('takes an explicit theme, else the stored choice, else the system preference', () => {
    expect(resolveTheme('dark', 'light', false)).toBe('dark')
    expect(resolveTheme('auto', 'light', true)).toBe('light')
    expect(resolveTheme('auto', null, true)).toBe('dark')
    expect(resolveTheme('auto', 'bogus', false)).toBe('light')
  })

  it('stops everything once on close, and at once what is added after', () => {
    const scope = new Scope()
    const stopped: string[] = []
    scope.add(() => stopped.push('a'))
    const child = scope.child()
    child.add(() => stopped.push('child'))
    scope.add(() => Promise.reject(new Error('already gone')))
    scope.close()
    scope.close()
    expect(stopped).toEqual(['child', 'a'])
    scope.add(() => stopped.push('late'))
    expect(stopped).toEqual(['child', 'a', 'late'])
    expect(child.closed).toBe(true)
  })
})

describe('the locale guard', () => {
  it('rejects the POSIX language WebKitGTK reports without LANG', () => {
    expect(isUsableLocale('C')).toBe(false)
    expect(isUsableLocale('en-US')).toBe(true)
    expect(isUsableLocale(navigator.language)).toBe(true)
  })
})

describe('the page token', () => {
  it('is taken from ?token= once, kept for the tab, and removed from the address', () => {
    sessionStorage.removeItem(TOKEN_KEY)
    history.replaceState(null, '', '/?token=t0ken-t0ken-t0ken&x=1#logs')
    expect(takeToken()).toBe('t0ken-t0ken-t0ken')
    expect(location.pathname + location.search + location.hash).toBe('/?x=1#logs')
    expect(takeToken()).toBe('t0ken-t0ken-t0ken')
    history.replaceState(null, '', '/?token=')
    expect(takeToken()).toBeUndefined()
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull()
    history.replaceState(null, '', '/')
  })
})
