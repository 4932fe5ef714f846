//! The user's consent, shared by everything that sends, and kept between launches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::PrivacyError;
use crate::config::{Consent, TelemetryConfig};

/// The file under `storage.dir` that keeps the user's choice.
const FILE: &str = "consent";

/// The consent in force, read by every sender before it sends. Cloning shares it.
#[derive(Debug, Clone)]
pub(crate) struct ConsentGate {
    state: Arc<watch::Sender<Consent>>,
    file: Option<PathBuf>,
}

impl ConsentGate {
    /// The consent for `config`: the user's choice kept under `storage.dir` if there is
    /// one, else `config.consent`. A kept file that cannot be read or understood is a
    /// warning and the configured value applies.
    pub(crate) fn new(config: &TelemetryConfig) -> Self {
        let file = config.storage.dir.as_ref().map(|d| Path::new(d).join(FILE));
        let kept = file.as_deref().and_then(read_choice);
        Self {
            state: Arc::new(watch::channel(kept.unwrap_or(config.consent)).0),
            file,
        }
    }

    /// The consent in force.
    pub(crate) fn get(&self) -> Consent {
        *self.state.borrow()
    }

    /// Whether telemetry may leave the machine now.
    pub(crate) fn allows_sending(&self) -> bool {
        self.get().allows_sending()
    }

    /// Tells of every change from now on.
    pub(crate) fn watch(&self) -> watch::Receiver<Consent> {
        self.state.subscribe()
    }

    /// Sets the consent now (and logs it), then keeps it under `storage.dir` (when
    /// configured).
    ///
    /// # Errors
    /// [`PrivacyError::Persist`] when the choice cannot be written: it is in force for
    /// this launch all the same.
    pub(crate) fn set(&self, consent: Consent) -> Result<(), PrivacyError> {
        self.state.send_replace(consent);
        ::tracing::info!(target: "telemetry::privacy", consent = consent.as_str(), "telemetry consent set");
        let Some(file) = &self.file else {
            return Ok(());
        };
        write_choice(file, consent).map_err(|source| PrivacyError::Persist {
            path: file.display().to_string(),
            source,
        })
    }
}

/// The choice kept in `file`, if it holds one.
fn read_choice(file: &Path) -> Option<Consent> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let consent = Consent::parse(&text);
            if consent.is_none() {
                ::tracing::warn!(
                    target: "telemetry::privacy",
                    file = %file.display(),
                    "the kept consent is not granted, denied or ask; the configured consent applies"
                );
            }
            consent
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            ::tracing::warn!(
                target: "telemetry::privacy",
                file = %file.display(),
                error = %e,
                "cannot read the kept consent; the configured consent applies"
            );
            None
        }
    }
}

/// Writes `consent` to `file` whole or not at all (a temporary file renamed over it).
fn write_choice(file: &Path, consent: Consent) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = file.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&temporary, format!("{}\n", consent.as_str()))?;
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: Option<&Path>, consent: Consent) -> TelemetryConfig {
        let mut config = TelemetryConfig {
            consent,
            ..TelemetryConfig::default()
        };
        config.storage.dir = dir.map(|d| d.display().to_string());
        config
    }

    #[test]
    fn the_users_choice_outlives_the_launch_and_beats_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("telemetry");
        let first = ConsentGate::new(&config(Some(&at), Consent::Ask));
        assert_eq!(first.get(), Consent::Ask);
        assert!(!first.allows_sending());
        first.set(Consent::Denied).unwrap();
        assert_eq!(std::fs::read_to_string(at.join(FILE)).unwrap(), "denied\n");
        let second = ConsentGate::new(&config(Some(&at), Consent::Granted));
        assert_eq!(second.get(), Consent::Denied, "the user said no");
        second.set(Consent::Granted).unwrap();
        assert!(ConsentGate::new(&config(Some(&at), Consent::Ask)).allows_sending());
    }

    #[test]
    fn a_damaged_file_leaves_the_configured_consent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "yes please").unwrap();
        let gate = ConsentGate::new(&config(Some(dir.path()), Consent::Ask));
        assert_eq!(gate.get(), Consent::Ask);
    }

    #[test]
    fn without_a_directory_the_choice_lasts_for_the_launch() {
        let gate = ConsentGate::new(&config(None, Consent::Ask));
        gate.set(Consent::Granted).unwrap();
        assert!(gate.clone().allows_sending(), "clones share it");
    }

    #[test]
    fn a_choice_that_cannot_be_kept_is_an_error_naming_the_file_and_still_applies() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let gate = ConsentGate::new(&config(Some(&blocker.join("below")), Consent::Ask));
        let err = gate.set(Consent::Granted).unwrap_err();
        assert!(err.to_string().contains("below"), "{err}");
        assert!(gate.allows_sending());
    }
}
