//! The OpenTelemetry resource every signal carries: who sends (service, install, launch)
//! and from where (OS, architecture).
//!
//! Precedence, lowest first, as the OTel spec orders detectors, the environment and
//! explicit settings: what the engine detects (`os.type`, `os.version`, `host.arch`, a
//! `session.id` per launch and a `service.instance.id` per process), then
//! `resource_attributes` (the config's, with `OTEL_RESOURCE_ATTRIBUTES` on top), then
//! `service_version` and `service_name` unless `resource_attributes` sets them.
//! An app keeps one `service.instance.id` across launches with [`instance_id`] (the
//! plugin does so in the app's data directory).

use std::io;
use std::path::{Path, PathBuf};

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::config::TelemetryConfig;

/// The file under an app's data directory that keeps its install's id.
pub const INSTANCE_ID_FILE: &str = "instance-id";

/// OTel's `os.type` for a Rust target OS (`std::env::consts::OS`).
///
/// # Examples
/// ```
/// use telemetry_engine::resource::os_type;
/// assert_eq!(os_type("macos"), "darwin");
/// assert_eq!(os_type("windows"), "windows");
/// ```
pub fn os_type(os: &str) -> &'static str {
    match os {
        "macos" | "ios" => "darwin",
        "windows" => "windows",
        "linux" | "android" => "linux",
        "freebsd" => "freebsd",
        "netbsd" => "netbsd",
        "openbsd" => "openbsd",
        "dragonfly" => "dragonflybsd",
        "solaris" | "illumos" => "solaris",
        "aix" => "aix",
        _ => "unknown",
    }
}

/// OTel's `host.arch` for a Rust target architecture (`std::env::consts::ARCH`).
///
/// # Examples
/// ```
/// use telemetry_engine::resource::host_arch;
/// assert_eq!(host_arch("x86_64"), "amd64");
/// assert_eq!(host_arch("aarch64"), "arm64");
/// ```
pub fn host_arch(arch: &str) -> &'static str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        _ => "unknown",
    }
}

/// The id of this install: read from `<dir>/instance-id`, or created there. A new id is
/// written whole to a temporary file first and then linked into place only if no other
/// launch got there first (so two first launches at once agree on one id, and a crash
/// leaves no half id); a file that does not hold a UUID is replaced.
///
/// # Errors
/// The I/O error when the directory cannot be created or the file written.
///
/// # Examples
/// ```
/// let dir = std::env::temp_dir().join(format!("telemetry-doc-{}", std::process::id()));
/// let first = telemetry_engine::resource::instance_id(&dir)?;
/// assert_eq!(telemetry_engine::resource::instance_id(&dir)?, first, "kept");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn instance_id(dir: &Path) -> io::Result<String> {
    let path = dir.join(INSTANCE_ID_FILE);
    let read = || {
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| uuid::Uuid::parse_str(text.trim()).ok())
            .map(|id| id.to_string())
    };
    if let Some(id) = read() {
        return Ok(id);
    }
    std::fs::create_dir_all(dir)?;
    let id = uuid::Uuid::new_v4().to_string();
    let temporary: PathBuf = dir.join(format!("{INSTANCE_ID_FILE}.{id}"));
    std::fs::write(&temporary, &id)?;
    let placed = match std::fs::hard_link(&temporary, &path) {
        // Another launch placed its id first: that one holds.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read() {
            Some(theirs) => Ok(theirs),
            // What is there is no id: replace it.
            None => std::fs::rename(&temporary, &path).map(|()| id.clone()),
        },
        // A file system without hard links: the last writer wins.
        Err(_) => std::fs::rename(&temporary, &path).map(|()| id.clone()),
        Ok(()) => Ok(id),
    };
    // Gone already when it was renamed into place.
    let _ = std::fs::remove_file(&temporary);
    placed
}

/// The resource of `config` for one launch (see the module docs for the precedence).
pub(crate) fn build(config: &TelemetryConfig) -> Resource {
    let detected = [
        KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        KeyValue::new("session.id", uuid::Uuid::new_v4().to_string()),
        KeyValue::new("os.type", os_type(std::env::consts::OS)),
        KeyValue::new("host.arch", host_arch(std::env::consts::ARCH)),
    ];
    let os_version = sysinfo::System::os_version().map(|v| KeyValue::new("os.version", v));
    let service = [
        ("service.version", &config.service_version),
        ("service.name", &config.service_name),
    ]
    .into_iter()
    .filter(|(key, _)| !config.resource_attributes.contains_key(*key))
    .map(|(key, value)| KeyValue::new(key, value.clone()));
    Resource::builder_empty()
        .with_attributes(detected.into_iter().chain(os_version))
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_attributes(service)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_desktop_os_and_architecture_has_its_otel_name() {
        for (os, want) in [
            ("windows", "windows"),
            ("macos", "darwin"),
            ("linux", "linux"),
            ("freebsd", "freebsd"),
            ("haiku", "unknown"),
        ] {
            assert_eq!(os_type(os), want, "{os}");
        }
        for (arch, want) in [
            ("x86_64", "amd64"),
            ("aarch64", "arm64"),
            ("x86", "x86"),
            ("arm", "arm32"),
            ("riscv64", "unknown"),
        ] {
            assert_eq!(host_arch(arch), want, "{arch}");
        }
    }

    #[test]
    fn the_instance_id_is_kept_and_a_damaged_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = instance_id(dir.path()).unwrap();
        assert!(uuid::Uuid::parse_str(&first).is_ok());
        assert_eq!(instance_id(dir.path()).unwrap(), first);
        std::fs::write(dir.path().join(INSTANCE_ID_FILE), "not an id").unwrap();
        let second = instance_id(dir.path()).unwrap();
        assert_ne!(second, first);
        assert_eq!(instance_id(dir.path()).unwrap(), second);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }

    #[test]
    fn launches_that_start_at_once_agree_on_one_id() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| instance_id(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }

    #[test]
    fn explicit_settings_beat_what_is_detected() {
        let mut config = TelemetryConfig {
            service_name: "studio".into(),
            ..TelemetryConfig::default()
        };
        config
            .resource_attributes
            .insert("service.instance.id".into(), "install-7".into());
        config
            .resource_attributes
            .insert("service.version".into(), "2.0.0".into());
        let resource = build(&config);
        let get = |key: &'static str| {
            resource
                .get(&opentelemetry::Key::from_static_str(key))
                .map(|v| v.to_string())
        };
        assert_eq!(get("service.name").as_deref(), Some("studio"));
        assert_eq!(get("service.instance.id").as_deref(), Some("install-7"));
        assert_eq!(get("service.version").as_deref(), Some("2.0.0"));
        assert_eq!(
            get("os.type").as_deref(),
            Some(os_type(std::env::consts::OS))
        );
        assert!(get("session.id").is_some());
        let again = build(&config);
        assert_ne!(
            again
                .get(&opentelemetry::Key::from_static_str("session.id"))
                .map(|v| v.to_string()),
            get("session.id"),
            "a session id per launch"
        );
    }
}
