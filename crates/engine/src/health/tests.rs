use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A check that sleeps `delay` (virtual time in these tests), then reports `status`;
/// counts its runs.
struct Slow {
    name: &'static str,
    delay: Duration,
    status: HealthStatus,
    runs: Arc<AtomicUsize>,
    tags: Vec<String>,
    timeout: Option<Duration>,
}

fn slow(name: &'static str, delay_ms: u64, status: HealthStatus) -> Slow {
    Slow {
        name,
        delay: Duration::from_millis(delay_ms),
        status,
        runs: Arc::new(AtomicUsize::new(0)),
        tags: Vec::new(),
        timeout: None,
    }
}

#[async_trait]
impl HealthCheck for Slow {
    fn name(&self) -> &str {
        self.name
    }
    async fn check(&self) -> HealthCheckResult {
        self.runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        HealthCheckResult::new(self.status, format!("{} done", self.name))
    }
    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
    fn tags(&self) -> Vec<String> {
        self.tags.clone()
    }
}

struct Panics;

#[async_trait]
impl HealthCheck for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    async fn check(&self) -> HealthCheckResult {
        panic!("pool poisoned");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_check_times_out_unhealthy_and_a_per_check_timeout_wins() {
    let health = HealthCheckManager::new();
    health.set_default_timeout(Duration::from_secs(2));
    health
        .add_check(Box::new(slow("hangs", 3_600_000, HealthStatus::Healthy)))
        .await
        .unwrap();
    let mut quick = slow("quick_timeout", 1_000, HealthStatus::Healthy);
    quick.timeout = Some(Duration::from_millis(100));
    health.add_check(Box::new(quick)).await.unwrap();
    let started = Instant::now();
    let report = health.check_all().await;
    assert_eq!(report.status, HealthStatus::Unhealthy);
    assert_eq!(
        report.checks["hangs"].message,
        "the check timed out after 2s"
    );
    assert_eq!(
        report.checks["quick_timeout"].message,
        "the check timed out after 100ms"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(2100), "sequential");
}

#[tokio::test(start_paused = true)]
async fn in_parallel_each_timeout_runs_from_its_checks_start() {
    let health = HealthCheckManager::new();
    health.set_parallel(true);
    health.set_default_timeout(Duration::from_secs(1));
    // Awaited first: hangs until its timeout.
    health
        .add_check(Box::new(slow("hangs", 3_600_000, HealthStatus::Healthy)))
        .await
        .unwrap();
    // Awaited second: needs 1.5 s, over its 1 s counted from its start.
    health
        .add_check(Box::new(slow("slow", 1_500, HealthStatus::Healthy)))
        .await
        .unwrap();
    let started = Instant::now();
    let report = health.check_all().await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "one timeout, not two"
    );
    assert_eq!(report.checks["slow"].status, HealthStatus::Unhealthy);
    assert_eq!(
        report.checks["slow"].message,
        "the check timed out after 1s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_is_unhealthy_with_the_message_and_others_still_run() {
    let health = HealthCheckManager::new();
    health.add_check(Box::new(Panics)).await.unwrap();
    health
        .add_check(Box::new(slow("fine", 10, HealthStatus::Healthy)))
        .await
        .unwrap();
    let report = health.check_all().await;
    assert_eq!(
        report.checks["panics"].message,
        "the check panicked: pool poisoned"
    );
    assert_eq!(report.checks["panics"].status, HealthStatus::Unhealthy);
    assert_eq!(report.checks["fine"].status, HealthStatus::Healthy);
    // The manager still works.
    assert_eq!(health.check_all().await.checks.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn results_are_cached_for_the_ttl() {
    let health = HealthCheckManager::new();
    health.set_cache_ttl(Duration::from_secs(60));
    let check = slow("cached", 5, HealthStatus::Healthy);
    let runs = check.runs.clone();
    health.add_check(Box::new(check)).await.unwrap();
    health.check_all().await;
    tokio::time::advance(Duration::from_secs(59)).await;
    health.check_all().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "within the TTL");
    tokio::time::advance(Duration::from_secs(2)).await;
    health.check_all().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "after the TTL");
    health.refresh().await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "refresh ignores the cache");
}

#[tokio::test(start_paused = true)]
async fn parallel_checks_take_the_longest_one_sequential_the_sum() {
    for (parallel, expected) in [(true, 300), (false, 600)] {
        let health = HealthCheckManager::new();
        health.set_parallel(parallel);
        for (name, ms) in [("a", 100), ("b", 200), ("c", 300)] {
            health
                .add_check(Box::new(slow(name, ms, HealthStatus::Healthy)))
                .await
                .unwrap();
        }
        let started = Instant::now();
        let report = health.check_all().await;
        assert_eq!(report.checks.len(), 3);
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(expected),
            "parallel = {parallel}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn groups_select_checks_and_the_worst_status_wins() {
    let health = HealthCheckManager::new();
    let mut live = slow("process", 1, HealthStatus::Healthy);
    live.tags = vec![LIVENESS.into()];
    health.add_check(Box::new(live)).await.unwrap();
    health
        .add_check(Box::new(slow("render_queue", 1, HealthStatus::Warning)))
        .await
        .unwrap();
    let live = health.check_group(LIVENESS).await;
    assert_eq!(live.checks.keys().collect::<Vec<_>>(), ["process"]);
    assert_eq!(live.status, HealthStatus::Healthy);
    let ready = health.check_group(READINESS).await;
    assert_eq!(ready.checks.keys().collect::<Vec<_>>(), ["render_queue"]);
    assert_eq!(health.check_all().await.status, HealthStatus::Warning);
    assert_eq!(
        HealthCheckManager::new().check_all().await.status,
        HealthStatus::Healthy,
        "no checks"
    );
}

#[tokio::test]
async fn duplicate_and_bad_names_are_refused() {
    let health = HealthCheckManager::new();
    health
        .add_check(Box::new(slow("db", 1, HealthStatus::Healthy)))
        .await
        .unwrap();
    assert_eq!(
        health
            .add_check(Box::new(slow("db", 1, HealthStatus::Healthy)))
            .await,
        Err(HealthError::Duplicate("db".into()))
    );
    assert_eq!(
        health
            .add_check(Box::new(slow("Bad-Name", 1, HealthStatus::Healthy)))
            .await,
        Err(HealthError::BadName("Bad-Name".into()))
    );
}

/// Flips between Healthy and Unhealthy on every run.
struct Flaky(AtomicUsize);

#[async_trait]
impl HealthCheck for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn check(&self) -> HealthCheckResult {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let status = if n.is_multiple_of(2) {
            HealthStatus::Healthy
        } else {
            HealthStatus::Unhealthy
        };
        HealthCheckResult::new(status, format!("run {n}"))
    }
}

#[tokio::test]
async fn status_changes_are_kept_in_a_bounded_history() {
    let health = HealthCheckManager::new();
    health
        .add_check(Box::new(Flaky(AtomicUsize::new(0))))
        .await
        .unwrap();
    health.refresh().await;
    let first = health.history();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].from, first[0].to),
        (HealthStatus::Unknown, HealthStatus::Healthy)
    );
    for _ in 0..300 {
        health.refresh().await;
    }
    let history = health.history();
    assert_eq!(history.len(), HISTORY, "bounded");
    assert_eq!(history.last().unwrap().message, "run 300");
    assert!(
        history.windows(2).all(|w| w[0].to == w[1].from),
        "a chain of changes"
    );
}

#[tokio::test]
async fn the_ietf_document_has_the_draft_shape() {
    let mut checks = BTreeMap::new();
    checks.insert(
        "disk_space".to_string(),
        HealthCheckResult::new(HealthStatus::Warning, "/ is 85.0% full")
            .with_metadata("observedValue", "85.0")
            .with_metadata("observedUnit", "percent"),
    );
    checks.insert(
        "ffmpeg".to_string(),
        HealthCheckResult::new(HealthStatus::Unhealthy, "ffmpeg was not found"),
    );
    let report = HealthReport {
        status: HealthStatus::Unhealthy,
        checks,
    };
    let (code, body) = health_json(&report, "studio", "1.2.3");
    assert_eq!(code, 503);
    assert_eq!(body["status"], "fail");
    assert_eq!(body["serviceId"], "studio");
    assert_eq!(body["version"], "1.2.3");
    let disk = &body["checks"]["disk_space"][0];
    assert_eq!(disk["componentId"], "disk_space");
    assert_eq!(disk["status"], "warn");
    assert_eq!(disk["observedValue"], 85.0);
    assert_eq!(disk["observedUnit"], "percent");
    assert_eq!(disk["output"], "/ is 85.0% full");
    assert!(disk["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["checks"]["ffmpeg"][0]["status"], "fail");
    let warn_only = HealthReport {
        status: HealthStatus::Warning,
        checks: BTreeMap::new(),
    };
    assert_eq!(health_json(&warn_only, "s", "v").0, 200);
}
