/**
 * How values, times and durations read on screen.
 * @module
 */

/** The unit of a chart's values, which picks its axis and legend format. */
export type Unit = 'bytes' | 'bytes/s' | 'percent' | 'ms' | 'ratio' | 'fps' | 'per_s' | 'count'

const BYTE_STEPS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `1536` → `1.5 KiB`; `digits` significant digits at most. */
export function formatBytes(bytes: number, digits = 3): string {
  let value = Math.abs(bytes)
  let step = 0
  while (value >= 1024 && step < BYTE_STEPS.length - 1) {
    value /= 1024
    step += 1
  }
  const sign = bytes < 0 ? '-' : ''
  return `${sign}${trim(value, digits)} ${BYTE_STEPS[step]}`
}

/** `0.0596` → `59.6 µs`, `12` → `12 ms`, `1500` → `1.5 s`, `90000` → `1.5 min`. */
export function formatDuration(ms: number, digits = 3): string {
  if (ms >= 60_000) return `${trim(ms / 60_000, digits)} min`
  if (ms >= 1000) return `${trim(ms / 1000, digits)} s`
  if (ms > 0 && ms < 1) return `${trim(ms * 1000, digits)} µs`
  return `${trim(ms, digits)} ms`
}

/** Local wall-clock time with seconds (`14:03:27`). */
export function formatTime(ms: number): string {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':')
}

/** Local date and time (`2026-11-26 14:03:27`). */
export function formatDateTime(ms: number): string {
  const d = new Date(ms)
  const day = [d.getFullYear(), d.getMonth() + 1, d.getDate()]
    .map((n, i) => String(n).padStart(i === 0 ? 4 : 2, '0'))
    .join('-')
  return `${day} ${formatTime(ms)}`
}

/** A value in its unit (`42.1 %`, `3.2 MiB/s`, `120 /s`), `digits` significant digits at most. */
export function formatValue(unit: Unit, value: number, digits = 3): string {
  switch (unit) {
    case 'bytes':
      return formatBytes(value, digits)
    case 'bytes/s':
      return `${formatBytes(value, digits)}/s`
    case 'percent':
      return `${trim(value, digits)} %`
    case 'ratio':
      return `${trim(value * 100, digits)} %`
    case 'ms':
      return formatDuration(value, digits)
    case 'fps':
      return `${trim(value, digits)} fps`
    case 'per_s':
      return `${trim(value, digits)} /s`
    case 'count':
      return trim(value, digits)
  }
}

/**
 * Axis labels for `values`: as few digits as keep neighbouring labels apart (close values
 * such as a nearly full disk's would otherwise all read `233 GiB`).
 */
export function formatTicks(unit: Unit, values: readonly number[]): string[] {
  let labels: string[] = []
  for (let digits = 3; digits <= 8; digits++) {
    labels = values.map((v) => formatValue(unit, v, digits))
    if (new Set(labels).size === labels.length) break
  }
  return labels
}

/** `digits` significant digits at most, no trailing zeros, thousands as `k`/`M`. */
function trim(value: number, digits = 3): string {
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${trim(value / 1e6, digits)}M`
  if (abs >= 1e4) return `${trim(value / 1e3, digits)}k`
  if (abs === 0) return '0'
  const whole = Math.floor(Math.log10(abs)) + 1
  if (whole >= digits) return String(Math.round(value))
  return String(Number(value.toPrecision(digits)))
}
