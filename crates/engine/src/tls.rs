//! TLS for every connection the engine opens: OTLP over HTTP and gRPC, webhooks,
//! PagerDuty and the `Http` health check (SMTP uses lettre's rustls backend with the same
//! trust). rustls with the ring provider; no OpenSSL. The trust is the OS's certificate
//! store (Mozilla's roots from `webpki-roots` when it holds none), plus what a destination
//! configures (`"tls": { "ca_cert", "client_cert", "client_key" }`): a private CA and a
//! client certificate for mutual TLS.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use crate::config::TlsConfig;

/// Why a destination's TLS settings cannot be used. Never holds key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file cannot be read.
    #[error("tls: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file that should hold PEM certificates holds none.
    #[error("tls: {path} holds no PEM certificate")]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// The client key file holds no PEM private key.
    #[error("tls: {path} holds no PEM private key")]
    NoKey {
        /// The file.
        path: String,
    },
    /// rustls refused the settings (a key that does not match the certificate, a CA
    /// certificate it cannot use).
    #[error("tls: {0}")]
    Refused(String),
    /// The HTTP client could not be made.
    #[error("cannot make the HTTP client: {0}")]
    Client(String),
}

/// Makes ring the process's default rustls provider unless one is installed already.
/// reqwest is built without a provider of its own (it uses ours); a plain
/// `reqwest::Client::new()` elsewhere in the app then finds this one instead of panicking.
pub(crate) fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: one is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The OS's trusted roots, read once; Mozilla's when the OS store has none.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                ::tracing::warn!(
                    target: "telemetry::tls",
                    errors = ?found.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "no trusted certificates in the OS store: using Mozilla's roots"
                );
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(store)
        })
        .clone()
}

fn read(path: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(Path::new(path)).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The rustls configuration for a destination with `tls` settings (or none).
///
/// # Errors
/// [`TlsError`] naming the file or the problem.
pub(crate) fn client_config(tls: Option<&TlsConfig>) -> Result<rustls::ClientConfig, TlsError> {
    install_default_provider();
    let tls = tls.cloned().unwrap_or_default();
    let mut roots = (*system_roots()).clone();
    if let Some(ca) = &tls.ca_cert {
        for cert in certificates(ca)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::Refused(format!("ca_cert {ca}: {e}")))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Refused(e.to_string()))?
    .with_root_certificates(roots);
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_slice(&read(key)?)
                .map_err(|_| TlsError::NoKey { path: key.clone() })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::Refused(format!("client_cert {cert}: {e}")))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// Which redirects an [`http_client`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// Every kind, at most 10 in a row: for GET requests (the Http check).
    Follow,
    /// Only 307 and 308, which send the same request again. A 301, 302 or 303 would turn
    /// a POST into a GET without its body (a captive portal on public Wi-Fi answers so),
    /// and report it sent: it is the answer instead, and the sender retries it.
    SameRequest,
}

/// At most this many redirects in a row are followed.
const MAX_REDIRECTS: usize = 10;

/// An async HTTP client on [`client_config`], with a timeout per request if given.
///
/// # Errors
/// As [`client_config`], or [`TlsError::Client`].
pub(crate) fn http_client(
    timeout: Option<Duration>,
    tls: Option<&TlsConfig>,
    redirects: Redirects,
) -> Result<reqwest::Client, TlsError> {
    let policy = match redirects {
        Redirects::Follow => reqwest::redirect::Policy::limited(MAX_REDIRECTS),
        Redirects::SameRequest => reqwest::redirect::Policy::custom(|attempt| {
            let same_request = matches!(attempt.status().as_u16(), 307 | 308);
            if same_request && attempt.previous().len() <= MAX_REDIRECTS {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }),
    };
    let builder = reqwest::Client::builder().redirect(policy);
    let builder = match timeout {
        Some(t) => builder.timeout(t),
        None => builder,
    };
    builder
        .tls_backend_preconfigured(client_config(tls)?)
        .build()
        .map_err(|e| TlsError::Client(error_chain(&e)))
}

/// Why a TLS connection to `url` fails, found with a handshake and a read of our own;
/// `None` when it works or the server stays silent (2 s at most).
///
/// Under TLS 1.3 a server checks the client certificate after the client has finished
/// its handshake, so its alert (`CertificateRequired`, `UnknownCA`…) can arrive before the
/// HTTP client sends the request; the client then reports only "connection was not
/// ready". This finds the alert again, so the status can name the certificate problem.
pub(crate) async fn handshake_error(url: &str, tls: Option<&TlsConfig>) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default()?;
    let name = rustls::pki_types::ServerName::try_from(host.clone()).ok()?;
    let config = Arc::new(client_config(tls).ok()?);
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .ok()?;
        let mut stream = match tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
        {
            Ok(stream) => stream,
            Err(e) => return Some(error_chain(&e)),
        };
        let mut byte = [0u8; 1];
        stream.read(&mut byte).await.err().map(|e| error_chain(&e))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}

#[cfg(feature = "otlp-grpc")]
/// The gRPC (tonic) TLS settings for a destination: the OS's roots and Mozilla's, the
/// configured CA and client certificate.
///
/// # Errors
/// [`TlsError`] naming the file.
pub(crate) fn grpc_config(
    tls: Option<&TlsConfig>,
) -> Result<tonic::transport::ClientTlsConfig, TlsError> {
    let tls = tls.cloned().unwrap_or_default();
    let mut config = tonic::transport::ClientTlsConfig::new().with_enabled_roots();
    if let Some(ca) = &tls.ca_cert {
        certificates(ca)?;
        config = config.ca_certificate(tonic::transport::Certificate::from_pem(read(ca)?));
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        certificates(cert)?;
        let key_pem = read(key)?;
        PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|_| TlsError::NoKey { path: key.clone() })?;
        config = config.identity(tonic::transport::Identity::from_pem(read(cert)?, key_pem));
    }
    Ok(config)
}

/// `error` and its sources as one line (`a: b: c`), each cause once: TLS failures
/// (an unknown CA, a missing client certificate) are in the sources, not the top error.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem").display().to_string();
        let err = client_config(Some(&TlsConfig {
            ca_cert: Some(missing.clone()),
            ..TlsConfig::default()
        }))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("tls: cannot read {missing}")),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = client_config(Some(&TlsConfig {
            ca_cert: Some(empty.display().to_string()),
            ..TlsConfig::default()
        }))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("tls: {} holds no PEM certificate", empty.display())
        );
    }

    #[test]
    fn the_system_roots_are_never_empty() {
        assert!(!system_roots().is_empty());
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn an_error_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Top(#[source] std::io::Error);
        let e = Top(std::io::Error::other(
            "invalid peer certificate: UnknownIssuer",
        ));
        assert_eq!(
            error_chain(&e),
            "error sending request: invalid peer certificate: UnknownIssuer"
        );
    }
}
