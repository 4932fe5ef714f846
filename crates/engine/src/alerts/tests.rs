use std::time::Duration;

use super::*;
use crate::config::MetricsConfig;
use crate::metrics::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};

const MIN: i64 = 60_000;

fn store() -> SeriesStore {
    SeriesStore::new(&MetricsConfig {
        collection_interval: Duration::from_secs(1),
        retention_period: Duration::from_secs(3600),
        max_points_per_series: 10_000,
        ..Default::default()
    })
}

fn cpu(store: &SeriesStore, at_ms: i64, host: &str, value: f64) {
    store.ingest(&Snapshot {
        timestamp_ms: at_ms,
        metrics: vec![MetricSnapshot {
            name: "system_cpu_usage_percent".into(),
            kind: SnapshotKind::Gauge,
            help: String::new(),
            series: vec![SeriesSnapshot {
                labels: [("host".to_string(), host.to_string())].into(),
                value: SeriesValue::Number { value },
            }],
        }],
    });
}

fn cpu_rule() -> AlertRule {
    AlertRule {
        name: "HighCPUUsage".into(),
        condition: "system_cpu_usage_percent > 80".into(),
        for_: Duration::from_secs(120),
        severity: AlertSeverity::Warning,
        description: "CPU on {{ $labels.host }} at {{ $value }}%".into(),
        cooldown: Duration::from_secs(300),
        actions: vec![AlertAction::InApp {}],
        ..AlertRule::default()
    }
}

fn states(events: &[AlertEvent]) -> Vec<(AlertState, bool)> {
    events
        .iter()
        .map(|e| (e.notification.state, e.delivering))
        .collect()
}

#[tokio::test]
async fn pending_then_firing_after_for_then_cooldown_then_resolved() {
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    alerts.add_rule(cpu_rule()).await.unwrap();
    let mut inbox = alerts.subscribe();
    let store = store();
    let t0 = 1_700_000_000_000;

    cpu(&store, t0, "a", 95.0);
    let events = alerts.evaluate(&store, t0).await;
    assert_eq!(states(&events), [(AlertState::Pending, false)]);
    assert_eq!(alerts.active()[0].state, AlertState::Pending);

    cpu(&store, t0 + MIN, "a", 96.0);
    assert!(
        alerts.evaluate(&store, t0 + MIN).await.is_empty(),
        "still pending"
    );

    cpu(&store, t0 + 2 * MIN, "a", 97.0);
    let events = alerts.evaluate(&store, t0 + 2 * MIN).await;
    assert_eq!(states(&events), [(AlertState::Firing, true)]);
    let n = inbox.try_recv().unwrap();
    assert_eq!(n.state, AlertState::Firing);
    assert_eq!(n.annotations["description"], "CPU on a at 97%");
    assert_eq!(n.labels["alertname"], "HighCPUUsage");
    assert_eq!(n.labels["severity"], "warning");
    assert_eq!(n.labels["host"], "a");

    // Within the cooldown: no new notification.
    cpu(&store, t0 + 4 * MIN, "a", 98.0);
    assert!(alerts.evaluate(&store, t0 + 4 * MIN).await.is_empty());
    assert!(inbox.try_recv().is_err());
    // Cooldown over, still firing: notified again.
    cpu(&store, t0 + 7 * MIN, "a", 99.0);
    let events = alerts.evaluate(&store, t0 + 7 * MIN).await;
    assert_eq!(states(&events), [(AlertState::Firing, true)]);
    assert_eq!(inbox.try_recv().unwrap().value, 99.0);

    cpu(&store, t0 + 8 * MIN, "a", 20.0);
    let events = alerts.evaluate(&store, t0 + 8 * MIN).await;
    assert_eq!(states(&events), [(AlertState::Resolved, true)]);
    let resolved = inbox.try_recv().unwrap();
    assert_eq!(resolved.ends_at_ms, Some(t0 + 8 * MIN));
    assert_eq!(resolved.starts_at_ms, t0 + 2 * MIN);
    assert!(alerts.active().is_empty());
    assert_eq!(alerts.history().len(), 4);
}

#[tokio::test]
async fn a_pending_alert_that_stops_holding_never_fires() {
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    alerts.add_rule(cpu_rule()).await.unwrap();
    let store = store();
    let t0 = 1_700_000_000_000;
    cpu(&store, t0, "a", 95.0);
    alerts.evaluate(&store, t0).await;
    cpu(&store, t0 + MIN, "a", 10.0);
    assert!(alerts.evaluate(&store, t0 + MIN).await.is_empty());
    cpu(&store, t0 + 3 * MIN, "a", 10.0);
    assert!(alerts.evaluate(&store, t0 + 3 * MIN).await.is_empty());
    assert!(alerts.active().is_empty());
}

#[tokio::test]
async fn each_label_set_is_its_own_alert_and_for_zero_fires_at_once() {
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    alerts
        .add_rule(AlertRule {
            for_: Duration::ZERO,
            ..cpu_rule()
        })
        .await
        .unwrap();
    let store = store();
    let t0 = 1_700_000_000_000;
    cpu(&store, t0, "a", 95.0);
    cpu(&store, t0, "b", 91.0);
    cpu(&store, t0, "c", 10.0);
    let events = alerts.evaluate(&store, t0).await;
    assert_eq!(
        states(&events),
        [(AlertState::Firing, true), (AlertState::Firing, true)]
    );
    let hosts: Vec<String> = alerts
        .active()
        .iter()
        .map(|a| a.labels["host"].clone())
        .collect();
    assert_eq!(hosts, ["a", "b"]);
    let fingerprints: std::collections::HashSet<String> = events
        .iter()
        .map(|e| e.notification.fingerprint.clone())
        .collect();
    assert_eq!(fingerprints.len(), 2, "stable, distinct dedup keys");
}

#[tokio::test]
async fn bad_rules_are_refused_when_added_with_every_problem() {
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    let err = alerts
        .add_rule(AlertRule {
            name: "broken".into(),
            condition: "rate(api_errors_total[5m] > 0.1".into(),
            description: "{{ $vaule }}".into(),
            actions: vec![AlertAction::Email {
                recipients: vec!["not-an-address".into()],
                subject: "x".into(),
            }],
            ..AlertRule::default()
        })
        .await
        .unwrap_err();
    let AlertError::Invalid { problems, .. } = &err else {
        panic!("{err}");
    };
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "condition",
            "actions[0]",
            "actions[0].Email.recipients",
            "description"
        ],
        "{err}"
    );
    alerts.add_rule(cpu_rule()).await.unwrap();
    assert_eq!(
        alerts.add_rule(cpu_rule()).await,
        Err(AlertError::Duplicate("HighCPUUsage".into()))
    );
}

#[tokio::test]
async fn a_point_restamped_later_in_the_slot_of_now_still_counts_at_now() {
    let rule = AlertRule {
        for_: Duration::ZERO,
        ..cpu_rule()
    };
    let (alerts, alerts_later) = (
        AlertManager::new(&AlertsConfig::default(), "studio"),
        AlertManager::new(&AlertsConfig::default(), "studio"),
    );
    alerts.add_rule(rule.clone()).await.unwrap();
    alerts_later.add_rule(rule).await.unwrap();
    // 1 s slots: the sample of t0 + 100 was current at t0 + 200, then a collection
    // racing the evaluation replaced it with the one of t0 + 300.
    let t0 = 1_700_000_000_000;
    let racing = store();
    cpu(&racing, t0 + 100, "studio-1", 95.0);
    cpu(&racing, t0 + 300, "studio-1", 96.0);
    let events = alerts.evaluate(&racing, t0 + 200).await;
    assert_eq!(states(&events), [(AlertState::Firing, true)]);
    assert_eq!(events[0].notification.value, 96.0);
    // A point of a later slot is the future: not seen.
    let later = store();
    cpu(&later, t0 + 1_300, "studio-1", 95.0);
    assert!(alerts_later.evaluate(&later, t0 + 200).await.is_empty());
}

#[tokio::test]
async fn rate_rules_fire_under_the_high_load_profiles_thinned_retention() {
    // The high-load profile: 30 s collections, 7 days kept in 720 points (14-minute slots).
    let store = SeriesStore::new(&MetricsConfig {
        collection_interval: Duration::from_secs(30),
        retention_period: Duration::from_secs(7 * 24 * 3600),
        max_points_per_series: 720,
        ..Default::default()
    });
    let t0 = 1_700_000_000_000;
    let mut now = t0;
    // 3 errors a second for 30 minutes.
    for i in 0..60 {
        now = t0 + i * 30_000;
        store.ingest(&Snapshot {
            timestamp_ms: now,
            metrics: vec![MetricSnapshot {
                name: "render_errors_total".into(),
                kind: SnapshotKind::Counter,
                help: String::new(),
                series: vec![SeriesSnapshot {
                    labels: Default::default(),
                    value: SeriesValue::Number {
                        value: (i * 90) as f64,
                    },
                }],
            }],
        });
    }
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    alerts
        .add_rule(AlertRule {
            name: "RenderErrors".into(),
            condition: "rate(render_errors_total[5m]) > 1".into(),
            actions: vec![AlertAction::InApp {}],
            ..AlertRule::default()
        })
        .await
        .unwrap();
    let events = alerts.evaluate(&store, now).await;
    assert_eq!(states(&events), [(AlertState::Firing, true)]);
    assert!((events[0].notification.value - 3.0).abs() < 1e-9);
}
