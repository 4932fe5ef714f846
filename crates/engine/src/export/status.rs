//! Export status per exporter, set from real export results.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;

use crate::clock::unix_ms;
use serde::Serialize;

/// How an exporter is doing (spec section 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(tag = "state", content = "reason")]
#[cfg_attr(feature = "bindings", ts(export))]
#[non_exhaustive]
pub enum ExportStatus {
    /// Nothing exported yet (or not scraped yet): no news, good or bad (the reason).
    Pending(String),
    /// The last export succeeded.
    Healthy,
    /// Working, with a caveat (the reason).
    Degraded(String),
    /// The last export failed (the error).
    Failed(String),
}

/// An exporter's status with its counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct ExporterReport {
    /// Current status.
    pub status: ExportStatus,
    /// Successful exports (or scrapes served).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub successes: u64,
    /// Failed exports.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub failures: u64,
    /// When the last success happened, as Unix milliseconds.
    #[cfg_attr(feature = "bindings", ts(type = "number | null"))]
    pub last_success_ms: Option<i64>,
    /// Information about the exporter that is not its state (the Jaeger endpoint mapped
    /// to OTLP).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub note: Option<String>,
}

/// The status of every exporter, shared by the exporters that write it and the readers
/// (`TelemetryManager::get_export_status`, the `exporters` check).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExportStatusBoard {
    inner: Arc<RwLock<BTreeMap<String, ExporterReport>>>,
}

impl ExportStatusBoard {
    fn update(&self, name: &str, f: impl FnOnce(&mut ExporterReport)) {
        let mut map = self.inner.write();
        let report = map.entry(name.to_owned()).or_insert(ExporterReport {
            status: ExportStatus::Pending("not exported yet".into()),
            successes: 0,
            failures: 0,
            last_success_ms: None,
            note: None,
        });
        f(report);
    }

    /// Records a successful export: the status becomes Healthy.
    pub(crate) fn success(&self, name: &str) {
        self.update(name, |r| {
            r.status = ExportStatus::Healthy;
            r.successes += 1;
            r.last_success_ms = Some(unix_ms(SystemTime::now()));
        });
    }

    /// Records a failed export: the status becomes Failed with `error`.
    pub(crate) fn failure(&self, name: &str, error: impl Into<String>) {
        let error = error.into();
        self.update(name, |r| {
            r.status = ExportStatus::Failed(error);
            r.failures += 1;
        });
    }

    /// Sets Degraded with `reason`, keeping the counters.
    pub(crate) fn degraded(&self, name: &str, reason: impl Into<String>) {
        let reason = reason.into();
        self.update(name, |r| r.status = ExportStatus::Degraded(reason));
    }

    /// Registers an exporter that has not exported yet: Pending("not exported yet").
    pub(crate) fn register(&self, name: &str) {
        self.update(name, |_| {});
    }

    /// Sets Pending with `reason` while nothing was exported (a server not scraped yet, a
    /// crash monitor not asked for).
    #[cfg(any(feature = "server", feature = "minidumps"))]
    pub(crate) fn pending(&self, name: &str, reason: impl Into<String>) {
        let reason = reason.into();
        self.update(name, |r| {
            if r.successes == 0 && r.failures == 0 {
                r.status = ExportStatus::Pending(reason);
            }
        });
    }

    /// Attaches `note`: information that is not a state (shown beside it).
    pub(crate) fn note(&self, name: &str, note: impl Into<String>) {
        let note = note.into();
        self.update(name, |r| r.note = Some(note));
    }

    /// Status by exporter name.
    pub(crate) fn statuses(&self) -> BTreeMap<String, ExportStatus> {
        self.inner
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.status.clone()))
            .collect()
    }

    /// Full reports by exporter name.
    pub(crate) fn reports(&self) -> BTreeMap<String, ExporterReport> {
        self.inner.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_then_a_success_is_healthy_again_and_both_are_counted() {
        let board = ExportStatusBoard::default();
        board.failure("metrics:file:/ro/metrics.json", "Read-only file system");
        assert_eq!(
            board.statuses()["metrics:file:/ro/metrics.json"],
            ExportStatus::Failed("Read-only file system".into())
        );
        board.success("metrics:file:/ro/metrics.json");
        let report = &board.reports()["metrics:file:/ro/metrics.json"];
        assert_eq!(report.status, ExportStatus::Healthy);
        assert_eq!((report.successes, report.failures), (1, 1));
        assert!(report.last_success_ms.is_some());
    }
}
