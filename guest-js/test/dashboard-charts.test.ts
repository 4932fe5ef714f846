import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { Aligner } from '../dashboard/charts/align'
import { ThemeColours } from '../dashboard/charts/colours'
import { decimate } from '../dashboard/charts/decimate'
import { FrameQueue } from '../dashboard/charts/frame'
import { type Table, TableBuffer } from '../dashboard/charts/table'
import type { Line } from '../dashboard/data/panels'
import { PointRing } from '../dashboard/data/ring'

/** A seeded generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A table of `xs` and one column per line in `ys`. */
function tableOf(xs: readonly number[], ...ys: ReadonlyArray<readonly number[]>): Table {
  return { length: xs.length, xs: Float64Array.from(xs), ys: ys.map((y) => Float64Array.from(y)) }
}

/** The rows of a table as plain arrays: `[xs, ...ys]`. */
function rowsOf(table: Table): number[][] {
  return [table.xs, ...table.ys].map((column) => Array.from(column.subarray(0, table.length)))
}

/** A line over a ring of `points`. */
function lineOf(
  label: string,
  points: ReadonlyArray<readonly [number, number]>,
  capacity = 16
): Line {
  const ring = new PointRing(capacity)
  for (const [ts, value] of points) ring.push(ts, value)
  return { label, ring }
}

/**
 * Per pixel column (placed as uPlot places points: rounded) and line: the first, minimum,
 * maximum and last value, `undefined` where the line has none.
 */
function extremes(table: Table, columns: number): Map<number, Array<number[] | undefined>> {
  const { xs, length } = table
  const scale = (columns - 1) / (xs[length - 1] - xs[0] || Infinity)
  const out = new Map<number, Array<number[] | undefined>>()
  for (let i = 0; i < length; i++) {
    const column = Math.round((xs[i] - xs[0]) * scale)
    const lines = out.get(column) ?? table.ys.map(() => undefined)
    table.ys.forEach((y, l) => {
      if (Number.isNaN(y[i])) return
      const seen = lines[l]
      lines[l] =
        seen === undefined
          ? [y[i], y[i], y[i], y[i]]
          : [seen[0], Math.min(seen[1], y[i]), Math.max(seen[2], y[i]), y[i]]
    })
    out.set(column, lines)
  }
  return out
}

describe('decimation', () => {
  it('keeps a one-point spike up and down among thousands of points', () => {
    const n = 20_000
    const xs = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 100)
    const ys = xs.map((_, i) => (i === 7_777 ? 950 : i === 12_345 ? -3 : 10))
    const out = decimate(tableOf(xs, ys), 300, new TableBuffer())
    expect(out.length).toBeLessThanOrEqual(4 * 300)
    const values = rowsOf(out)[1]
    expect(Math.max(...values)).toBe(950)
    expect(Math.min(...values)).toBe(-3)
    expect(values.filter((v) => v === 950)).toHaveLength(1)
  })

  it('draws at most four points per column and line, keeping the first and the last', () => {
    const next = random(42)
    for (const [n, columns] of [
      [50_000, 357],
      [4_096, 300],
      [1_000, 999],
      [7, 2],
      [9, 1]
    ]) {
      let t = 0
      const xs = Array.from({ length: n }, () => (t += 1 + Math.floor(next() * 1000)))
      const a = xs.map(() => next() * 100)
      const b = xs.map((_, i) => (i % 7 === 3 ? NaN : next()))
      const out = decimate(tableOf(xs, a, b), columns, new TableBuffer())
      expect(out.length).toBeLessThanOrEqual(Math.min(n, 4 * columns))
      const [ox, oa] = rowsOf(out)
      expect([ox[0], oa[0]]).toEqual([xs[0], a[0]])
      expect([ox.at(-1), oa.at(-1)]).toEqual([xs[n - 1], a[n - 1]])
      expect(ox).toEqual([...ox].sort((p, q) => p - q))
    }
  })

  it('covers in each column what the full data covers: first, extremes, last of each line', () => {
    const next = random(7)
    const n = 30_000
    let t = 1_700_000_000_000
    const xs = Array.from({ length: n }, () => (t += 50 + Math.floor(next() * 1000)))
    // A walk, a noisy line with rare bursts, and a line that starts late with gaps.
    let walk = 0
    const a = xs.map(() => (walk += next() - 0.5))
    const b = xs.map(() => (next() < 0.001 ? 500 * next() : next()))
    const c = xs.map((_, i) => (i < n / 3 || next() < 0.2 ? NaN : next() * 10))
    const table = tableOf(xs, a, b, c)
    const columns = 321
    const out = decimate(table, columns, new TableBuffer())
    expect(out.length).toBeLessThan(n / 20)
    expect(extremes(out, columns)).toEqual(extremes(table, columns))
  })

  it('keeps the extremes of a column in their order in time', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6, 7]
    // One column: first 5, max 9 (at 2) before min 1 (at 5), last 4.
    const out = decimate(tableOf(xs, [5, 6, 9, 7, 3, 1, 2, 4]), 1, new TableBuffer())
    expect(rowsOf(out)).toEqual([
      [0, 0, 7, 7],
      [5, 9, 1, 4]
    ])
  })

  it('copies sparse data as it is', () => {
    const table = tableOf([10, 20, 30], [1, 2, 3], [NaN, 5, 6])
    const out = decimate(table, 300, new TableBuffer())
    expect(rowsOf(out)).toEqual(rowsOf(table))
  })

  it('reuses its output, and refuses a width that is not a positive integer', () => {
    const out = new TableBuffer()
    decimate(tableOf([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]), 1, out)
    const column = out.xs
    decimate(tableOf([1, 2], [7, 8]), 10, out)
    expect(out.xs).toBe(column)
    expect(rowsOf(out)).toEqual([
      [1, 2],
      [7, 8]
    ])
    expect(decimate(tableOf([]), 10, out).length).toBe(0)
    expect(() => decimate(tableOf([1], [1]), 0, out)).toThrow(
      'columns: must be a positive integer, got 0'
    )
    expect(() => decimate(tableOf([1], [1]), 2.5, out)).toThrow(RangeError)
  })
})

describe('alignment', () => {
  it('aligns lines on the union of their timestamps, NaN where a line has none', () => {
    const table = new Aligner().align([
      lineOf('a', [
        [1, 5],
        [3, 7]
      ]),
      lineOf('b', [[2, 6]])
    ])
    expect(rowsOf(table)).toEqual([
      [1, 2, 3],
      [5, NaN, 7],
      [NaN, 6, NaN]
    ])
  })

  it('takes shared timestamps as they are, also from wrapped rings', () => {
    const points = (k: number) =>
      Array.from({ length: 6 }, (_, i) => [i * 1000, i * k] as [number, number])
    const table = new Aligner().align([lineOf('a', points(1), 4), lineOf('b', points(2), 4)])
    expect(rowsOf(table)).toEqual([
      [2000, 3000, 4000, 5000],
      [2, 3, 4, 5],
      [4, 6, 8, 10]
    ])
  })

  it('merges lines that interleave into more rows than any line has', () => {
    const odd = Array.from({ length: 40 }, (_, i) => [2 * i + 1, i] as [number, number])
    const even = Array.from({ length: 40 }, (_, i) => [2 * i, -i] as [number, number])
    const lines = [lineOf('odd', odd, 64), lineOf('even', even, 64)]
    const [xs, a, b] = rowsOf(new Aligner().align(lines))
    expect(xs).toEqual(Array.from({ length: 80 }, (_, i) => i))
    expect(a.filter((v) => !Number.isNaN(v))).toEqual(odd.map(([, v]) => v))
    expect(b.filter((v) => !Number.isNaN(v))).toEqual(even.map(([, v]) => v))
  })

  it('reuses its columns from one call to the next', () => {
    const aligner = new Aligner()
    aligner.align([lineOf('a', [[1, 1]]), lineOf('b', [[2, 2]]), lineOf('c', [[3, 3]])])
    expect(rowsOf(aligner.align([lineOf('a', [[9, 4]])]))).toEqual([[9], [4]])
    expect(rowsOf(aligner.align([]))).toEqual([[]])
  })
})

describe('the frame queue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('draws each marked item once at the next frame, however often it was marked', () => {
    const draws: string[][] = []
    const queue = new FrameQueue<string>((items) => draws.push([...items]))
    queue.mark('a')
    queue.mark('b')
    queue.mark('a')
    expect(draws).toEqual([])
    vi.advanceTimersToNextFrame()
    expect(draws).toEqual([['a', 'b']])
    vi.advanceTimersToNextFrame()
    expect(draws).toHaveLength(1) // nothing marked, nothing drawn
    queue.mark('b')
    vi.advanceTimersToNextFrame()
    expect(draws).toEqual([['a', 'b'], ['b']])
  })

  it('asks for one frame at a time', () => {
    const frames = vi.spyOn(globalThis, 'requestAnimationFrame')
    const queue = new FrameQueue<number>(() => {})
    for (let i = 0; i < 100; i++) queue.mark(i % 3)
    expect(frames).toHaveBeenCalledTimes(1)
    frames.mockRestore()
  })

  it('draws what is marked while drawing at the frame after', () => {
    const draws: number[][] = []
    const queue = new FrameQueue<number>((items) => {
      draws.push([...items])
      if (draws.length === 1) queue.mark(2)
    })
    queue.mark(1)
    vi.advanceTimersToNextFrame()
    vi.advanceTimersToNextFrame()
    expect(draws).toEqual([[1], [2]])
  })

  it('draws nothing once cancelled', () => {
    const draw = vi.fn()
    const queue = new FrameQueue<number>(draw)
    queue.mark(1)
    queue.cancel()
    vi.advanceTimersToNextFrame()
    expect(draw).not.toHaveBeenCalled()
  })
})

describe('theme colours', () => {
  it('reads the computed style once per theme', () => {
    const element = document.createElement('div')
    document.body.append(element)
    const style = vi.spyOn(window, 'getComputedStyle').mockImplementation(
      () =>
        ({
          getPropertyValue: (name: string) => (name === '--dash-muted' ? ' #5f6b7a' : '#e8ebef')
        }) as CSSStyleDeclaration
    )
    const colours = new ThemeColours(element)
    for (let i = 0; i < 10; i++) {
      expect([colours.muted, colours.grid]).toEqual(['#5f6b7a', '#e8ebef'])
    }
    expect(style).toHaveBeenCalledTimes(1)
    colours.invalidate()
    expect(colours.grid).toBe('#e8ebef')
    expect(style).toHaveBeenCalledTimes(2)
    style.mockRestore()
    element.remove()
  })

  it('does not keep what it read outside the page', () => {
    const colours = new ThemeColours(document.createElement('div'))
    const style = vi.spyOn(window, 'getComputedStyle')
    expect(colours.muted).toBe('#888')
    expect(style).not.toHaveBeenCalled()
    style.mockRestore()
  })
})
