/**
 * Traces: a live list (initial `listTraces`, then `onTrace`) with name, error and duration
 * filters, and the chosen trace's waterfall and logs beside it.
 * @module
 */
import type { TraceSummary } from '../../src/index.js'
import { fill, h } from '../core/dom.js'
import { formatDuration, formatTime } from '../core/format.js'
import {
  KEPT_RATIO_SERIES,
  PASSED_OVER_SERIES,
  type TraceListFilter,
  TraceList,
  loadNote,
  passes,
  summaryOf,
  toTraceFilter
} from '../data/traces.js'
import { type View, badge, debounced, emptyNote, poll } from './common.js'
import { showTrace } from './trace-detail.js'

/** Traces kept in the list. */
const TRACE_LIST_CAP = 500

/** Traces asked for when the list (re)loads. */
const INITIAL_LIMIT = 200

/** Filters apply once typing pauses this long (ms). */
const TYPING_MS = 250

/** The list redraws at most this often while traces stream in (ms). */
const RENDER_DELAY_MS = 200

/** How often the view asks whether the store keeps only a share of the traces (ms). */
const LOAD_CHECK_MS = 10_000

/** How far back the view looks for the store's load series (ms). */
const LOAD_WINDOW_MS = 5 * 60_000

/** The traces view; `traceId` opens that trace at once. */
export const tracesView: View = (ctx, scope, traceId) => {
  const filter: TraceListFilter = { name: '', errorsOnly: false, minDurationMs: 0 }
  const list = new TraceList(TRACE_LIST_CAP)
  const rows = h('ul', { class: 'trace-rows' })
  const detail = h('div', { class: 'trace-detail' }, emptyNote('Choose a trace to see its spans'))
  let queued: ReturnType<typeof setTimeout> | undefined
  const load = h('p', { class: 'trace-load muted', 'data-testid': 'trace-load', hidden: true })

  const open = (id: string) => {
    detail.setAttribute('data-trace-id', id)
    render()
    void showTrace(ctx, scope, detail, id)
  }
  const row = (t: TraceSummary) =>
    h(
      'li',
      {
        class: `trace-row${t.traceId === detail.getAttribute('data-trace-id') ? ' selected' : ''}`,
        'data-testid': 'trace-row',
        'data-trace-id': t.traceId,
        'data-span-count': t.spanCount,
        tabindex: 0,
        onclick: () => open(t.traceId),
        onkeydown: (e) => {
          if ((e as KeyboardEvent).key === 'Enter') open(t.traceId)
        }
      },
      h('time', { class: 'muted' }, formatTime(t.startMs)),
      h('span', { class: 'trace-name' }, t.name),
      h('span', { class: 'trace-dur' }, formatDuration(t.durationMs)),
      badge(t.error ? 'Error' : 'OK', t.error ? 'bad' : 'ok')
    )
  const render = () => {
    fill(rows, ...list.all.map(row))
    if (list.all.length === 0) rows.append(emptyNote('No trace matches'))
  }
  const renderSoon = () => {
    if (queued !== undefined) return
    queued = setTimeout(() => {
      queued = undefined
      render()
    }, RENDER_DELAY_MS)
  }
  scope.add(() => clearTimeout(queued))
  const reload = async () => {
    const records = await ctx.call('list_traces', () =>
      ctx.client.listTraces(toTraceFilter(filter, INITIAL_LIMIT))
    )
    if (records === undefined || scope.closed) return
    list.clear()
    list.add(records.map(summaryOf))
    render()
  }

  const name = h('input', {
    type: 'search',
    placeholder: 'Name contains',
    'aria-label': 'Trace name',
    'data-testid': 'trace-filter-name'
  })
  const errors = h('input', { type: 'checkbox', 'data-testid': 'trace-filter-errors' })
  const minimum = h('input', {
    type: 'number',
    min: 0,
    step: 1,
    placeholder: '0',
    'aria-label': 'Minimum duration (ms)',
    'data-testid': 'trace-filter-min'
  })
  const applyFilters = debounced(scope, TYPING_MS, () => {
    filter.name = name.value
    filter.errorsOnly = errors.checked
    filter.minDurationMs = Math.max(0, Number(minimum.value) || 0)
    void reload()
  })
  for (const input of [name, errors, minimum]) input.addEventListener('input', applyFilters)

  void reload()
  const last = async (name: string) => {
    const fromMs = Date.now() - LOAD_WINDOW_MS
    const series = await ctx.call('query_series', () => ctx.client.querySeries({ name, fromMs }))
    const points = series?.[0]?.points ?? []
    return points[points.length - 1]?.[1]
  }
  poll(ctx, scope, LOAD_CHECK_MS, async () => {
    const [kept, passedOver] = await Promise.all([last(KEPT_RATIO_SERIES), last(PASSED_OVER_SERIES)])
    if (scope.closed) return
    const note = loadNote(kept, passedOver)
    load.hidden = note === undefined
    load.textContent = note ?? ''
  })
  void ctx.start(scope, 'events:trace', () =>
    ctx.client.onTrace((summary) => {
      if (ctx.paused || scope.closed || !passes(summary, filter)) return
      list.add([summary])
      renderSoon()
    })
  )
  ctx.watch(scope, (setting) => {
    if (setting === 'paused' && !ctx.paused) void reload()
  })
  if (traceId !== undefined) open(traceId)

  return h(
    'div',
    { class: 'traces' },
    h(
      'div',
      { class: 'trace-list' },
      h(
        'div',
        { class: 'filters' },
        name,
        h('label', {}, errors, ' Errors only'),
        h('label', {}, 'Min ms ', minimum)
      ),
      load,
      rows
    ),
    detail
  )
}
