//! The file span exporter: OTLP JSON, one `ExportTraceServiceRequest` per line.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

use crate::config::FileExporterConfig;
use crate::export::RotatingFile;

/// Writes each batch as one line of OTLP JSON (the encoding the OpenTelemetry Collector's
/// file exporter and `otlpjsonfile` receiver use), rotating by size.
#[derive(Debug)]
pub(crate) struct FileSpanExporter {
    path: String,
    file: Mutex<RotatingFile>,
    resource: ResourceAttributesWithSchema,
}

impl FileSpanExporter {
    pub(crate) fn new(config: &FileExporterConfig) -> Self {
        Self {
            path: config.path.clone(),
            file: Mutex::new(RotatingFile::new(config)),
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl SpanExporter for FileSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let line = serde_json::to_string(&request).map_err(|e| {
            OTelSdkError::InternalFailure(format!("cannot encode spans as OTLP JSON: {e}"))
        })?;
        self.file
            .lock()
            .write_line(&line)
            .map_err(|e| OTelSdkError::InternalFailure(format!("cannot write {}: {e}", self.path)))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.file
            .lock()
            .flush()
            .map_err(|e| OTelSdkError::InternalFailure(format!("cannot flush {}: {e}", self.path)))
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        self.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}
