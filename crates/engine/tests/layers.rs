//! The engine's layers, as ARCHITECTURE.md names them: a module may use what is in its
//! own layer or below, never above. This reads every `crate::<module>` path in the
//! sources (tests included) and fails on one that points up.
//! None points up: `api` and `server` read `api::Sources`, which the manager hands out.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Layer of each module of `crates/engine/src`, lowest first.
const LAYERS: &[(&str, u8)] = &[
    ("config", 0),
    ("clock", 0),
    ("platform", 0),
    ("dashboard", 0),
    ("metrics", 1),
    ("resource", 1),
    ("privacy", 1),
    ("tls", 1),
    ("supervise", 2),
    ("collectors", 2),
    ("store", 2),
    ("export", 2),
    ("tracing", 3),
    ("logs", 3),
    ("health", 4),
    ("alerts", 4),
    ("validation", 5),
    ("api", 5),
    ("server", 6),
    ("manager", 7),
    ("lib", 8),
];

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module {module:?} has no layer in tests/layers.rs"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a source file belongs to (`alerts/expr/guard.rs` → `alerts`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The lines of `text` that are code: doc and line comments may link anywhere.
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `text` names as `crate::<module>`, and `crate::TelemetryManager` as
/// `manager`.
fn used(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        // `telemetry_crate::` or `$crate::` are not ours.
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        match name.as_str() {
            "TelemetryManager" | "TelemetryError" => out.push("manager".to_owned()),
            "" | "KeyValue" | "Context" | "FutureExt" => {}
            n if n.starts_with(char::is_lowercase) => out.push(n.to_owned()),
            _ => {}
        }
        // `crate::{a, b}` groups.
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let item = item.trim();
                let head = item.split("::").next().unwrap_or_default().trim();
                match head {
                    "TelemetryManager" | "TelemetryError" => out.push("manager".to_owned()),
                    h if h.starts_with(char::is_lowercase) => out.push(h.to_owned()),
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn no_module_uses_a_module_of_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = code(&std::fs::read_to_string(file).unwrap());
        for target in used(&text) {
            if target != module && layer(&target) > layer(&module) {
                found.push(format!("{}: {module} uses {target}", file.display()));
            }
        }
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "uses that point up a layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_paths_groups_and_the_manager() {
    assert_eq!(used("use crate::alerts::AlertRule;"), ["alerts"]);
    assert_eq!(
        used("use crate::{alerts::X, health};"),
        ["alerts", "health"]
    );
    assert_eq!(used("fn f(t: &crate::TelemetryManager) {}"), ["manager"]);
    assert!(used("use telemetry_crate::x; $crate::y").is_empty());
}
