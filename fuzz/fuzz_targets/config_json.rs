//! Any bytes given to `TelemetryConfig::from_json` are a valid config or an error that
//! names a field, never a panic; a config that loads passes its field checks again, the
//! full `validate` (alert conditions and templates) answers without panicking, and its
//! redacted form hides the HTTP token and the SMTP password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry_engine::config::TelemetryConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match TelemetryConfig::from_json(text) {
        Ok(config) => {
            // from_json checked the fields; the rules' own check answers, never panics.
            assert!(config.check_fields().is_ok());
            if let Err(error) = config.validate() {
                assert!(!error.to_string().is_empty());
            }
            let shown = config.redacted();
            if config.http_token.is_some() {
                assert_eq!(shown["http_token"], "<redacted>");
            }
            let password = config.alerts.email.as_ref().and_then(|e| e.password.as_ref());
            if password.is_some() {
                assert_eq!(shown["alerts"]["email"]["password"], "<redacted>");
            }
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
        }
    }
});
