//! Descriptions (Prometheus `# HELP`) of the metrics the spec names.

/// `(name as recorded, description)`.
const KNOWN: &[(&str, &str)] = &[
    (
        "system_cpu_usage_percent",
        "CPU usage of the whole machine, in percent of all cores",
    ),
    (
        "system_memory_usage_bytes",
        "Memory in use on the machine, in bytes",
    ),
    (
        "system_memory_available_bytes",
        "Memory available for new work on the machine, in bytes",
    ),
    (
        "system_disk_usage_bytes",
        "Space used on each mounted disk, in bytes",
    ),
    (
        "system_disk_available_bytes",
        "Space available on each mounted disk, in bytes",
    ),
    (
        "system_network_bytes_sent",
        "Bytes sent on all non-loopback interfaces",
    ),
    (
        "system_network_bytes_received",
        "Bytes received on all non-loopback interfaces",
    ),
    (
        "process_cpu_usage_percent",
        "CPU usage of this process, in percent of one core",
    ),
    (
        "process_resident_memory_bytes",
        "Resident memory of this process, in bytes",
    ),
    (
        "video_processing_duration_ms",
        "Time to process one video, in milliseconds",
    ),
    (
        "frame_processing_duration_ms",
        "Time to process one frame, in milliseconds",
    ),
    ("frames_processed_total", "Frames processed"),
    ("videos_processed_total", "Videos processed"),
    (
        "encoding_speed_fps",
        "Current encoding speed, in frames per second",
    ),
    ("api_requests_total", "API requests handled"),
    (
        "api_request_duration_ms",
        "Time to handle one API request, in milliseconds",
    ),
    ("api_errors_total", "API requests that failed"),
    ("cache_hits_total", "Cache lookups that found their entry"),
    ("cache_misses_total", "Cache lookups that missed"),
    ("cache_evictions_total", "Entries evicted from the cache"),
    ("cache_size_bytes", "Current size of the cache, in bytes"),
    (
        "worker_pool_utilization",
        "Busy share of the worker pool, from 0 to 1",
    ),
    ("tasks_executed_total", "Tasks executed by the worker pool"),
    ("tasks_failed_total", "Tasks that failed"),
    ("queue_size", "Tasks waiting in the queue"),
    (
        "telemetry_streams_open",
        "Series streams open, by transport (ipc: Tauri channels, http: Server-Sent Events)",
    ),
    (
        "telemetry_spans_dropped_total",
        "Spans lost: refused by a full export queue or in a failed export",
    ),
    (
        "telemetry_logs_dropped_total",
        "Log records lost: refused by a full export queue or in a failed export",
    ),
    (
        "telemetry_task_panics_total",
        "Panics caught in the engine's periodic tasks (collection, health, alerts), by task",
    ),
    (
        "telemetry_alert_deliveries_dropped_total",
        "Alert notifications not delivered: refused by a full delivery queue or abandoned at shutdown",
    ),
    ("telemetry_store_series", "Series held by the in-app series store"),
    (
        "telemetry_store_series_dropped_total",
        "Series the full in-app store refused (full) or evicted to make room (evicted)",
    ),
    (
        "system_health_status",
        "Worst health check status: 0 unknown, 1 healthy, 2 warning, 3 unhealthy",
    ),
    (
        "alerts_active",
        "Alert instances pending or firing, by alert name, state and severity",
    ),
];

/// The description of a well-known metric, if `name` is one.
pub(crate) fn description(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}
