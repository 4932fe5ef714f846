//! Descriptions (Prometheus `# HELP`) of the engine's own metrics: the system and process
//! collectors', the engine's self-monitoring and the health and alert gauges. The app's
//! metrics are described by the app (`metrics.catalogue`, [`super::Metrics::describe`]).

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
        "process_children",
        "Child processes running, by the name the app registered them under",
    ),
    (
        "process_child_cpu_usage_percent",
        "CPU usage of each name's child processes and their descendants, in percent of one core",
    ),
    (
        "process_child_memory_bytes",
        "Resident memory of each name's child processes and their descendants, in bytes",
    ),
    (
        "process_child_exits_total",
        "Child processes that ended, by name and outcome (success, failure, signal)",
    ),
    (
        "telemetry_streams_open",
        "Series streams open, by transport (ipc: Tauri channels, http: Server-Sent Events)",
    ),
    (
        "telemetry_spans_dropped_total",
        "Spans lost: refused by a full export queue, by the server, or in a failed export",
    ),
    (
        "telemetry_logs_dropped_total",
        "Log records lost: refused by a full export queue, by the server, or in a failed export",
    ),
    (
        "telemetry_spool_bytes",
        "Bytes of OTLP batches and alert deliveries waiting in the offline spool to be sent, by signal",
    ),
    (
        "telemetry_spool_dropped_total",
        "Spooled batches dropped unsent, by signal and reason (full, expired, corrupt, rejected, unwritable, consent, unconfigured)",
    ),
    (
        "webview_errors_total",
        "Uncaught errors, unhandled rejections and error records from the webview, by window",
    ),
    (
        "webview_logs_dropped_total",
        "Log records from the webview dropped past the window's budget, by window and reason",
    ),
    (
        "webview_frame_interval_ms",
        "Gaps between animation frames of a visible webview, by window (16.7 ms at 60 Hz; longer is jank)",
    ),
    (
        "webview_long_task_ms",
        "Main-thread tasks of 50 ms or more in a webview, by window (where the browser reports them)",
    ),
    (
        "webview_page_load_ms",
        "Page load phases of a webview from the start of navigation, by window and phase",
    ),
    (
        "telemetry_streams_stalled_total",
        "Series streams that ended because their receiver made no progress (acknowledged nothing) for 30 s, by transport",
    ),
    (
        "tauri_ipc_duration_ms",
        "Tauri invokes as the webview measured them, call to answer, by command and outcome (ok, error)",
    ),
    (
        "tauri_ipc_spans_dropped_total",
        "Invoke spans from the webview dropped (its buffer full, or past the window's budget), by window and reason",
    ),
    (
        "process_panics_total",
        "Rust panics in the app's process, by thread (with logs.capture_panics)",
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
        "telemetry_store_traces_kept_ratio",
        "Share of traces the in-app trace store keeps: 1 until more than tracing.store_max_traces_per_second end",
    ),
    (
        "telemetry_store_traces_passed_over_total",
        "Traces the in-app trace store passed over while more than tracing.store_max_traces_per_second ended (estimated from the share kept)",
    ),
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

/// The description of one of the engine's metrics, if `name` is one.
pub(crate) fn description(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// Whether the engine records `name` itself (its own metrics and every health check's
/// `<check>_health_status` gauge), rather than the app.
pub(crate) fn is_engine_metric(name: &str) -> bool {
    let recorded = name.strip_suffix("_total").unwrap_or(name);
    description(name).is_some()
        || description(recorded).is_some()
        || name.ends_with("_health_status")
}
