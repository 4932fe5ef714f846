/**
 * The app's metrics: the charts the engine lists (`get_panels`: the panels the app
 * configured, then a default chart for each other metric it recorded), grouped by
 * section, and the metric explorer.
 * @module
 */
import type { Panel } from '../../src/index.js'
import { type Section, liveCharts } from '../charts/feed.js'
import { fill, h } from '../core/dom.js'
import { panelOf } from '../data/panels.js'
import { type View, emptyNote } from './common.js'
import { explorer } from './explorer.js'

/** `panels` grouped by section, sections in the order they first appear. */
export function sectionsOf(panels: readonly Panel[]): Section[] {
  const sections = new Map<string, Section>()
  for (const panel of panels) {
    let section = sections.get(panel.section)
    if (section === undefined) {
      section = { title: panel.section, panels: [] }
      sections.set(panel.section, section)
    }
    section.panels.push(panelOf(panel))
  }
  return [...sections.values()]
}

/** The metrics view. */
export const metricsView: View = (ctx, scope) => {
  const charts = h('div', { class: 'metric-panels' }, emptyNote('Loading the panels…'))
  const load = async () => {
    const panels = await ctx.call('get_panels', () => ctx.client.getPanels())
    if (panels === undefined || scope.closed) return
    if (panels.length === 0) {
      fill(charts, emptyNote('No metrics recorded yet: the metric explorer lists them as they come'))
      return
    }
    fill(charts, liveCharts(ctx, scope, sectionsOf(panels)))
  }
  void load()
  return h('div', { class: 'metrics' }, explorer(ctx, scope), charts)
}
