//! Each command is declared once, in `telemetry_engine::api::COMMANDS`; every other list
//! of them is checked against it here: the Tauri handler list (`src/lib.rs`), `build.rs`
//! (which generates the permissions), the `default` permission set, the guest-js client
//! and the fuzz target. Adding a command to the table and forgetting one of them, or the
//! other way round, fails this test with the place and the name.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tauri_plugin_opentelemetry::engine::api::{Access, COMMANDS};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The double-quoted strings between `start` and the next `end` in `text`.
fn quoted_between(text: &str, start: &str, end: &str) -> Vec<String> {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not found"))
        + start.len();
    let body = &text[from..];
    let body = &body[..body.find(end).unwrap_or(body.len())];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn names() -> Vec<String> {
    COMMANDS.iter().map(|c| c.name.to_owned()).collect()
}

#[test]
fn build_rs_lists_every_command_in_the_table_order() {
    let listed = quoted_between(&read("build.rs"), "const COMMANDS: &[&str] = &[", "];");
    assert_eq!(listed, names());
}

#[test]
fn the_handler_list_registers_every_command() {
    let lib = read("src/lib.rs");
    let from = lib.find("generate_handler![").unwrap();
    let handlers: Vec<String> = lib[from..lib[from..].find("])").unwrap() + from]
        .split("commands::")
        .skip(1)
        .map(|s| {
            s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(handlers, names());
}

#[test]
fn the_default_permission_set_is_exactly_the_read_commands() {
    let listed = quoted_between(&read("permissions/default.toml"), "permissions = [", "]");
    let reads: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.access == Access::Read)
        .map(|c| format!("allow-{}", c.name.replace('_', "-")))
        .collect();
    assert_eq!(listed, reads);
}

#[test]
fn the_guest_js_client_calls_every_command() {
    let client = read("guest-js/src/index.ts") + &read("guest-js/src/transport.ts");
    for command in COMMANDS {
        let called = client.contains(&format!("'{}'", command.name))
            || client.contains(&format!("PLUGIN + '{}'", command.name));
        assert!(called, "guest-js does not call {}", command.name);
    }
}

#[test]
fn the_fuzz_target_drives_every_write_and_stream_command() {
    let target = read("fuzz/fuzz_targets/api_commands.rs");
    for command in COMMANDS.iter().filter(|c| !c.http) {
        // Read commands reach `api::read` through the target's catch-all arm.
        let arm = format!("\"{}\"", command.name);
        let driven = target
            .lines()
            .any(|l| l.contains(&arm) && l.trim_end().ends_with("=> {"));
        assert!(driven, "the fuzz target has no arm for {}", command.name);
    }
}

#[test]
fn the_ipc_reference_documents_every_command_in_its_permission_set() {
    let doc = read("docs/commands.md");
    let section = |heading: &str| {
        let from = doc
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} in docs/commands.md"));
        let rest = &doc[from + heading.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
    };
    let (reads, writes) = (section("## Read"), section("## Write"));
    for command in COMMANDS {
        let row = format!("| `{}` |", command.name);
        let (home, other) = match command.access {
            Access::Read => (&reads, &writes),
            _ => (&writes, &reads),
        };
        assert!(
            home.contains(&row) && !other.contains(&row),
            "docs/commands.md does not document {} in its section",
            command.name
        );
    }
}
