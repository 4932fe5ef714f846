//! Export: the Prometheus reader, the console and file exporters, OTLP exporters shared by
//! spans and logs, and export status.

mod console;
mod file;
pub(crate) mod otlp;
pub(crate) mod prometheus;
pub(crate) mod queue;
mod status;

use std::io::Write;

pub(crate) use file::RotatingFile;
pub(crate) use status::ExportStatusBoard;
pub use status::{ExportStatus, ExporterReport};

use crate::config::{MetricsExporter, TelemetryConfig};
use crate::metrics::Snapshot;

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
}

impl SnapshotExporter {
    /// The push exporters of `config` (none when metrics are off).
    pub(crate) fn all(config: &TelemetryConfig) -> Vec<Self> {
        if !(config.enabled && config.metrics.enabled) {
            return Vec::new();
        }
        config
            .metrics
            .exporters
            .iter()
            .filter_map(|e| Self::from_config(e, &config.service_name))
            .collect()
    }

    /// The push exporter for `config`, or `None` for pull exporters (Prometheus).
    pub(crate) fn from_config(config: &MetricsExporter, service: &str) -> Option<Self> {
        let sink = match config {
            MetricsExporter::Console {} => Sink::Console {
                service: service.to_owned(),
            },
            MetricsExporter::File(file) => Sink::File {
                path: file.path.clone(),
                file: RotatingFile::new(file),
            },
            MetricsExporter::Prometheus { .. } => return None,
        };
        Some(Self {
            name: config.name(),
            sink,
        })
    }

    /// The name in export status reports.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Exports one snapshot.
    pub(crate) fn export(&mut self, snapshot: &Snapshot) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Console { service } => {
                let text = console::render(snapshot, service);
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|source| ExportError::Io {
                        path: "stdout".into(),
                        source,
                    })
            }
            Sink::File { path, file } => {
                let line = serde_json::to_string(snapshot)
                    .map_err(|e| ExportError::Encode(e.to_string()))?;
                file.write_line(&line).map_err(|source| ExportError::Io {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// Flushes buffered output.
    pub(crate) fn flush(&mut self) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Console { .. } => Ok(()),
            Sink::File { path, file } => file.flush().map_err(|source| ExportError::Io {
                path: path.clone(),
                source,
            }),
        }
    }
}
