/**
 * The studio's metrics: processing, API, cache and workers as live charts (rates for
 * counters, p50/p90/p99 for histograms), and the metric explorer.
 * @module
 */
import { liveCharts } from '../charts/feed.js'
import { h } from '../core/dom.js'
import { gaugePanel, quantilePanel, ratePanel, ratioPanel } from '../data/panels.js'
import type { View } from './common.js'
import { explorer } from './explorer.js'

const SECTIONS = [
  {
    title: 'Video and frames',
    panels: [
      quantilePanel('video_processing_duration_ms', 'Video processing time', 'ms'),
      quantilePanel('frame_processing_duration_ms', 'Frame processing time', 'ms'),
      ratePanel('frames_processed_total', 'Frames processed', 'per_s'),
      ratePanel('videos_processed_total', 'Videos processed by codec', 'per_s'),
      gaugePanel('encoding_speed_fps', 'Encoding speed', 'fps')
    ]
  },
  {
    title: 'API',
    panels: [
      ratePanel('api_requests_total', 'Requests', 'per_s'),
      quantilePanel('api_request_duration_ms', 'Request duration', 'ms'),
      ratePanel('api_errors_total', 'Errors by endpoint', 'per_s')
    ]
  },
  {
    title: 'Cache',
    panels: [
      ratioPanel('cache_hit_ratio', 'Hit ratio', 'cache_hits_total', 'cache_misses_total'),
      gaugePanel('cache_size_bytes', 'Size', 'bytes'),
      ratePanel('cache_evictions_total', 'Evictions', 'per_s')
    ]
  },
  {
    title: 'Workers and tasks',
    panels: [
      gaugePanel('worker_pool_utilization', 'Worker pool utilization', 'ratio'),
      ratePanel('tasks_executed_total', 'Tasks executed', 'per_s'),
      ratePanel('tasks_failed_total', 'Tasks failed', 'per_s'),
      gaugePanel('queue_size', 'Queue size', 'count')
    ]
  }
]

/** The metrics view. */
export const metricsView: View = (ctx, scope) =>
  h('div', { class: 'metrics' }, explorer(ctx, scope), liveCharts(ctx, scope, SECTIONS))
