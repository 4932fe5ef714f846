//! Generates the plugin's permission files from its command list.

const COMMANDS: &[&str] = &["get_snapshot", "get_export_status"];

fn main() {
    tauri_plugin::Builder::new(COMMANDS).build();
}
