//! The external stack's alert rules: `promtool check rules` and `promtool test rules` pass,
//! and every rule's expression parses in-app unchanged.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use telemetry_engine::alerts::Condition;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(rules_dir())
        .output()
        .expect("promtool (Debian package prometheus; `make setup` installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_checks_and_unit_tests_the_spec_rules() {
    let checked = promtool(&["check", "rules", "alert_rules.yml"]);
    assert!(checked.contains("SUCCESS: 5 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "alert_rules_test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn every_rule_expression_is_an_in_app_condition() {
    let text = std::fs::read_to_string(rules_dir().join("alert_rules.yml")).unwrap();
    let exprs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(str::trim)
        .collect();
    assert_eq!(exprs.len(), 5);
    for expr in exprs {
        Condition::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    }
}
