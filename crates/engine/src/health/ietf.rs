//! The `application/health+json` body of draft-inadarei-api-health-check.

use serde_json::{json, Map, Value};

use super::{HealthReport, HealthStatus};

/// `pass`, `warn` or `fail` (Unknown is `warn`: not known to work).
fn ietf_status(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "pass",
        HealthStatus::Warning | HealthStatus::Unknown => "warn",
        HealthStatus::Unhealthy => "fail",
    }
}

/// The report as an IETF health document, and the HTTP status it is served with
/// (200 for pass and warn, 503 for fail).
///
/// # Examples
/// ```
/// use telemetry_engine::health::{health_json, HealthReport, HealthStatus};
/// let report = HealthReport { status: HealthStatus::Healthy, checks: Default::default() };
/// let (code, body) = health_json(&report, "studio", "1.0.0");
/// assert_eq!((code, body["status"].as_str()), (200, Some("pass")));
/// ```
pub fn health_json(report: &HealthReport, service: &str, version: &str) -> (u16, Value) {
    let mut checks = Map::new();
    for (name, result) in &report.checks {
        let time = humantime::format_rfc3339_millis(result.timestamp).to_string();
        let mut entry = json!({
            "componentId": name,
            "status": ietf_status(result.status),
            "time": time,
            "output": result.message,
        });
        if let Some(value) = result.metadata.get("observedValue") {
            entry["observedValue"] = value
                .parse::<f64>()
                .map_or_else(|_| json!(value), |v| json!(v));
        }
        if let Some(unit) = result.metadata.get("observedUnit") {
            entry["observedUnit"] = json!(unit);
        }
        checks.insert(name.clone(), json!([entry]));
    }
    let body = json!({
        "status": ietf_status(report.status),
        "version": version,
        "serviceId": service,
        "description": format!("health of {service}"),
        "checks": checks,
    });
    let code = if report.status == HealthStatus::Unhealthy {
        503
    } else {
        200
    };
    (code, body)
}
