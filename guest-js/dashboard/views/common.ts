/**
 * What the views share: their signature and small pieces of markup.
 * @module
 */
import type { LogRecord } from '../../src/index.js'
import type { Context } from '../core/context.js'
import { type Child, h } from '../core/dom.js'
import { formatTime } from '../core/format.js'
import type { Scope } from '../core/scope.js'

/**
 * Builds a view; everything it starts is added to `scope`, which closes when the view is
 * left. `traceId` is the trace to open (traces view only).
 */
export type View = (ctx: Context, scope: Scope, target?: string) => HTMLElement

/** A colour family for a status. */
export type Tone = 'ok' | 'warn' | 'bad' | 'muted'

/** The tone of a health status, exporter state, alert state or severity. */
export function toneOf(status: string): Tone {
  switch (status) {
    case 'Healthy':
    case 'Resolved':
    case 'Info':
      return 'ok'
    case 'Warning':
    case 'Degraded':
    case 'Pending':
      return 'warn'
    case 'Unhealthy':
    case 'Failed':
    case 'Firing':
    case 'Critical':
      return 'bad'
    default:
      return 'muted'
  }
}

/** A coloured status label. */
export function badge(text: string, tone: Tone = toneOf(text)): HTMLElement {
  return h('span', { class: `badge badge-${tone}` }, text)
}

/** An alert's own labels (`endpoint=/render`), without the `alertname` and `severity` it shows anyway. */
export function alertLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}

/** A titled box. */
export function card(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h3', {}, title), ...children)
}

/** A muted line for an empty list. */
export function emptyNote(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text)
}

/** Refreshes with `load` now and every `ms` while not paused, until `scope` closes. */
export function poll(ctx: Context, scope: Scope, ms: number, load: () => Promise<void>): void {
  void load()
  scope.every(ms, () => {
    if (!ctx.paused) void load()
  })
}

/** A function that runs `run` once input has been quiet for `ms`; cancelled when `scope` closes. */
export function debounced(scope: Scope, ms: number, run: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  scope.add(() => clearTimeout(timer))
  return () => {
    clearTimeout(timer)
    timer = setTimeout(run, ms)
  }
}

/** One log record as a row (`data-testid="log-row"`); `openTrace` makes its trace id a link. */
export function logRow(
  record: LogRecord,
  openTrace?: (traceId: string) => void,
  currentSession?: string
): HTMLElement {
  // A stack (a webview error's, a panic's backtrace) is shown on its own, folded.
  const stack = record.fields['exception.stacktrace']
  const fields = Object.entries(record.fields)
    .filter(([k]) => k !== 'exception.stacktrace')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  const trace = record.traceId
  return h(
    'li',
    {
      class: `log-row log-${record.level.toLowerCase()}`,
      'data-testid': 'log-row',
      'data-level': record.level
    },
    h(
      'time',
      { class: 'muted', datetime: new Date(record.timestampMs).toISOString() },
      formatTime(record.timestampMs)
    ),
    h('span', { class: 'log-level' }, record.level),
    h('span', { class: 'log-target muted' }, record.target),
    h('span', { class: 'log-message' }, record.message),
    currentSession !== undefined &&
      record.sessionId !== undefined &&
      record.sessionId !== currentSession &&
      h(
        'span',
        { class: 'log-session muted', 'data-testid': 'log-session-tag', title: `session ${record.sessionId}` },
        `session ${record.sessionId.slice(0, 8)}`
      ),
    fields !== '' && h('span', { class: 'log-fields muted' }, fields),
    stack !== undefined &&
      h(
        'details',
        { class: 'log-stack', 'data-testid': 'log-stack' },
        h('summary', {}, 'Stack'),
        h('pre', {}, stack)
      ),
    trace !== null &&
      openTrace !== undefined &&
      h(
        'button',
        { class: 'link log-trace', title: 'Open this trace', onclick: () => openTrace(trace) },
        `trace ${trace.slice(0, 8)}`
      )
  )
}
