//! The plugin's commands, declared once. Everything else that lists them is checked
//! against [`COMMANDS`]: the Tauri handler list, `build.rs` (which generates the
//! permissions), `permissions/default.toml`, the HTTP dispatch ([`super::read`]), the
//! fuzz target and the guest-js client (`tests/commands.rs` in the plugin crate, and the
//! unit test below for the HTTP dispatch). A command added in one place and not the
//! others fails `make test`.

/// What a command may do, and so which permission set holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads: in the `default` permission set.
    Read,
    /// Changes something (records, runs checks, silences, spans): in `allow-write` only.
    Write,
}

/// One command of the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Its name (`plugin:opentelemetry|<name>` over IPC, `POST /api/<name>` over HTTP).
    pub name: &'static str,
    /// Read or write.
    pub access: Access,
    /// Whether the HTTP API answers it (`POST /api/<name>`); streams have routes of their
    /// own, and writes stay with the webview's permissions.
    pub http: bool,
}

const fn read(name: &'static str) -> CommandSpec {
    CommandSpec {
        name,
        access: Access::Read,
        http: true,
    }
}

const fn stream(name: &'static str) -> CommandSpec {
    CommandSpec {
        name,
        access: Access::Read,
        http: false,
    }
}

const fn write(name: &'static str) -> CommandSpec {
    CommandSpec {
        name,
        access: Access::Write,
        http: false,
    }
}

/// Every command, in the order the handler list, `build.rs` and the permissions use.
///
/// # Examples
/// ```
/// use telemetry_engine::api::{Access, COMMANDS};
/// let writes: Vec<&str> = COMMANDS.iter().filter(|c| c.access == Access::Write).map(|c| c.name).collect();
/// assert!(writes.contains(&"record_metric"));
/// ```
pub const COMMANDS: &[CommandSpec] = &[
    read("get_snapshot"),
    read("get_metric_catalogue"),
    read("get_panels"),
    read("query_series"),
    read("get_histogram_quantiles"),
    read("list_traces"),
    read("get_trace"),
    read("get_logs"),
    read("get_health"),
    read("get_health_history"),
    read("get_active_alerts"),
    read("get_alert_history"),
    read("get_export_status"),
    read("get_config"),
    read("get_consent"),
    read("get_previous_crash"),
    read("get_resource"),
    stream("subscribe_series"),
    stream("ack_series"),
    stream("unsubscribe_series"),
    stream("subscribe_events"),
    stream("unsubscribe_events"),
    write("record_metric"),
    write("run_health_checks"),
    write("silence_alert"),
    write("acknowledge_alert"),
    write("start_span"),
    write("end_span"),
    write("set_consent"),
    write("write_diagnostics"),
    write("log"),
    write("record_ui_timings"),
    write("record_invokes"),
    write("open_panel"),
];
