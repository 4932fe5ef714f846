/**
 * Health: every check with its status, message, duration and history of status changes,
 * live through `onHealthChange`; "Run now" where writes are allowed.
 * @module
 */
import type { HealthCheckResult, HealthReport, StatusChange } from '../../src/index.js'
import { fill, h } from '../core/dom.js'
import { formatDateTime, formatDuration, formatTime } from '../core/format.js'
import { type View, badge, emptyNote, poll } from './common.js'

/** Status changes kept per check. */
const HISTORY_CAP = 50

/** How often the report refreshes besides change events (ms). */
const REFRESH_MS = 10_000

/** The health view. */
export const healthView: View = (ctx, scope) => {
  const results = new Map<string, HealthCheckResult>()
  const history = new Map<string, StatusChange[]>()
  const overall = h('div', { class: 'health-overall' })
  const list = h('div', { class: 'health-checks' })

  const remember = (change: StatusChange) => {
    const changes = history.get(change.check) ?? []
    changes.unshift(change)
    changes.length = Math.min(changes.length, HISTORY_CAP)
    history.set(change.check, changes)
  }
  const checkRow = (name: string, r: HealthCheckResult) => {
    const changes = history.get(name) ?? []
    const metadata = Object.entries(r.metadata)
      .map(([k, v]) => `${k}: ${v}`)
      .join(' · ')
    return h(
      'article',
      {
        class: 'card health-check',
        'data-testid': 'health-check',
        'data-name': name,
        'data-status': r.status
      },
      h('h3', {}, badge(r.status), ' ', name),
      h('p', {}, r.message),
      h(
        'p',
        { class: 'muted' },
        `checked ${formatTime(r.timestamp)} in ${formatDuration(r.checkDuration)}`
      ),
      metadata !== '' && h('p', { class: 'muted' }, metadata),
      h(
        'details',
        {},
        h('summary', {}, `History (${changes.length})`),
        changes.length === 0
          ? emptyNote('No status change recorded')
          : h(
              'ul',
              { class: 'history' },
              ...changes.map((c) =>
                h(
                  'li',
                  {},
                  h('time', { class: 'muted' }, formatDateTime(c.timestampMs)),
                  ' ',
                  badge(c.from),
                  ' → ',
                  badge(c.to),
                  ' ',
                  c.message
                )
              )
            )
      )
    )
  }
  const render = (status?: string) => {
    const names = [...results.keys()].sort()
    if (status !== undefined) fill(overall, 'Overall ', badge(status))
    // Keep open history panels open across redraws.
    const open = new Set(
      [...list.querySelectorAll('details[open]')].map((d) =>
        d.closest('[data-name]')?.getAttribute('data-name')
      )
    )
    fill(list, ...names.map((n) => checkRow(n, results.get(n)!)))
    for (const details of list.querySelectorAll('details')) {
      if (open.has(details.closest('[data-name]')?.getAttribute('data-name'))) details.open = true
    }
    if (names.length === 0) list.append(emptyNote('No health check is registered'))
  }
  const show = (report: HealthReport) => {
    results.clear()
    for (const [name, r] of Object.entries(report.checks)) results.set(name, r)
    render(report.status)
  }

  void ctx
    .call('get_health_history', () => ctx.client.getHealthHistory())
    .then((changes) => {
      if (changes === undefined || scope.closed) return
      for (const change of changes) remember(change)
      render()
    })
  poll(ctx, scope, REFRESH_MS, async () => {
    const report = await ctx.call('get_health', () => ctx.client.getHealth())
    if (report !== undefined && !scope.closed) show(report)
  })
  void ctx.start(scope, 'events:health', () =>
    ctx.client.onHealthChange((change) => {
      if (scope.closed) return
      remember(change)
      const known = results.get(change.check)
      if (known !== undefined)
        results.set(change.check, {
          ...known,
          status: change.to,
          message: change.message,
          timestamp: change.timestampMs
        })
      render()
    })
  )

  const run = async (button: HTMLButtonElement) => {
    button.disabled = true
    const report = await ctx.call('run_health_checks', () => ctx.client.runHealthChecks())
    button.disabled = false
    if (report !== undefined && !scope.closed) show(report)
  }
  const runButton = ctx.canWrite
    ? h(
        'button',
        {
          class: 'primary',
          'data-testid': 'health-run',
          onclick: (e) => void run(e.currentTarget as HTMLButtonElement)
        },
        'Run now'
      )
    : false

  return h('div', { class: 'health' }, h('div', { class: 'toolbar' }, overall, runButton), list)
}
