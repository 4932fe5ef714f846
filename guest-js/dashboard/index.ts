/**
 * The live telemetry dashboard: overview, metrics, traces, logs, health and alerts of a
 * `tauri-plugin-opentelemetry` backend, over any {@link TelemetryClient} (Tauri IPC inside
 * the app, or the engine's HTTP API in a browser). Plain DOM and uPlot; mount it into any
 * element, from a full page down to a ~360 px side panel. Its stylesheet is a file of its
 * own: `import 'tauri-plugin-opentelemetry-api/dashboard/style.css'`.
 * @module
 */
// First: uPlot (imported below, through the views) reads navigator.language on load.
import './core/locale.js'

import {
  type DiagnosticsBundle,
  TelemetryClient,
  bundleTransport,
  readBundle
} from '../src/index.js'
import { Context, TABS, type Tab } from './core/context.js'
import { fill, h } from './core/dom.js'
import { ErrorStrip } from './core/errors.js'
import { RANGES, isRangeId } from './core/range.js'
import { Scope } from './core/scope.js'
import { type ThemeOption, darkQuery, resolveTheme, storeTheme, storedTheme } from './core/theme.js'
import { alertsView } from './views/alerts.js'
import type { View } from './views/common.js'
import { healthView } from './views/health.js'
import { logsView } from './views/logs.js'
import { metricsView } from './views/metrics.js'
import { overviewView } from './views/overview.js'
import { tracesView } from './views/traces.js'

/**
 * How to mount the dashboard.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = {
 *   client: new TelemetryClient(httpTransport('http://127.0.0.1:9090')),
 *   title: 'Studio telemetry',
 *   theme: 'dark'
 * }
 * ```
 */
export interface DashboardOptions {
  /** The client it reads through (IPC or HTTP). */
  client: TelemetryClient
  /**
   * Offer write commands: "Run now" on health checks, silence and acknowledge on alerts
   * (the app must grant `opentelemetry:allow-write`). Default `false`.
   */
  canWrite?: boolean
  /** Heading. Default `"Telemetry"`. */
  title?: string
  /**
   * `light`, `dark`, or `auto` (default): the user's last choice of the toggle, else the
   * system's `prefers-color-scheme`.
   */
  theme?: ThemeOption
  /**
   * Writes a diagnostics bundle and resolves to what to tell the user (where it went).
   * Default with `canWrite`: the plugin's `writeDiagnostics()` (a file in the app's log
   * directory); without `canWrite` and without this, no "Save bundle" button. Any
   * dashboard can open a bundle ("Open bundle") and shows it offline, read-only.
   */
  saveBundle?: () => Promise<string>
}

/**
 * A mounted dashboard.
 *
 * @example
 * ```ts
 * const dashboard = mountDashboard(panel, { client })
 * dashboard.destroy()
 * ```
 */
export interface Dashboard {
  /**
   * Stops every stream, listener and timer, destroys the charts and empties the element.
   * Idempotent.
   */
  destroy(): void
}

const VIEWS: Record<Tab, { label: string; view: View }> = {
  overview: { label: 'Overview', view: overviewView },
  metrics: { label: 'Metrics', view: metricsView },
  traces: { label: 'Traces', view: tracesView },
  logs: { label: 'Logs', view: logsView },
  health: { label: 'Health', view: healthView },
  alerts: { label: 'Alerts', view: alertsView }
}

/**
 * Mounts the dashboard into `element` (its content is replaced) and starts the overview.
 * Backend errors, such as a command the app's capabilities deny, show in the error strip
 * under the command's name; they are never thrown.
 *
 * @example
 * ```ts
 * import { TelemetryClient } from 'tauri-plugin-opentelemetry-api'
 * import { mountDashboard } from './dashboard/index.js'
 *
 * const dashboard = mountDashboard(document.getElementById('telemetry')!, {
 *   client: new TelemetryClient(), // Tauri IPC
 *   canWrite: true
 * })
 * // later, when the panel closes:
 * dashboard.destroy()
 * ```
 */
export function mountDashboard(element: HTMLElement, options: DashboardOptions): Dashboard {
  let current: Dashboard
  const live = () => {
    current = mount(element, options, { open })
  }
  const open = (bundle: DiagnosticsBundle) => {
    current.destroy()
    const client = new TelemetryClient(bundleTransport(bundle))
    current = mount(
      element,
      { ...options, client, canWrite: false, saveBundle: undefined },
      { open, bundle, back: () => (current.destroy(), live()) }
    )
  }
  live()
  return { destroy: () => current.destroy() }
}

/** What a mount shows: the live backend, or a bundle with the way back to live. */
interface Mode {
  /** Shows a bundle the user opened. */
  open: (bundle: DiagnosticsBundle) => void
  /** The bundle shown, if any. */
  bundle?: DiagnosticsBundle
  /** Back to the live backend. */
  back?: () => void
}

function mount(element: HTMLElement, options: DashboardOptions, mode: Mode): Dashboard {
  const scope = new Scope()
  const errors = new ErrorStrip()
  const main = h('main', { class: 'dash-main' })
  const root = h('div', { class: 'otel-dash' })
  const bundle = mode.bundle
  const ctx = new Context(
    options.client,
    options.canWrite ?? false,
    errors,
    (tab, target) => show(tab, target),
    bundle !== undefined ? () => bundle.writtenAtMs : Date.now
  )

  // Theme: explicit option, else the stored choice, else the system's (followed live).
  const option = options.theme ?? 'auto'
  const query = darkQuery()
  const themeToggle = h('button', {
    class: 'secondary',
    'data-testid': 'theme-toggle',
    onclick: () => {
      const next = ctx.theme === 'dark' ? 'light' : 'dark'
      storeTheme(next)
      ctx.set('theme', next)
    }
  })
  const applyTheme = () => {
    root.setAttribute('data-theme', ctx.theme)
    themeToggle.textContent = ctx.theme === 'dark' ? 'Light' : 'Dark'
    themeToggle.title = `Switch to the ${ctx.theme === 'dark' ? 'light' : 'dark'} theme`
  }
  ctx.theme = resolveTheme(option, storedTheme(), query?.matches ?? false)
  if (query !== null && option === 'auto') {
    const follow = () => ctx.set('theme', resolveTheme(option, storedTheme(), query.matches))
    query.addEventListener('change', follow)
    scope.add(() => query.removeEventListener('change', follow))
  }

  const range = h(
    'select',
    { 'data-testid': 'range-select', 'aria-label': 'Time range' },
    ...Object.entries(RANGES).map(([id, r]) => h('option', { value: id }, r.label))
  )
  range.value = ctx.range
  range.addEventListener('change', () => {
    if (isRangeId(range.value)) ctx.set('range', range.value)
  })
  const pause = h(
    'button',
    {
      class: 'secondary',
      'data-testid': 'pause-toggle',
      'aria-pressed': 'false',
      onclick: () => ctx.set('paused', !ctx.paused)
    },
    'Pause'
  )
  ctx.watch(scope, (setting) => {
    if (setting === 'theme') applyTheme()
    if (setting === 'paused') {
      pause.textContent = ctx.paused ? 'Resume' : 'Pause'
      pause.setAttribute('aria-pressed', String(ctx.paused))
      root.classList.toggle('paused', ctx.paused)
    }
  })
  applyTheme()

  const tabs = TABS.map((tab) =>
    h(
      'button',
      { class: 'tab', 'data-testid': `tab-${tab}`, 'data-tab': tab, onclick: () => show(tab) },
      VIEWS[tab].label
    )
  )
  let current: Scope | undefined
  const show = (tab: Tab, target?: string) => {
    current?.close()
    current = scope.child()
    for (const button of tabs) {
      const active = button.getAttribute('data-tab') === tab
      button.classList.toggle('active', active)
      if (active) button.setAttribute('aria-current', 'page')
      else button.removeAttribute('aria-current')
    }
    fill(
      main,
      h(
        'div',
        { class: `view view-${tab}`, 'data-testid': `view-${tab}` },
        VIEWS[tab].view(ctx, current, target)
      )
    )
  }

  fill(
    root,
    h(
      'div',
      { class: 'dash-shell' },
      h(
        'header',
        { class: 'dash-header' },
        h('h1', {}, options.title ?? 'Telemetry'),
        h(
          'div',
          { class: 'dash-controls' },
          range,
          bundle === undefined && pause,
          ...bundleControls(ctx, options, mode),
          themeToggle
        )
      ),
      h('nav', { class: 'dash-nav', 'aria-label': 'Views' }, ...tabs),
      bundle !== undefined && bundleBanner(bundle, mode.back),
      errors.element,
      main
    )
  )
  fill(element, root)
  show('overview')

  return {
    destroy() {
      if (scope.closed) return
      scope.close()
      root.remove()
    }
  }
}

/** "Save bundle" (when the dashboard may write one) and "Open bundle". */
function bundleControls(ctx: Context, options: DashboardOptions, mode: Mode): HTMLElement[] {
  const controls: HTMLElement[] = []
  const save =
    options.saveBundle ??
    (ctx.canWrite ? async () => `Saved to ${await ctx.client.writeDiagnostics()}` : undefined)
  const notice = h('span', { class: 'dash-notice muted', 'data-testid': 'bundle-notice' })
  if (save !== undefined && mode.bundle === undefined) {
    controls.push(
      h(
        'button',
        {
          class: 'secondary',
          'data-testid': 'save-bundle',
          title: 'Write what the panel holds (last 15 minutes, scrubbed) to one file for a bug report',
          onclick: async () => {
            const said = await ctx.call('write_diagnostics', save)
            if (said !== undefined) notice.textContent = said
          }
        },
        'Save bundle'
      )
    )
  }
  const input = h('input', {
    type: 'file',
    accept: '.gz,.json,application/gzip,application/json',
    hidden: true,
    'data-testid': 'open-bundle-file'
  })
  input.addEventListener('change', async () => {
    const file = input.files?.[0]
    if (file === undefined) return
    const bundle = await ctx.call('open_bundle', () => readBundle(file))
    if (bundle !== undefined) mode.open(bundle)
  })
  controls.push(
    input,
    h(
      'button',
      {
        class: 'secondary',
        'data-testid': 'open-bundle',
        title: 'Show a diagnostics bundle, offline',
        onclick: () => input.click()
      },
      'Open bundle'
    ),
    notice
  )
  return controls
}

/** What is shown instead of the live data, and the way back. */
function bundleBanner(bundle: DiagnosticsBundle, back?: () => void): HTMLElement {
  const service = bundle.resource['service.name'] ?? 'unknown service'
  const version = bundle.resource['service.version']
  const minutes = Math.round(bundle.windowMs / 60000)
  return h(
    'div',
    { class: 'bundle-banner', 'data-testid': 'bundle-banner', role: 'status' },
    h(
      'span',
      {},
      `Diagnostics bundle of ${service}${version !== undefined ? ` ${version}` : ''}, written `,
      h('time', { datetime: new Date(bundle.writtenAtMs).toISOString() }, new Date(bundle.writtenAtMs).toLocaleString()),
      `, last ${minutes} min (read-only)`
    ),
    back !== undefined &&
      h('button', { class: 'secondary', 'data-testid': 'bundle-back', onclick: back }, 'Back to live')
  )
}
