/**
 * TypeScript client of tauri-plugin-opentelemetry: one function per command.
 *
 * @example
 * ```ts
 * import { getSnapshot, getExportStatus } from 'tauri-plugin-opentelemetry-api'
 * const snapshot = await getSnapshot()
 * const cpu = snapshot.series.find((s) => s.name === 'system_cpu_usage_percent')
 * ```
 * @module
 */
import { invoke } from '@tauri-apps/api/core'

import type { ExportStatus } from './bindings/ExportStatus'
import type { LatestValue } from './bindings/LatestValue'
import type { MetricsSnapshot } from './bindings/MetricsSnapshot'

export type { ExportStatus, LatestValue, MetricsSnapshot }

/** The newest value of every stored series. */
export async function getSnapshot(): Promise<MetricsSnapshot> {
  return await invoke<MetricsSnapshot>('plugin:opentelemetry|get_snapshot')
}

/** The status of every exporter, by name (`prometheus:9090`, `file:./logs/metrics.json`). */
export async function getExportStatus(): Promise<Record<string, ExportStatus>> {
  return await invoke<Record<string, ExportStatus>>('plugin:opentelemetry|get_export_status')
}
