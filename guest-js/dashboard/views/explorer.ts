/**
 * The metric explorer: any metric of the catalogue, optionally narrowed to label values,
 * charted live like the fixed panels.
 * @module
 */
import type { CatalogueEntry } from '../../src/index.js'
import { liveCharts } from '../charts/feed.js'
import type { Context } from '../core/context.js'
import { fill, h } from '../core/dom.js'
import type { Scope } from '../core/scope.js'
import { labelValues } from '../data/catalogue.js'
import {
  type PanelSpec,
  displayUnit,
  gaugePanel,
  quantilePanel,
  ratePanel
} from '../data/panels.js'
import { card, emptyNote } from './common.js'

/** The charts of one catalogue entry narrowed to `labels`. */
function panelsOf(entry: CatalogueEntry, labels: Record<string, string>): PanelSpec[] {
  const unit = displayUnit(entry.unit)
  switch (entry.kind) {
    case 'counter':
      return [
        ratePanel(entry.name, entry.name, unit === 'bytes' ? 'bytes/s' : 'per_s', labels)
      ]
    case 'histogram':
      return [
        quantilePanel(entry.name, `${entry.name} (all label sets)`, unit),
        ratePanel(`${entry.name}_count`, `${entry.name} observations`, 'per_s', labels)
      ]
    default:
      return [gaugePanel(entry.name, entry.name, unit, labels)]
  }
}

/** The explorer card; its charts live in a scope of their own, replaced on every choice. */
export function explorer(ctx: Context, scope: Scope): HTMLElement {
  let entries: CatalogueEntry[] = []
  let charts: Scope | undefined
  const metric = h('select', { class: 'explorer-metric', 'aria-label': 'Metric' })
  const filters = h('div', { class: 'explorer-filters' })
  const about = h('p', { class: 'muted explorer-about' })
  const host = h('div', { class: 'explorer-charts' })

  const chosen = () => entries.find((e) => e.name === metric.value)
  const labels = () => {
    const out: Record<string, string> = {}
    for (const select of filters.querySelectorAll('select')) {
      if (select.value !== '') out[select.name] = select.value
    }
    return out
  }
  const draw = () => {
    charts?.close()
    charts = undefined
    const entry = chosen()
    if (entry === undefined) return fill(host, emptyNote('Pick a metric to chart it'))
    charts = scope.child()
    fill(host, liveCharts(ctx, charts, [{ panels: panelsOf(entry, labels()) }]))
  }
  const pick = () => {
    const entry = chosen()
    about.textContent =
      entry === undefined
        ? ''
        : `${entry.kind}${entry.unit ? `, ${entry.unit}` : ''}: ${entry.description ?? 'no description'}`
    fill(
      filters,
      ...(entry === undefined ? [] : labelValues(entry)).map(([key, values]) =>
        h(
          'label',
          {},
          `${key} `,
          h(
            'select',
            { name: key, onchange: draw },
            h('option', { value: '' }, 'any'),
            ...values.map((v) => h('option', { value: v }, v))
          )
        )
      )
    )
    draw()
  }
  const load = async () => {
    const answer = await ctx.call('get_metric_catalogue', () => ctx.client.getMetricCatalogue())
    if (answer === undefined || scope.closed) return
    const keep = metric.value
    entries = [...answer].sort((a, b) => a.name.localeCompare(b.name))
    fill(
      metric,
      h('option', { value: '' }, 'Choose a metric…'),
      ...entries.map((e) => h('option', { value: e.name }, `${e.name} (${e.kind})`))
    )
    metric.value = entries.some((e) => e.name === keep) ? keep : ''
    if (metric.value !== keep) pick()
  }
  metric.addEventListener('change', pick)
  void load()
  draw()

  return card(
    'Metric explorer',
    h(
      'div',
      { class: 'explorer-controls' },
      metric,
      h(
        'button',
        { class: 'secondary', title: 'Reload the catalogue', onclick: () => void load() },
        'Reload'
      ),
      filters
    ),
    about,
    host
  )
}
