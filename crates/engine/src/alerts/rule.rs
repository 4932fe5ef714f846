//! The templates of annotations and payloads (`{{ $value }}`, `{{ $labels.x }}`). The
//! rules and actions themselves are plain data in [`crate::config`].

use std::collections::BTreeMap;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template:?}: {message}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What is wrong.
    pub message: String,
}

/// Checks that every `{{ .. }}` in `template` is `$value` or `$labels.<name>`.
pub(crate) fn check_template(template: &str) -> Result<(), TemplateError> {
    expand(template, &BTreeMap::new(), 0.0, false).map(|_| ())
}

/// `template` with `{{ $value }}` and `{{ $labels.x }}` replaced (a missing label is
/// empty, as in Prometheus).
pub(crate) fn render(template: &str, labels: &BTreeMap<String, String>, value: f64) -> String {
    expand(template, labels, value, true).unwrap_or_else(|_| template.to_owned())
}

fn expand(
    template: &str,
    labels: &BTreeMap<String, String>,
    value: f64,
    lenient: bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(TemplateError {
                template: template.to_owned(),
                message: format!("`{{{{` at byte {open} is never closed"),
            });
        };
        let inner = after[..close].trim();
        if inner == "$value" {
            out.push_str(&format_value(value));
        } else if let Some(label) = inner.strip_prefix("$labels.") {
            out.push_str(labels.get(label).map_or("", String::as_str));
        } else if !lenient {
            return Err(TemplateError {
                template: template.to_owned(),
                message: format!("unknown `{{{{ {inner} }}}}`; use $value or $labels.<name>"),
            });
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whole numbers without a fraction, others with up to 4 decimals.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').to_owned()
    }
}

/// Every string inside `payload`, rendered.
pub(crate) fn render_json(
    payload: &serde_json::Value,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> serde_json::Value {
    match payload {
        serde_json::Value::String(s) => serde_json::Value::String(render(s, labels, value)),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| render_json(v, labels, value))
            .collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), render_json(v, labels, value)))
            .collect(),
        other => other.clone(),
    }
}

/// Every template string of a payload, for checking.
pub(crate) fn json_strings(payload: &serde_json::Value, out: &mut Vec<String>) {
    match payload {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_value_and_labels() {
        let labels = [("job".to_string(), "render".to_string())].into();
        assert_eq!(
            render("{{ $labels.job }} at {{$value}} ms", &labels, 31250.0),
            "render at 31250 ms"
        );
        assert_eq!(render("{{ $value }}", &labels, 0.125), "0.125");
        assert_eq!(render("{{ $labels.none }}!", &labels, 1.0), "!");
        let payload =
            serde_json::json!({"text": "slow: {{ $value }}", "n": [1, "{{ $labels.job }}"]});
        assert_eq!(
            render_json(&payload, &labels, 2.5),
            serde_json::json!({"text": "slow: 2.5", "n": [1, "render"]})
        );
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        assert!(check_template("ok {{ $value }} {{ $labels.a }}").is_ok());
        let err = check_template("{{ $vaule }}").unwrap_err();
        assert!(err.message.contains("unknown `{{ $vaule }}`"), "{err}");
        let err = check_template("x {{ $value").unwrap_err();
        assert!(err.message.contains("never closed"), "{err}");
    }
}
