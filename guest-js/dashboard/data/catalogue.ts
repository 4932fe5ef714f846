/**
 * From the metric catalogue to filters: the label values a metric can be filtered by.
 * @module
 */
import type { CatalogueEntry } from '../../src/index.js'

/** Each label key of the entry's label sets with its values, keys and values sorted. */
export function labelValues(entry: Pick<CatalogueEntry, 'labelSets'>): Array<[string, string[]]> {
  const values = new Map<string, Set<string>>()
  for (const set of entry.labelSets) {
    for (const [k, v] of Object.entries(set)) {
      const seen = values.get(k) ?? new Set<string>()
      seen.add(v)
      values.set(k, seen)
    }
  }
  return [...values.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, [...v].sort()])
}
