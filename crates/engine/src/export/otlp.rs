//! OTLP export shared by spans and logs: building the HTTP/protobuf or gRPC exporter from
//! an [`OtlpExporterConfig`], and a wrapper that reports every export's result.

use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use super::ExportStatusBoard;
use crate::config::{
    shown_endpoint, split_userinfo, Compression, OtlpExporterConfig, OtlpProtocol,
};
use std::sync::Arc;

use parking_lot::Mutex;

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
    /// The runtime gRPC exports run on (HTTP uses a blocking client on the processor's
    /// thread and needs none).
    pub(crate) runtime: Option<Handle>,
    pub(crate) status: ExportStatusBoard,
    /// Counts lost items, labelled with the exporter's name and the reason.
    pub(crate) dropped: Counter,
    /// The user's consent and the scrubbing rules.
    pub(crate) privacy: Privacy,
}

impl ExportContext {
    /// A context on the current Tokio runtime, if there is one.
    pub(crate) fn new(
        timeout: Duration,
        status: &ExportStatusBoard,
        dropped: Counter,
        privacy: &Privacy,
    ) -> Self {
        Self {
            timeout,
            runtime: Handle::try_current().ok(),
            status: status.clone(),
            dropped,
            privacy: privacy.clone(),
        }
    }
}

/// Builds an OTLP exporter of type `$exporter` (`opentelemetry_otlp::SpanExporter` or
/// `::LogExporter`; their builders have the same shape) for an [`OtlpTarget`].
macro_rules! build_otlp {
    ($exporter:ty, $target:expr, $cx:expr) => {{
        let target: &OtlpTarget = $target;
        let cx: &ExportContext = $cx;
        let config = &credentials_as_header(&target.config);
        let compression = (config.compression == Some(Compression::Gzip))
            .then_some(opentelemetry_otlp::Compression::Gzip);
        let cause = Cause::default();
        let built = match config.protocol {
            OtlpProtocol::HttpProtobuf => {
                let mut builder = <$exporter>::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(config.endpoint.clone())
                    .with_timeout(cx.timeout)
                    .with_http_client(HttpSender::new(config, cx.timeout, cause.clone())?);
                if let Some(c) = compression {
                    builder = builder.with_compression(c);
                }
                builder.build()
            }
            OtlpProtocol::Grpc => {
                let handle = grpc_runtime(cx)?;
                let _entered = handle.enter();
                let mut builder = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint.clone())
                    .with_timeout(cx.timeout)
                    .with_interceptor(ExactMetadata(grpc_metadata(config)?));
                if config.endpoint.starts_with("https://") {
                    builder = builder.with_tls_config(
                        crate::tls::grpc_config(config.tls.as_ref()).map_err(|e| e.to_string())?,
                    );
                }
                if let Some(c) = compression {
                    builder = builder.with_compression(c);
                }
                builder.build()
            }
        }
        .map_err(|e| {
            let shown = shown_endpoint(&config.endpoint);
            format!(
                "cannot build the OTLP exporter for {shown}: {}",
                e.to_string().replace(&config.endpoint, &shown)
            )
        })?;
        Ok(StatusExporter {
            cause,
            ..StatusExporter::new(
                built,
                target,
                cx,
                (config.protocol == OtlpProtocol::Grpc)
                    .then(|| cx.runtime.clone())
                    .flatten(),
            )
        })
    }};
}

/// The OTLP span exporter for `target`, reporting its results.
pub(crate) fn span_exporter(
    target: &OtlpTarget,
    cx: &ExportContext,
) -> Result<StatusExporter<opentelemetry_otlp::SpanExporter>, String> {
    build_otlp!(opentelemetry_otlp::SpanExporter, target, cx)
}

/// The OTLP log exporter for `target`, reporting its results.
pub(crate) fn log_exporter(
    target: &OtlpTarget,
    cx: &ExportContext,
) -> Result<StatusExporter<opentelemetry_otlp::LogExporter>, String> {
    build_otlp!(opentelemetry_otlp::LogExporter, target, cx)
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

fn grpc_runtime(cx: &ExportContext) -> Result<&Handle, String> {
    cx.runtime.as_ref().ok_or_else(|| {
        "OTLP/gRPC needs a Tokio runtime: create the TelemetryManager inside one".into()
    })
}

pub(crate) fn grpc_metadata(
    config: &OtlpExporterConfig,
) -> Result<tonic::metadata::MetadataMap, String> {
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in &config.headers {
        let key = tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("header name {k:?} is not valid gRPC metadata"))?;
        // The value is a secret: name the header, never its value.
        let value = v
            .parse()
            .map_err(|_| format!("the value of header {k:?} is not valid gRPC metadata"))?;
        metadata.insert(key, value);
    }
    Ok(metadata)
}

/// The HTTP client of one OTLP/HTTP exporter: each request carries exactly the configured
/// headers. The SDK adds `OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]HEADERS` from the environment to
/// every exporter it builds, also to one configured in a file for another destination;
/// those would leak the environment's credentials there, so they go. (An exporter the
/// environment configured has them in its configuration already.)
#[derive(Debug)]
struct HttpSender {
    client: reqwest::blocking::Client,
    headers: http::HeaderMap,
    /// Where the last transport error goes: the SDK reports it as "network error" only.
    cause: Cause,
}

/// The cause of an exporter's last transport failure (an unknown CA, a refused client
/// certificate, a refused connection), which its status shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cause(Arc<Mutex<Option<String>>>);

impl Cause {
    fn set(&self, cause: String) {
        *self.0.lock() = Some(cause);
    }

    fn take(&self) -> Option<String> {
        self.0.lock().take()
    }
}

impl HttpSender {
    fn new(config: &OtlpExporterConfig, timeout: Duration, cause: Cause) -> Result<Self, String> {
        let headers = http_headers(config)?;
        let client = crate::tls::blocking_http_client(timeout, config.tls.as_ref())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            headers,
            cause,
        })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HttpSender {
    async fn send_bytes(
        &self,
        mut request: http::Request<opentelemetry_http::Bytes>,
    ) -> Result<http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let sent = std::mem::take(request.headers_mut());
        let kept = [
            http::header::CONTENT_TYPE,
            http::header::CONTENT_ENCODING,
            http::header::USER_AGENT,
        ];
        let headers = request.headers_mut();
        for name in kept {
            if let Some(value) = sent.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        headers.extend(self.headers.clone());
        self.client.send_bytes(request).await.inspect_err(|e| {
            // The cause (an unknown CA, a refused client certificate) is in the sources.
            let source: &(dyn std::error::Error + 'static) = e.as_ref();
            self.cause.set(crate::tls::error_chain(source));
        })
    }
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

/// Replaces the gRPC metadata of every request with the configured one (see
/// [`HttpSender`] for why the environment's goes).
#[derive(Clone)]
struct ExactMetadata(tonic::metadata::MetadataMap);

impl tonic::service::Interceptor for ExactMetadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let agent = request.metadata().get("user-agent").cloned();
        *request.metadata_mut() = self.0.clone();
        if let Some(agent) = agent {
            request.metadata_mut().insert("user-agent", agent);
        }
        Ok(request)
    }
}

/// Wraps a span or log exporter: scrubs what it sends, holds back what would leave the
/// machine without the user's consent, records each result in the export status, counts
/// items lost to failed exports, and runs the export on a Tokio runtime when the exporter
/// needs one.
#[derive(Debug)]
pub(crate) struct StatusExporter<E> {
    inner: E,
    name: String,
    status: ExportStatusBoard,
    dropped: Counter,
    runtime: Option<Handle>,
    privacy: Privacy,
    /// Whether it sends off the machine (OTLP), so only with consent.
    leaves_machine: bool,
    /// The cause of the last transport failure, when the inner exporter hides it.
    cause: Cause,
}

impl<E> StatusExporter<E> {
    pub(crate) fn new(
        inner: E,
        target: &OtlpTarget,
        cx: &ExportContext,
        runtime: Option<Handle>,
    ) -> Self {
        Self {
            leaves_machine: true,
            ..Self::named(inner, target.name.clone(), target.note.clone(), cx, runtime)
        }
    }

    /// A wrapper for an exporter that is not OTLP (the files), under `name`.
    pub(crate) fn named(
        inner: E,
        name: String,
        note: Option<String>,
        cx: &ExportContext,
        runtime: Option<Handle>,
    ) -> Self {
        cx.status.register(&name);
        if let Some(note) = &note {
            cx.status.note(&name, note.clone());
        }
        // The drop counter's series exists from the start (at 0), so that a rate or an
        // alert on it has data before the first loss.
        let _ = cx.dropped.add(0, &failed_labels(&name));
        Self {
            inner,
            name,
            status: cx.status.clone(),
            dropped: cx.dropped.clone(),
            runtime,
            privacy: cx.privacy.clone(),
            leaves_machine: false,
            cause: Cause::default(),
        }
    }

    /// Whether a batch of `count` items may go: without consent it is dropped, counted
    /// with `reason="consent"`, and the status says why nothing is sent.
    fn consented(&self, count: u64) -> bool {
        if !self.leaves_machine || self.privacy.consent.allows_sending() {
            return true;
        }
        let consent = self.privacy.consent.get();
        self.status.degraded(
            &self.name,
            format!("nothing is sent: consent is {}", consent.as_str()),
        );
        let _ = self.dropped.add(
            count,
            &[
                opentelemetry::KeyValue::new("exporter", self.name.clone()),
                opentelemetry::KeyValue::new("reason", "consent"),
            ],
        );
        false
    }

    fn record(&self, result: &OTelSdkResult, count: u64) {
        match result {
            Ok(()) => self.status.success(&self.name),
            Err(e) => {
                let why = match self.cause.take() {
                    Some(cause) => format!("{}: {cause}", describe(e)),
                    None => describe(e),
                };
                self.status.failure(&self.name, why);
                let _ = self.dropped.add(count, &failed_labels(&self.name));
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for StatusExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if !self.consented(batch.len() as u64) {
            return Ok(());
        }
        let batch = self.privacy.spans(batch);
        let count = batch.len() as u64;
        if count == 0 {
            return Ok(());
        }
        let result = match &self.runtime {
            Some(handle) => handle.block_on(self.inner.export(batch)),
            None => self.inner.export(batch).await,
        };
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
    async fn send_logs(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let count = batch.iter().count() as u64;
        let result = match &self.runtime {
            Some(handle) => handle.block_on(self.inner.export(batch)),
            None => self.inner.export(batch).await,
        };
        self.record(&result, count);
        result
    }
}

impl<E: LogExporter> LogExporter for StatusExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        if !self.consented(batch.iter().count() as u64) {
            return Ok(());
        }
        let Some(scrubbed) = self.privacy.logs(batch.iter()) else {
            return self.send_logs(batch).await;
        };
        if scrubbed.is_empty() {
            return Ok(());
        }
        let borrowed: Vec<_> = scrubbed.iter().map(|(r, s)| (r, s)).collect();
        self.send_logs(LogBatch::new(&borrowed)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The drop counter's labels for items of a failed export by exporter `name`.
fn failed_labels(name: &str) -> [opentelemetry::KeyValue; 2] {
    [
        opentelemetry::KeyValue::new("exporter", name.to_owned()),
        opentelemetry::KeyValue::new("reason", "export_failed"),
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
