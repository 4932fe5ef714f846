/**
 * The overview: the previous session's crash if it crashed, health summary, firing
 * alerts, exporter status, and live charts of the machine, of this process, of the child
 * processes it registered and of its windows' responsiveness.
 * @module
 */
import type {
  ActiveAlert,
  CrashReport,
  ExportStatus,
  HealthReport
} from '../../src/index.js'
import { liveCharts } from '../charts/feed.js'
import { fill, h } from '../core/dom.js'
import { formatTime, formatValue } from '../core/format.js'
import { gaugePanel, quantilePanel, ratePanel } from '../data/panels.js'
import { type View, alertLabels, badge, card, emptyNote, poll, toneOf } from './common.js'

/**
 * How often the summaries are read again (ms). Health and alert changes come as events and
 * refresh their card at once; this reads the export status, which has none, and is the
 * safety net of the other two. Each read is an IPC call a window pays for, and each
 * changed card a repaint.
 */
export const REFRESH_MS = 15_000

const SYSTEM = [
  gaugePanel('system_cpu_usage_percent', 'CPU', 'percent'),
  gaugePanel('system_memory_usage_bytes', 'Memory used', 'bytes'),
  gaugePanel('system_memory_available_bytes', 'Memory available', 'bytes'),
  gaugePanel('system_disk_usage_bytes', 'Disk used', 'bytes'),
  gaugePanel('system_disk_available_bytes', 'Disk available', 'bytes'),
  ratePanel('system_network_bytes_sent_total', 'Network sent', 'bytes/s'),
  ratePanel('system_network_bytes_received_total', 'Network received', 'bytes/s')
]

const PROCESS = [
  gaugePanel('process_cpu_usage_percent', 'Process CPU', 'percent'),
  gaugePanel('process_resident_memory_bytes', 'Process memory (RSS)', 'bytes')
]

/** The processes the app registered as its children, one line per name. */
const CHILDREN = [
  gaugePanel('process_children', 'Child processes running', 'count'),
  gaugePanel('process_child_cpu_usage_percent', 'Child CPU', 'percent'),
  gaugePanel('process_child_memory_bytes', 'Child memory', 'bytes'),
  ratePanel('process_child_exits_total', 'Child exits', 'per_s')
]

/** What the previous session left: its panic, or an exit that was not clean. */
function crashReport(report: CrashReport, showLogs: (sessionId: string) => void): HTMLElement {
  const panic = report.kind === 'panic'
  const facts = [
    formatTime(report.timeMs),
    report.thread !== null && `thread ${report.thread}`,
    report.location,
    `session ${report.sessionId}`,
    report.minidump !== null && `minidump ${report.minidump}`
  ].filter((fact): fact is string => typeof fact === 'string' && fact !== '')
  return h(
    'section',
    { class: 'crash-report', 'data-testid': 'previous-crash', 'data-kind': report.kind, role: 'alert' },
    h(
      'strong',
      {},
      panic || report.kind === 'native_crash'
        ? 'The previous session crashed'
        : 'The previous session did not exit cleanly'
    ),
    h('p', { 'data-testid': 'crash-message' }, report.message),
    h('p', { class: 'muted' }, facts.join(' · ')),
    h(
      'button',
      { class: 'link', 'data-testid': 'crash-logs', onclick: () => showLogs(report.sessionId) },
      "Show that session's logs"
    ),
    report.backtrace !== null &&
      h('details', {}, h('summary', {}, 'Backtrace'), h('pre', {}, report.backtrace))
  )
}

/** The metric whose presence says a window reports its responsiveness. */
const WINDOWS_METRIC = 'webview_frame_interval_ms'

/** The app's windows as the plugin's init script measures them. */
const WINDOWS = [
  quantilePanel('webview_frame_interval_ms', 'Frame interval (visible windows)', 'ms'),
  quantilePanel('webview_long_task_ms', 'Long tasks', 'ms'),
  ratePanel('webview_errors_total', 'Webview errors', 'per_s')
]

/** The overview view. */
export const overviewView: View = (ctx, scope) => {
  const crash = h('div', { class: 'crash-slot' })
  void ctx.call('get_previous_crash', () => ctx.client.getPreviousCrash()).then((report) => {
    if (!scope.closed && report) fill(crash, crashReport(report, (id) => ctx.navigate('logs', id)))
  })
  const health = h('div', {
    class: 'health-summary',
    'data-testid': 'health-summary',
    'data-status': 'Unknown'
  })
  const alerts = h('ul', { class: 'rows', 'data-testid': 'overview-alerts' })
  const exporters = h('ul', { class: 'rows' })

  /** The data each card shows now: a card whose data did not change is left as it is. */
  const shown = new Map<Element, string>()
  const changed = (card: Element, data: unknown) => {
    const key = JSON.stringify(data)
    if (shown.get(card) === key) return false
    shown.set(card, key)
    return true
  }

  const showHealth = (report: HealthReport) => {
    const checks = Object.entries(report.checks).sort(([a], [b]) => a.localeCompare(b))
    const seen = checks.map(([name, r]) => [name, r.status, r.message])
    if (!changed(health, [report.status, seen])) return
    health.setAttribute('data-status', report.status)
    fill(
      health,
      h(
        'button',
        { class: 'link health-worst', onclick: () => ctx.navigate('health') },
        badge(report.status)
      ),
      h(
        'ul',
        { class: 'chips' },
        ...checks.map(([name, r]) =>
          h('li', { title: r.message }, badge(`${name}: ${r.status}`, toneOf(r.status)))
        )
      )
    )
  }
  const showAlerts = (active: ActiveAlert[]) => {
    const firing = active.filter((a) => a.state === 'Firing')
    if (!changed(alerts, firing)) return
    fill(
      alerts,
      ...firing.map((a) =>
        h(
          'li',
          { class: 'row', 'data-rule': a.rule },
          badge(a.severity),
          h('strong', {}, a.rule),
          h('span', {}, alertLabels(a.labels)),
          h(
            'span',
            { class: 'muted' },
            `value ${formatValue('count', a.value)} · since ${formatTime(a.activeSinceMs)}`
          )
        )
      )
    )
    if (firing.length === 0) alerts.append(emptyNote('No alert is firing'))
  }
  const showExporters = (status: Record<string, ExportStatus>) => {
    const names = Object.keys(status).sort()
    const seen = names.map((name) => {
      const s = status[name]
      return [name, s.state, 'reason' in s ? s.reason : null]
    })
    if (!changed(exporters, seen)) return
    fill(
      exporters,
      ...names.map((name) => {
        const s = status[name]
        return h(
          'li',
          { class: 'row', 'data-testid': 'exporter-row', 'data-name': name, 'data-state': s.state },
          // An exporter with nothing sent yet has no news, good or bad.
          badge(s.state, s.state === 'Pending' ? 'muted' : toneOf(s.state)),
          h('strong', {}, name),
          'reason' in s && h('span', { class: 'muted' }, s.reason)
        )
      })
    )
    if (names.length === 0) exporters.append(emptyNote('No exporter configured'))
  }

  // The windows' charts appear once a window has reported (an app without windows, or
  // with the capture off, shows none rather than empty charts).
  const windows = h('div', { class: 'window-charts' })
  let windowsShown = false
  const showWindows = async () => {
    const catalogue = await ctx.call('get_metric_catalogue', () => ctx.client.getMetricCatalogue())
    if (scope.closed || windowsShown) return
    if (catalogue?.some((entry) => entry.name === WINDOWS_METRIC)) {
      windowsShown = true
      fill(windows, liveCharts(ctx, scope, [{ title: 'Windows', panels: WINDOWS }]))
    }
  }

  const refreshHealth = async () => {
    const report = await ctx.call('get_health', () => ctx.client.getHealth())
    if (report !== undefined && !scope.closed) showHealth(report)
  }
  const refreshAlerts = async () => {
    const active = await ctx.call('get_active_alerts', () => ctx.client.getActiveAlerts())
    if (active !== undefined && !scope.closed) showAlerts(active)
  }
  poll(ctx, scope, REFRESH_MS, async () => {
    const [status] = await Promise.all([
      ctx.call('get_export_status', () => ctx.client.getExportStatus()),
      refreshHealth(),
      refreshAlerts(),
      windowsShown ? undefined : showWindows()
    ])
    if (status !== undefined && !scope.closed) showExporters(status)
  })
  void ctx.start(scope, 'events:health', () =>
    ctx.client.onHealthChange(() => {
      if (!scope.closed && !ctx.paused) void refreshHealth()
    })
  )
  void ctx.start(scope, 'events:alert', () =>
    ctx.client.onAlert(() => {
      if (!scope.closed && !ctx.paused) void refreshAlerts()
    })
  )

  return h(
    'div',
    { class: 'overview' },
    crash,
    h(
      'div',
      { class: 'cards' },
      card('Health', health),
      card('Firing alerts', alerts),
      card('Exporters', exporters)
    ),
    liveCharts(ctx, scope, [
      { title: 'System', panels: SYSTEM },
      { title: 'This process', panels: PROCESS },
      { title: 'Child processes', panels: CHILDREN }
    ]),
    windows
  )
}
