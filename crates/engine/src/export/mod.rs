//! Export: the Prometheus reader, the console and file exporters, OTLP exporters shared by
//! spans and logs, and export status.

mod console;
mod file;
pub(crate) mod otlp;
#[cfg(feature = "otlp-grpc")]
mod otlp_grpc;
mod otlp_metrics;
pub(crate) mod otlp_send;
pub(crate) mod outbox;
pub(crate) mod prometheus;
pub(crate) mod queue;
pub(crate) mod spool;
mod status;

use std::collections::BTreeMap;
use std::io::Write;

use otlp_metrics::OtlpMetrics;

pub(crate) use file::RotatingFile;
#[doc(hidden)]
pub use spool::BenchSpool;
pub(crate) use status::ExportStatusBoard;
pub use status::{ExportStatus, ExporterReport};

use crate::config::{MetricsExporter, TelemetryConfig};
use crate::metrics::Snapshot;
use crate::privacy::ConsentGate;

/// Why an exporter could not be set up or could not export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// An exporter could not be created.
    #[error("exporter setup failed: {0}")]
    Setup(String),
    /// Metrics could not be encoded.
    #[error("cannot encode metrics: {0}")]
    Encode(String),
    /// Writing to a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A push exporter: receives a snapshot every collection interval.
pub(crate) struct SnapshotExporter {
    /// The name in export status reports ([`MetricsExporter::name`]).
    name: String,
    sink: Sink,
}

enum Sink {
    Console { service: String },
    File { path: String, file: RotatingFile },
    Otlp(Box<OtlpMetrics>),
}

/// What a push exporter needs besides its configuration.
pub(crate) struct PushContext<'a> {
    /// The resource every signal carries.
    pub(crate) resource: &'a BTreeMap<String, String>,
    /// The user's consent (for OTLP).
    pub(crate) consent: &'a ConsentGate,
    pub(crate) status: &'a ExportStatusBoard,
    /// Where pushes that cannot go now wait.
    pub(crate) spool: Option<&'a spool::Spool>,
}

impl SnapshotExporter {
    /// The push exporters of `config` (none when metrics are off). One that cannot be
    /// made (an unreadable certificate) is Failed in the status, naming its field.
    pub(crate) fn all(config: &TelemetryConfig, cx: &PushContext<'_>) -> Vec<Self> {
        if !(config.enabled && config.metrics.enabled) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for (i, exporter) in config.metrics.exporters.iter().enumerate() {
            let name = exporter.name();
            let sink = match exporter {
                MetricsExporter::Console {} => Sink::Console {
                    service: config.service_name.clone(),
                },
                MetricsExporter::File(file) => Sink::File {
                    path: file.path.clone(),
                    file: RotatingFile::new(file),
                },
                MetricsExporter::Otlp(otlp) => match OtlpMetrics::new(
                    &otlp::OtlpTarget {
                        name: name.clone(),
                        config: otlp.clone(),
                        note: None,
                    },
                    &config.metrics,
                    cx.resource,
                    (cx.consent.clone(), cx.spool),
                    cx.status,
                ) {
                    Ok(push) => Sink::Otlp(Box::new(push)),
                    Err(e) => {
                        cx.status
                            .failure(&name, format!("metrics.exporters[{i}]: {e}"));
                        continue;
                    }
                },
                MetricsExporter::Prometheus { .. } => continue,
            };
            all.push(Self { name, sink });
        }
        all
    }

    /// The name in export status reports.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Exports one snapshot. `Ok(true)`: written now; `Ok(false)`: handed to a sender
    /// (OTLP) that records its own result in the export status.
    pub(crate) fn export(&mut self, snapshot: &Snapshot) -> Result<bool, ExportError> {
        match &mut self.sink {
            Sink::Otlp(push) => {
                push.offer(snapshot);
                Ok(false)
            }
            Sink::Console { service } => {
                let text = console::render(snapshot, service);
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map(|()| true)
                    .map_err(|source| ExportError::Io {
                        path: "stdout".into(),
                        source,
                    })
            }
            Sink::File { path, file } => {
                let line = serde_json::to_string(snapshot)
                    .map_err(|e| ExportError::Encode(e.to_string()))?;
                file.write_line(&line)
                    .map(|()| true)
                    .map_err(|source| ExportError::Io {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// The last export, at shutdown: as [`Self::export`], but an OTLP push goes whatever
    /// its interval, and its sender task is returned to be waited for. Runs on a blocking
    /// thread.
    pub(crate) fn finish(
        &mut self,
        snapshot: &Snapshot,
    ) -> (
        Result<bool, ExportError>,
        Option<tokio::task::JoinHandle<()>>,
    ) {
        match &mut self.sink {
            Sink::Otlp(push) => (Ok(false), push.finish(snapshot)),
            _ => (self.export(snapshot), None),
        }
    }

    /// Flushes buffered output.
    pub(crate) fn flush(&mut self) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Console { .. } | Sink::Otlp(_) => Ok(()),
            Sink::File { path, file } => file.flush().map_err(|source| ExportError::Io {
                path: path.clone(),
                source,
            }),
        }
    }
}
