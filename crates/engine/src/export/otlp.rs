//! OTLP export shared by spans and logs: the exporter that encodes each batch as an OTLP
//! request and hands it to its destination's [`Outbox`] (send, or spool and replay), the
//! wrapper that reports the file exporters' results, and the header rules every OTLP
//! sender follows.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use super::otlp_send::{OtlpRequest, OtlpSender, Signal};
use super::outbox::{Outbox, OutboxParts, Outcome};
use super::spool::Spool;
use super::ExportStatusBoard;
use crate::config::{shown_endpoint, split_userinfo, OtlpExporterConfig};
use crate::metrics::Counter;
use crate::privacy::Privacy;

/// Where and how to send one signal, under a name in the export status.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtlpTarget {
    /// Name in the export status (`traces:otlp:<endpoint>`, `logs:otlp:<endpoint>`).
    pub(crate) name: String,
    pub(crate) config: OtlpExporterConfig,
    /// Why the target differs from what was configured (the Jaeger mapping).
    pub(crate) note: Option<String>,
}

/// What an exporter needs besides its target.
#[derive(Clone)]
pub(crate) struct ExportContext {
    /// Longest one export may take.
    pub(crate) timeout: Duration,
    /// The runtime OTLP sends and replays run on.
    pub(crate) runtime: Option<Handle>,
    pub(crate) status: ExportStatusBoard,
    /// Counts lost items, labelled with the exporter's name and the reason.
    pub(crate) dropped: Counter,
    /// The user's consent and the scrubbing rules.
    pub(crate) privacy: Privacy,
    /// Where batches that cannot be sent wait (none without `storage.dir`).
    pub(crate) spool: Option<Spool>,
}

impl ExportContext {
    /// A context on the current Tokio runtime, if there is one.
    pub(crate) fn new(
        timeout: Duration,
        status: &ExportStatusBoard,
        dropped: Counter,
        privacy: &Privacy,
        spool: Option<&Spool>,
    ) -> Self {
        Self {
            timeout,
            runtime: Handle::try_current().ok(),
            status: status.clone(),
            dropped,
            privacy: privacy.clone(),
            spool: spool.cloned(),
        }
    }

    /// The outbox of `target` for `signal`.
    ///
    /// # Errors
    /// No Tokio runtime, or the target's TLS settings, headers or endpoint cannot be used.
    pub(crate) fn outbox(&self, target: &OtlpTarget, signal: Signal) -> Result<Outbox, String> {
        let runtime = self.runtime.clone().ok_or_else(|| {
            "OTLP needs a Tokio runtime: create the TelemetryManager inside one".to_owned()
        })?;
        let sender = {
            // A gRPC channel is made on the runtime it will run on.
            let _entered = runtime.enter();
            OtlpSender::new(&target.config, self.timeout).map_err(|e| {
                let shown = shown_endpoint(&target.config.endpoint);
                format!(
                    "cannot build the OTLP exporter for {shown}: {}",
                    e.replace(&target.config.endpoint, &shown)
                )
            })?
        };
        self.status.register(&target.name);
        if let Some(note) = &target.note {
            self.status.note(&target.name, note.clone());
        }
        Ok(Outbox::new(
            OutboxParts {
                name: &target.name,
                sender,
                runtime,
                status: &self.status,
                spool: self.spool.as_ref(),
                consent: &self.privacy.consent,
                timeout: self.timeout,
            },
            signal,
        ))
    }
}

/// The OTLP exporter of spans or logs: scrubs each batch, holds back what would leave
/// the machine without the user's consent, encodes it and delivers it (see
/// [`Outbox`]); what is lost is counted with the reason.
pub(crate) struct OtlpExporter {
    name: String,
    outbox: Outbox,
    resource: ResourceAttributesWithSchema,
    dropped: Counter,
    privacy: Privacy,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("name", &self.name)
            .finish()
    }
}

/// The OTLP span exporter for `target`.
pub(crate) fn span_exporter(
    target: &OtlpTarget,
    cx: &ExportContext,
) -> Result<OtlpExporter, String> {
    OtlpExporter::new(target, Signal::Traces, cx)
}

/// The OTLP log exporter for `target`.
pub(crate) fn log_exporter(
    target: &OtlpTarget,
    cx: &ExportContext,
) -> Result<OtlpExporter, String> {
    OtlpExporter::new(target, Signal::Logs, cx)
}

impl OtlpExporter {
    fn new(target: &OtlpTarget, signal: Signal, cx: &ExportContext) -> Result<Self, String> {
        let outbox = cx.outbox(target, signal)?;
        // The drop counter's series exists from the start (at 0), so that a rate or an
        // alert on it has data before the first loss.
        let _ = cx
            .dropped
            .add(0, &dropped_labels(&target.name, "export_failed"));
        Ok(Self {
            name: target.name.clone(),
            outbox,
            resource: ResourceAttributesWithSchema::default(),
            dropped: cx.dropped.clone(),
            privacy: cx.privacy.clone(),
        })
    }

    /// Whether a batch of `count` items may go: without consent it is dropped, counted
    /// with `reason="consent"`, and the status says why nothing is sent.
    fn consented(&self, count: u64) -> bool {
        if self.privacy.consent.allows_sending() {
            return true;
        }
        let consent = self.privacy.consent.get();
        self.outbox.status().degraded(
            &self.name,
            format!("nothing is sent: consent is {}", consent.as_str()),
        );
        let _ = self
            .dropped
            .add(count, &dropped_labels(&self.name, "consent"));
        false
    }

    fn deliver(&self, request: OtlpRequest, count: u64) -> OTelSdkResult {
        match self.outbox.deliver_blocking(request) {
            Outcome::Sent | Outcome::Spooled => Ok(()),
            Outcome::Lost { reason, message } => {
                let _ = self.dropped.add(count, &dropped_labels(&self.name, reason));
                Err(OTelSdkError::InternalFailure(message))
            }
        }
    }
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if !self.consented(batch.len() as u64) {
            return Ok(());
        }
        let batch = self.privacy.spans(batch);
        let count = batch.len() as u64;
        if count == 0 {
            return Ok(());
        }
        let resource_spans =
            opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                batch,
                &self.resource,
            );
        self.deliver(
            OtlpRequest::Traces(ExportTraceServiceRequest { resource_spans }),
            count,
        )
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

impl OtlpExporter {
    fn send_logs(&self, batch: &LogBatch<'_>) -> OTelSdkResult {
        let count = batch.iter().count() as u64;
        let resource_logs =
            opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope(
                batch,
                &self.resource,
            );
        self.deliver(
            OtlpRequest::Logs(ExportLogsServiceRequest { resource_logs }),
            count,
        )
    }
}

impl LogExporter for OtlpExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        if !self.consented(batch.iter().count() as u64) {
            return Ok(());
        }
        let Some(scrubbed) = self.privacy.logs(batch.iter()) else {
            return self.send_logs(&batch);
        };
        if scrubbed.is_empty() {
            return Ok(());
        }
        let borrowed: Vec<_> = scrubbed.iter().map(|(r, s)| (r, s)).collect();
        self.send_logs(&LogBatch::new(&borrowed))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// `config` with a `user:password@` of its endpoint moved into an `Authorization: Basic`
/// header (what HTTP clients do with such a URL), so that the URL the HTTP stack keeps,
/// logs and reports carries no credentials. An `Authorization` header set in the config
/// wins.
pub(crate) fn credentials_as_header(config: &OtlpExporterConfig) -> OtlpExporterConfig {
    use base64::Engine as _;
    let mut config = config.clone();
    let (endpoint, Some(userinfo)) = split_userinfo(&config.endpoint) else {
        return config;
    };
    let decoded = percent_encoding::percent_decode_str(userinfo).decode_utf8_lossy();
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(decoded.as_bytes())
    );
    if !config
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("authorization"))
    {
        config.headers.insert("authorization".to_owned(), value);
    }
    config.endpoint = endpoint;
    config
}

/// The configured headers of `config` as HTTP headers.
pub(crate) fn http_headers(config: &OtlpExporterConfig) -> Result<http::HeaderMap, String> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &config.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name {name:?} is not valid HTTP"))?;
        // The value is a secret: name the header, never its value.
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header {name:?} is not valid HTTP"))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// Wraps a file exporter of spans or logs: scrubs what it writes, records each result in
/// the export status and counts items lost to failed writes.
#[derive(Debug)]
pub(crate) struct StatusExporter<E> {
    inner: E,
    name: String,
    status: ExportStatusBoard,
    dropped: Counter,
    privacy: Privacy,
}

impl<E> StatusExporter<E> {
    /// `inner` under `name` in the export status.
    pub(crate) fn named(inner: E, name: String, cx: &ExportContext) -> Self {
        cx.status.register(&name);
        let _ = cx.dropped.add(0, &dropped_labels(&name, "export_failed"));
        Self {
            inner,
            name,
            status: cx.status.clone(),
            dropped: cx.dropped.clone(),
            privacy: cx.privacy.clone(),
        }
    }

    fn record(&self, result: &OTelSdkResult, count: u64) {
        match result {
            Ok(()) => self.status.success(&self.name),
            Err(e) => {
                self.status.failure(&self.name, describe(e));
                let _ = self
                    .dropped
                    .add(count, &dropped_labels(&self.name, "export_failed"));
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for StatusExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let batch = self.privacy.spans(batch);
        let count = batch.len() as u64;
        if count == 0 {
            return Ok(());
        }
        let result = self.inner.export(batch).await;
        self.record(&result, count);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> StatusExporter<E> {
    async fn write_logs(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let count = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        self.record(&result, count);
        result
    }
}

impl<E: LogExporter> LogExporter for StatusExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let Some(scrubbed) = self.privacy.logs(batch.iter()) else {
            return self.write_logs(batch).await;
        };
        if scrubbed.is_empty() {
            return Ok(());
        }
        let borrowed: Vec<_> = scrubbed.iter().map(|(r, s)| (r, s)).collect();
        self.write_logs(LogBatch::new(&borrowed)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The drop counter's labels for items exporter `name` lost, and why.
fn dropped_labels(name: &str, reason: &'static str) -> [opentelemetry::KeyValue; 2] {
    [
        opentelemetry::KeyValue::new("exporter", name.to_owned()),
        opentelemetry::KeyValue::new("reason", reason),
    ]
}

fn describe(e: &OTelSdkError) -> String {
    match e {
        OTelSdkError::Timeout(d) => format!("export timed out after {d:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_become_a_basic_header() {
        let moved = credentials_as_header(&OtlpExporterConfig::http(
            "http://otel%40corp:p%3Ass@collector:4318/v1/traces?x=1",
        ));
        assert_eq!(moved.endpoint, "http://collector:4318/v1/traces?x=1");
        // base64("otel@corp:p:ss")
        assert_eq!(moved.headers["authorization"], "Basic b3RlbEBjb3JwOnA6c3M=");
        let plain = OtlpExporterConfig::http("http://collector:4318/v1/traces");
        assert_eq!(credentials_as_header(&plain), plain);
    }
}
