/**
 * One trace: its waterfall (bars by start and duration, nested by parent), the selected
 * span's attributes and events, and the trace's logs.
 * @module
 */
import type { LogRecord, SpanRecord, TraceRecord } from '../../src/index.js'
import type { Context } from '../core/context.js'
import { type Child, fill, h } from '../core/dom.js'
import { formatDateTime, formatDuration } from '../core/format.js'
import type { Scope } from '../core/scope.js'
import { type WaterfallLayout, layoutWaterfall } from '../data/waterfall.js'
import { badge, card, emptyNote, logRow } from './common.js'

/** Log records shown beside a trace. */
const TRACE_LOG_LIMIT = 200

/** A share of the trace as a CSS percentage; bars stay visible however short. */
function percent(share: number, min = 0): string {
  return `${(Math.max(share, min) * 100).toFixed(3)}%`
}

function spanDetails(span: SpanRecord, layout: WaterfallLayout): Child[] {
  const at = (ms: number) => `+${formatDuration(ms - layout.startMs)}`
  const attributes = Object.entries(span.attributes).sort(([a], [b]) => a.localeCompare(b))
  const facts: Array<[string, string]> = [
    ['Span id', span.spanId],
    ['Parent', span.parentSpanId ?? '(root)'],
    ['Start', `${at(span.startMs)} (${formatDateTime(span.startMs)})`],
    ['Duration', formatDuration(span.durationMs)]
  ]
  if (span.droppedAttributes + span.droppedEvents > 0) {
    facts.push(['Dropped', `${span.droppedAttributes} attributes, ${span.droppedEvents} events`])
  }
  return [
    h(
      'h4',
      {},
      span.name,
      ' ',
      badge(span.error === null ? 'OK' : 'Error', span.error === null ? 'ok' : 'bad')
    ),
    span.error !== null && h('p', { class: 'span-error' }, span.error),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h5', {}, 'Attributes'),
    attributes.length === 0
      ? emptyNote('None')
      : h(
          'dl',
          { class: 'facts' },
          ...attributes.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])
        ),
    h('h5', {}, 'Events'),
    span.events.length === 0
      ? emptyNote('None')
      : h(
          'ul',
          { class: 'events' },
          ...span.events.map(([ts, name]) =>
            h('li', {}, h('span', { class: 'muted' }, at(ts)), ' ', name)
          )
        )
  ]
}

/** A bar's duration: after the bar, else before it, else inside it, wherever it fits. */
function durationLabel(offset: number, width: number, text: string): HTMLElement {
  const end = offset + width
  if (end <= 0.75) return h('span', { class: 'wf-dur', style: `left: ${percent(end)}` }, text)
  if (offset >= 0.25)
    return h(
      'span',
      { class: 'wf-dur wf-dur-before', style: `right: ${percent(1 - offset)}` },
      text
    )
  return h('span', { class: 'wf-dur wf-dur-inside', style: `right: ${percent(1 - end)}` }, text)
}

function waterfall(
  layout: WaterfallLayout,
  select: (span: SpanRecord, row: HTMLElement) => void
): HTMLElement {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) =>
    h(
      'span',
      {
        class: share === 0.25 || share === 0.75 ? 'wf-minor' : undefined,
        style: `left: ${percent(share)}`
      },
      formatDuration(share * layout.durationMs)
    )
  )
  const rows = layout.rows.map(({ span, depth, offset, width }) => {
    const events = span.events.map(([ts, name]) =>
      h('span', {
        class: 'wf-event',
        title: name,
        style: `left: ${percent(span.durationMs > 0 ? (ts - span.startMs) / span.durationMs : 0)}`
      })
    )
    const row = h(
      'button',
      {
        class: `wf-row${span.error !== null ? ' wf-error' : ''}`,
        'data-testid': 'waterfall-span',
        'data-span-id': span.spanId,
        title: `${span.name}: ${formatDuration(span.durationMs)}`
      },
      h('span', { class: 'wf-name', style: `padding-left: ${depth * 0.9}em` }, span.name),
      h(
        'span',
        { class: 'wf-track' },
        h(
          'span',
          { class: 'wf-bar', style: `left: ${percent(offset)}; width: ${percent(width, 0.004)}` },
          ...events
        ),
        durationLabel(offset, width, formatDuration(span.durationMs))
      )
    )
    row.addEventListener('click', () => select(span, row))
    return row
  })
  return h(
    'div',
    { class: 'waterfall', 'data-testid': 'waterfall' },
    h(
      'div',
      { class: 'wf-ruler' },
      h('span', { class: 'wf-name' }),
      h('span', { class: 'wf-track' }, ...ticks)
    ),
    ...rows
  )
}

/**
 * Loads and shows trace `traceId` in `host`: header, waterfall, the root span's details
 * (click another span to see its own), and the trace's logs. An answer that arrives after
 * `host` moved on to another trace (its `data-trace-id`) is dropped.
 */
export async function showTrace(
  ctx: Context,
  scope: Scope,
  host: HTMLElement,
  traceId: string
): Promise<void> {
  fill(host, emptyNote('Loading trace…'))
  const [trace, logs] = await Promise.all([
    ctx.call('get_trace', () => ctx.client.getTrace(traceId)),
    ctx.call('get_logs', () => ctx.client.getLogs({ traceId, limit: TRACE_LOG_LIMIT }))
  ])
  if (scope.closed || host.getAttribute('data-trace-id') !== traceId) return
  if (trace === undefined) return fill(host, emptyNote('The trace could not be loaded'))
  if (trace === null) return fill(host, emptyNote('This trace is no longer kept'))
  fill(host, ...render(trace, logs ?? []))
}

function render(trace: TraceRecord, logs: LogRecord[]): Child[] {
  const layout = layoutWaterfall(trace)
  const details = h('div', { class: 'span-details', 'data-testid': 'span-details' })
  let selected: HTMLElement | undefined
  const select = (span: SpanRecord, row: HTMLElement) => {
    selected?.classList.remove('selected')
    row.classList.add('selected')
    selected = row
    fill(details, ...spanDetails(span, layout))
  }
  const chart = waterfall(layout, select)
  const first = chart.querySelector<HTMLElement>('[data-testid="waterfall-span"]')
  if (first !== null && layout.rows.length > 0) select(layout.rows[0].span, first)
  const dropped = trace.droppedSpans > 0 ? `, ${trace.droppedSpans} spans dropped` : ''
  return [
    h(
      'header',
      { class: 'trace-head' },
      h('h3', {}, trace.name, ' ', badge(trace.error ? 'Error' : 'OK', trace.error ? 'bad' : 'ok')),
      h(
        'p',
        { class: 'muted' },
        `${formatDateTime(trace.startMs)} · ${formatDuration(trace.durationMs)} · ${trace.spans.length} spans${dropped} · ${trace.traceId}`
      )
    ),
    chart,
    h(
      'div',
      { class: 'trace-side' },
      card('Span', details),
      card(
        'Logs of this trace',
        h(
          'ul',
          { class: 'log-list', 'data-testid': 'trace-logs' },
          ...[...logs].reverse().map((r) => logRow(r))
        ),
        logs.length === 0 && emptyNote('No log record in this trace')
      )
    )
  ]
}
