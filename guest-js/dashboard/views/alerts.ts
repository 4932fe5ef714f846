/**
 * Alerts: the active ones (pending and firing; `getActiveAlerts`, refreshed on `onAlert`)
 * and the history of state changes; silence and acknowledge where writes are allowed.
 * @module
 */
import type { ActiveAlert, AlertEvent } from '../../src/index.js'
import type { Context } from '../core/context.js'
import { fill, h } from '../core/dom.js'
import { formatDateTime, formatDuration, formatValue } from '../core/format.js'
import { type View, alertLabels, badge, card, emptyNote, poll } from './common.js'

/** History entries kept. */
const HISTORY_CAP = 500

/** How often the active list refreshes besides alert events (ms). */
const REFRESH_MS = 5000

/** The silence durations offered. */
const SILENCES: Array<[string, number]> = [
  ['15 min', 15 * 60_000],
  ['1 h', 60 * 60_000],
  ['4 h', 4 * 60 * 60_000],
  ['24 h', 24 * 60 * 60_000]
]

/** Silence and acknowledge controls of one active alert. */
function actions(ctx: Context, alert: ActiveAlert): HTMLElement {
  const note = h('span', { class: 'muted action-note', role: 'status' })
  const duration = h(
    'select',
    { 'aria-label': `Silence ${alert.rule} for` },
    ...SILENCES.map(([label, ms]) => h('option', { value: ms }, label))
  )
  const silence = async () => {
    const ms = Number(duration.value)
    const done = await ctx.call('silence_alert', async () => {
      await ctx.client.silenceAlert(alert.rule, ms)
      return true
    })
    if (done === true) note.textContent = `Silenced for ${formatDuration(ms)}`
  }
  const acknowledge = async () => {
    const count = await ctx.call('acknowledge_alert', () => ctx.client.acknowledgeAlert(alert.rule))
    if (count !== undefined) note.textContent = `Acknowledged (${count})`
  }
  return h(
    'div',
    { class: 'alert-actions' },
    duration,
    h(
      'button',
      { class: 'secondary', 'data-testid': 'alert-silence', onclick: () => void silence() },
      'Silence'
    ),
    alert.state === 'Firing' &&
      h(
        'button',
        { class: 'secondary', 'data-testid': 'alert-ack', onclick: () => void acknowledge() },
        'Acknowledge'
      ),
    note
  )
}

function historyRow(event: AlertEvent): HTMLElement {
  const n = event.notification
  const delivered = event.deliveries
    .map((d) => (d.error === null ? `${d.action} ✓` : `${d.action} ✗ ${d.error}`))
    .join(', ')
  return h(
    'li',
    {
      class: 'row',
      'data-testid': 'alert-history-row',
      'data-rule': n.rule,
      'data-state': n.state
    },
    h('time', { class: 'muted' }, formatDateTime(event.atMs)),
    badge(n.state),
    h('strong', {}, n.rule),
    h('span', {}, n.annotations.description ?? ''),
    h(
      'span',
      { class: 'muted' },
      [event.silenced ? 'silenced' : '', delivered].filter((s) => s !== '').join(' · ')
    )
  )
}

/** The alerts view. */
export const alertsView: View = (ctx, scope) => {
  const active = h('ul', { class: 'rows' })
  const history = h('ol', { class: 'rows' })
  let events: AlertEvent[] = []

  const showActive = (alerts: ActiveAlert[]) => {
    const sorted = [...alerts].sort((a, b) =>
      a.state === b.state ? a.rule.localeCompare(b.rule) : a.state === 'Firing' ? -1 : 1
    )
    fill(
      active,
      ...sorted.map((a) =>
        h(
          'li',
          {
            class: 'row alert-row',
            'data-testid': 'alert-row',
            'data-rule': a.rule,
            'data-state': a.state
          },
          badge(a.state),
          badge(a.severity),
          h('strong', {}, a.rule),
          h('span', {}, `value ${formatValue('count', a.value)}`),
          h('span', { class: 'muted' }, `since ${formatDateTime(a.activeSinceMs)}`),
          h('span', { class: 'muted' }, alertLabels(a.labels)),
          ctx.canWrite && actions(ctx, a)
        )
      )
    )
    if (alerts.length === 0) active.append(emptyNote('No alert is pending or firing'))
  }
  const showHistory = () => {
    fill(history, ...events.map(historyRow))
    if (events.length === 0) history.append(emptyNote('No alert has changed state yet'))
  }
  const refreshActive = async () => {
    const alerts = await ctx.call('get_active_alerts', () => ctx.client.getActiveAlerts())
    if (alerts !== undefined && !scope.closed) showActive(alerts)
  }

  poll(ctx, scope, REFRESH_MS, refreshActive)
  void ctx
    .call('get_alert_history', () => ctx.client.getAlertHistory())
    .then((all) => {
      if (all === undefined || scope.closed) return
      events = [...all].reverse().concat(events).slice(0, HISTORY_CAP)
      showHistory()
    })
  void ctx.start(scope, 'events:alert', () =>
    ctx.client.onAlert((event) => {
      if (scope.closed) return
      events = [event, ...events].slice(0, HISTORY_CAP)
      showHistory()
      void refreshActive()
    })
  )

  return h('div', { class: 'alerts' }, card('Active', active), card('History', history))
}
