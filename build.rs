//! Generates the plugin's permission files from its command list.

const COMMANDS: &[&str] = &[
    // read (the `default` set)
    "get_snapshot",
    "get_metric_catalogue",
    "get_panels",
    "query_series",
    "get_histogram_quantiles",
    "list_traces",
    "get_trace",
    "get_logs",
    "get_health",
    "get_health_history",
    "get_active_alerts",
    "get_alert_history",
    "get_export_status",
    "get_config",
    "get_consent",
    "get_previous_crash",
    "get_resource",
    "subscribe_series",
    "ack_series",
    "unsubscribe_series",
    "subscribe_events",
    "unsubscribe_events",
    // write (the `allow-write` set)
    "record_metric",
    "run_health_checks",
    "silence_alert",
    "acknowledge_alert",
    "start_span",
    "end_span",
    "set_consent",
    "write_diagnostics",
    "log",
    "record_ui_timings",
    "record_invokes",
    "open_panel",
];

fn main() {
    tauri_plugin::Builder::new(COMMANDS).build();
}
