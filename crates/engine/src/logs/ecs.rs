//! The log file exporter: one JSON object per line in the Elastic Common Schema, the
//! format of Elastic's own `ecs-logging` libraries, so Filebeat (`ndjson` parser) and
//! Logstash (`json_lines` codec) take it as-is.

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::LogRecord;
use crate::config::FileExporterConfig;
use crate::export::RotatingFile;

/// The ECS version the fields follow.
const ECS_VERSION: &str = "8.11.0";

/// Writes each record as an ECS JSON line, rotating by size.
#[derive(Debug)]
pub(crate) struct EcsFileExporter {
    path: String,
    file: Mutex<RotatingFile>,
    service: Map<String, Value>,
    /// This launch's `session.id` (from the resource).
    session: String,
}

impl EcsFileExporter {
    pub(crate) fn new(config: &FileExporterConfig) -> Self {
        Self {
            path: config.path.clone(),
            file: Mutex::new(RotatingFile::new(config)),
            service: Map::new(),
            session: String::new(),
        }
    }

    fn write(&self, result: std::io::Result<()>) -> OTelSdkResult {
        result
            .map_err(|e| OTelSdkError::InternalFailure(format!("cannot write {}: {e}", self.path)))
    }
}

/// One record as an ECS document.
pub(crate) fn ecs_document(record: &LogRecord, service: &Map<String, Value>) -> Value {
    let timestamp = crate::clock::rfc3339(record.timestamp_ms, false);
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), json!(timestamp));
    doc.insert("log.level".into(), json!(record.level.to_ascii_lowercase()));
    doc.insert("message".into(), json!(record.message));
    doc.insert("ecs.version".into(), json!(ECS_VERSION));
    doc.insert("log".into(), json!({ "logger": record.target }));
    if !service.is_empty() {
        doc.insert("service".into(), Value::Object(service.clone()));
    }
    if let Some(id) = &record.trace_id {
        doc.insert("trace".into(), json!({ "id": id }));
    }
    if let Some(id) = &record.span_id {
        doc.insert("span".into(), json!({ "id": id }));
    }
    // ECS `labels` are flat keyword values; dots in keys are not allowed there.
    let mut labels: Map<String, Value> = record
        .fields
        .iter()
        .map(|(k, v)| (k.replace('.', "_"), json!(v)))
        .collect();
    if !record.session_id.is_empty() {
        labels.insert("session_id".into(), json!(record.session_id));
    }
    if !labels.is_empty() {
        doc.insert("labels".into(), Value::Object(labels));
    }
    Value::Object(doc)
}

impl LogExporter for EcsFileExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let mut file = self.file.lock();
        for (record, _scope) in batch.iter() {
            let doc = ecs_document(&LogRecord::from_sdk(record, &self.session), &self.service);
            self.write(file.write_line(&doc.to_string()))?;
        }
        self.write(file.flush())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.write(self.file.lock().flush())
    }

    fn set_resource(&mut self, resource: &Resource) {
        let mut service = Map::new();
        for (key, field) in [("service.name", "name"), ("service.version", "version")] {
            if let Some(value) = resource.get(&opentelemetry::Key::from_static_str(key)) {
                service.insert(field.into(), json!(value.as_str()));
            }
        }
        self.service = service;
        self.session = super::store::session_of(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_becomes_an_ecs_document() {
        let record = LogRecord {
            timestamp_ms: 1_764_110_538_123,
            level: "WARN".into(),
            target: "studio::render".into(),
            message: "slow encode".into(),
            fields: [("codec".to_string(), "h264".to_string())].into(),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            span_id: Some("00f067aa0ba902b7".into()),
            session_id: "5f0c".into(),
        };
        let mut service = Map::new();
        service.insert("name".into(), json!("studio"));
        let doc = ecs_document(&record, &service);
        assert_eq!(doc["@timestamp"], "2025-11-25T22:42:18.123Z");
        assert_eq!(doc["log.level"], "warn");
        assert_eq!(doc["message"], "slow encode");
        assert_eq!(doc["ecs.version"], ECS_VERSION);
        assert_eq!(doc["log"]["logger"], "studio::render");
        assert_eq!(doc["service"]["name"], "studio");
        assert_eq!(doc["trace"]["id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(doc["span"]["id"], "00f067aa0ba902b7");
        assert_eq!(doc["labels"]["codec"], "h264");
        assert_eq!(doc["labels"]["session_id"], "5f0c");
    }
}
