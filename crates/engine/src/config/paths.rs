//! Where relative file paths of the configuration land: an installed app's working
//! directory is `/` (macOS Finder) or `C:\Windows\System32` (a Windows shortcut), so the
//! plugin puts them under the app's log directory instead. What counts as absolute
//! differs per OS; the rules are plain functions, tested here for every OS.

use std::path::Path;

use super::{LogsExporter, MetricsExporter, TelemetryConfig, TracingExporter};

/// The path conventions a configuration's paths follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// `C:\logs`, `C:/logs`, `\\server\share`, `\\?\C:\logs` are absolute.
    Windows,
    /// `/var/log` is absolute (Linux, macOS).
    Unix,
}

impl PathStyle {
    /// The style of the OS this runs on.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else {
            Self::Unix
        }
    }

    /// Whether `path` is absolute in this style. A Windows path rooted without a drive
    /// (`\logs`) is not: it depends on the current drive.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::PathStyle;
    /// assert!(PathStyle::Windows.is_absolute(r"C:\Users\ana\logs"));
    /// assert!(!PathStyle::Windows.is_absolute("/var/log"));
    /// assert!(PathStyle::Unix.is_absolute("/var/log"));
    /// assert!(!PathStyle::Unix.is_absolute("./logs/traces.json"));
    /// ```
    pub fn is_absolute(self, path: &str) -> bool {
        match self {
            Self::Unix => path.starts_with('/'),
            Self::Windows => {
                let bytes = path.as_bytes();
                let drive = bytes.len() >= 3
                    && bytes[0].is_ascii_alphabetic()
                    && bytes[1] == b':'
                    && matches!(bytes[2], b'\\' | b'/');
                let unc = path.starts_with(r"\\") || path.starts_with("//");
                drive || unc
            }
        }
    }
}

/// `path` under `base` when it is relative in `style` (a leading `./` dropped), else
/// `path` as it is. On Windows a path that names its drive or its root but not both
/// (`C:logs`, `\logs`) is relative to the current drive and its directory, which for an
/// installed app is `C:\Windows\System32`: it goes under `base` like `logs` (joined as it
/// is, it would land there or at the drive's root).
///
/// # Examples
/// ```
/// use std::path::Path;
/// use telemetry_engine::config::{resolve_path, PathStyle};
/// let base = Path::new("/home/ana/.local/share/studio/logs");
/// assert_eq!(resolve_path("./logs/traces.json", base, PathStyle::Unix),
///     "/home/ana/.local/share/studio/logs/logs/traces.json");
/// assert_eq!(resolve_path("/tmp/t.json", base, PathStyle::Unix), "/tmp/t.json");
/// ```
pub fn resolve_path(path: &str, base: &Path, style: PathStyle) -> String {
    if style.is_absolute(path) {
        return path.to_owned();
    }
    let mut relative = path;
    if style == PathStyle::Windows {
        let bytes = relative.as_bytes();
        if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
            relative = &relative[2..];
        }
        relative = relative.trim_start_matches(['\\', '/']);
    }
    let relative = relative
        .strip_prefix("./")
        .or_else(|| relative.strip_prefix(".\\"))
        .unwrap_or(relative);
    base.join(relative).display().to_string()
}

impl TelemetryConfig {
    /// Puts every relative file exporter path (metrics, spans, logs) under `base`; the
    /// plugin calls it with the app's log directory. Absolute paths stay.
    pub fn resolve_relative_paths(&mut self, base: &Path, style: PathStyle) {
        let files = self
            .metrics
            .exporters
            .iter_mut()
            .filter_map(|e| match e {
                MetricsExporter::File(f) => Some(f),
                _ => None,
            })
            .chain(self.tracing.exporters.iter_mut().filter_map(|e| match e {
                TracingExporter::File(f) => Some(f),
                _ => None,
            }))
            .chain(self.logs.exporters.iter_mut().filter_map(|e| match e {
                LogsExporter::File(f) => Some(f),
                _ => None,
            }));
        for file in files {
            file.path = resolve_path(&file.path, base, style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    #[test]
    fn absolute_paths_per_os() {
        for (path, windows, unix) in [
            (r"C:\Users\ana\AppData\Local\studio\logs", true, false),
            ("C:/logs/traces.json", true, false),
            (r"\\nas\share\logs", true, false),
            (r"\\?\C:\logs", true, false),
            (r"\logs", false, false),
            ("C:logs", false, false),
            ("/var/log/studio", false, true),
            ("/Users/ana/Library/Logs/studio", false, true),
            ("./logs/traces.json", false, false),
            ("logs", false, false),
            ("", false, false),
        ] {
            assert_eq!(PathStyle::Windows.is_absolute(path), windows, "{path}");
            assert_eq!(PathStyle::Unix.is_absolute(path), unix, "{path}");
        }
    }

    #[test]
    fn windows_paths_of_the_current_drive_go_under_the_base_too() {
        let base = Path::new("base");
        let under = |path: &str| resolve_path(path, base, PathStyle::Windows);
        let expected = base.join(r"logs\app.json").display().to_string();
        for path in [
            r"\logs\app.json",
            r"C:logs\app.json",
            "/logs\\app.json",
            r".\logs\app.json",
        ] {
            assert_eq!(under(path), expected, "{path}");
        }
        assert_eq!(under(r"C:\logs\app.json"), r"C:\logs\app.json");
        assert_eq!(under(r"\\nas\logs\app.json"), r"\\nas\logs\app.json");
        // Unix keeps its own rules: `C:logs` is a file name there.
        let unix = resolve_path("C:logs", base, PathStyle::Unix);
        assert_eq!(unix, base.join("C:logs").display().to_string());
    }

    #[test]
    fn the_development_profile_writes_under_the_log_directory() {
        let mut cfg = TelemetryConfig::profile(Profile::Development);
        cfg.resolve_relative_paths(Path::new("/app/logs"), PathStyle::Unix);
        let MetricsExporter::File(metrics) = &cfg.metrics.exporters[1] else {
            panic!("{:?}", cfg.metrics.exporters);
        };
        assert_eq!(metrics.path, "/app/logs/logs/metrics.json");
        let mut windows = TelemetryConfig::profile(Profile::Development);
        let base = Path::new(r"C:\Users\ana\AppData\Local\studio\logs");
        windows.resolve_relative_paths(base, PathStyle::Windows);
        let TracingExporter::File(spans) = &windows.tracing.exporters[1] else {
            panic!("{:?}", windows.tracing.exporters);
        };
        assert!(spans.path.starts_with(r"C:\Users\ana"), "{}", spans.path);
        assert!(spans.path.ends_with("traces.json"), "{}", spans.path);
        let mut absolute = TelemetryConfig::profile(Profile::Development);
        if let MetricsExporter::File(f) = &mut absolute.metrics.exporters[1] {
            f.path = "/srv/metrics.json".into();
        }
        absolute.resolve_relative_paths(Path::new("/app/logs"), PathStyle::Unix);
        assert!(
            matches!(&absolute.metrics.exporters[1], MetricsExporter::File(f) if f.path == "/srv/metrics.json")
        );
    }
}
