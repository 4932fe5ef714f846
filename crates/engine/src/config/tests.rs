use std::time::Duration;

use super::*;

#[test]
fn the_spec_profiles_parse_verbatim() {
    let dev = TelemetryConfig::from_json(Profile::Development.json()).unwrap();
    assert_eq!(dev.service_name, "timeline-studio-dev");
    assert_eq!(dev.tracing.sample_rate, 1.0);
    assert_eq!(dev.metrics.collection_interval, Duration::from_secs(5));
    assert_eq!(dev.metrics.retention_period, Duration::from_secs(3600));
    assert_eq!(
        dev.tracing.exporters,
        vec![
            TracingExporter::Console {},
            TracingExporter::File(FileExporterConfig::new("./logs/traces.json"))
        ]
    );

    let prod = TelemetryConfig::from_json(Profile::Production.json()).unwrap();
    assert_eq!(prod.tracing.sample_rate, 0.01);
    assert_eq!(
        prod.metrics.retention_period,
        Duration::from_secs(24 * 3600)
    );
    assert!(matches!(&prod.metrics.exporters[0],
        MetricsExporter::Prometheus { port: 9090, path, host, enable_compression: false }
            if path == "/metrics" && host == "127.0.0.1"));
    assert!(matches!(&prod.tracing.exporters[0],
        TracingExporter::Jaeger { endpoint, compression: None }
            if endpoint == "http://jaeger-collector:14268/api/traces"));

    let high = TelemetryConfig::from_json(Profile::HighLoad.json()).unwrap();
    assert_eq!(high.tracing.sample_rate, 0.001);
    assert_eq!(high.tracing.batch_export.max_batch_size, 1000);
    assert_eq!(
        high.tracing.batch_export.export_interval,
        Duration::from_secs(30)
    );
    assert_eq!(
        high.metrics.retention_period,
        Duration::from_secs(7 * 24 * 3600)
    );
    assert_eq!(
        high.metrics.aggregation.histogram_buckets,
        vec![0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    );
    assert_eq!(
        high.metrics.aggregation.summary_quantiles,
        vec![0.5, 0.9, 0.95, 0.99]
    );
    assert!(high.health.parallel_checks);
    assert!(matches!(
        &high.tracing.exporters[0],
        TracingExporter::Jaeger {
            compression: Some(Compression::Gzip),
            ..
        }
    ));
    assert!(matches!(
        &high.metrics.exporters[0],
        MetricsExporter::Prometheus {
            enable_compression: true,
            ..
        }
    ));

    for p in Profile::ALL {
        assert_eq!(
            TelemetryConfig::profile(p),
            TelemetryConfig::from_json(p.json()).unwrap()
        );
    }
}

#[test]
fn defaults_are_valid_and_round_trip() {
    let cfg = TelemetryConfig::default();
    cfg.validate().unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(TelemetryConfig::from_json(&json).unwrap(), cfg);
    assert_eq!(TelemetryConfig::from_json("{}").unwrap(), cfg);
}

/// What `"from": "nobody"` is told: a build without email alerts says that first.
#[cfg(feature = "email")]
const NOT_AN_ADDRESS: &str = "alerts.email.from: \"nobody\" is not an email address";
#[cfg(not(feature = "email"))]
const NOT_AN_ADDRESS: &str = "alerts.email.from: email alerts need the Cargo feature `email`";

/// What a rule's bad condition and its email action are told: a build without alert
/// rules says that first.
#[cfg(feature = "alerts")]
const BAD_CONDITION: &str = "alerts.rules[0].condition: cannot parse \"rate(x[5m]\"";
#[cfg(feature = "alerts")]
const EMAIL_ACTION: &str = "alerts.rules[0].actions[0]: email action needs alerts.email";
#[cfg(not(feature = "alerts"))]
const BAD_CONDITION: &str =
    "alerts.rules[0].condition: alert conditions need the Cargo feature `alerts`";
#[cfg(not(feature = "alerts"))]
const EMAIL_ACTION: &str = BAD_CONDITION;

/// (config JSON, expected first error line)
const BAD: &[(&str, &str)] = &[
    (r#"{"allowed_hosts":["host.docker.internal:9090"]}"#,
        "allowed_hosts[0]: \"host.docker.internal:9090\" is not a host name (letters, digits, '-' and '.', no port, at most 253)"),
    (r#"{"allowed_hosts":["studio..lan"]}"#,
        "allowed_hosts[0]: \"studio..lan\" is not a host name"),
    (r#"{"metrics":{"exporters":[{"Prometheus":{"port":0}}]}}"#,
        "metrics.exporters[0].Prometheus.port: port 0 is not allowed"),
    (r#"{"metrics":{"exporters":[{"Prometheus":{"port":9100}},{"Prometheus":{"port":9100}}]}}"#,
        "metrics.exporters[1].Prometheus.port: port 9100 is used by another Prometheus exporter"),
    (r#"{"metrics":{"exporters":[{"Prometheus":{"path":"metrics"}}]}}"#,
        "metrics.exporters[0].Prometheus.path: \"metrics\" must start with '/' and use only letters, digits and / - . _ ~ (at most 256)"),
    (r#"{"metrics":{"exporters":[{"Prometheus":{"host":"localhost"}}]}}"#,
        "metrics.exporters[0].Prometheus.host: \"localhost\" is not an IP address (use 127.0.0.1 or 0.0.0.0)"),
    (r#"{"metrics":{"exporters":[{"Prometheus":{"port":70000}}]}}"#,
        "metrics.exporters[0].Prometheus.port: invalid value: integer `70000`, expected u16"),
    (r#"{"metrics":{"exporters":[{"File":{"path":""}}]}}"#,
        "metrics.exporters[0].File.path: must not be empty"),
    (r#"{"metrics":{"exporters":[{"Graphite":{}}]}}"#,
        "metrics.exporters[0]: unknown variant `Graphite`, expected one of `Prometheus`, `Console`, `File`"),
    (r#"{"metrics":{"collection_interval":"5 parsecs"}}"#,
        "metrics.collection_interval: invalid value: string \"5 parsecs\", expected a duration"),
    (r#"{"metrics":{"collection_interval":"10ms"}}"#,
        "metrics.collection_interval: 10ms is too short; use at least 100ms"),
    (r#"{"metrics":{"collection_interval":"1m","retention_period":"30s"}}"#,
        "metrics.retention_period: must be at least metrics.collection_interval"),
    (r#"{"metrics":{"aggregation":{"histogram_buckets":[1,10,5]}}}"#,
        "metrics.aggregation.histogram_buckets[2]: 5 does not exceed the bound before it; bounds must increase"),
    (r#"{"metrics":{"aggregation":{"histogram_buckets":[]}}}"#,
        "metrics.aggregation.histogram_buckets: must have at least one bound"),
    (r#"{"metrics":{"aggregation":{"summary_quantiles":[0.5,99]}}}"#,
        "metrics.aggregation.summary_quantiles[1]: 99 is outside the open range (0, 1); write 0.99 for p99"),
    (r#"{"metrics":{"max_points_per_series":1}}"#,
        "metrics.max_points_per_series: must be at least 2"),
    (r#"{"metrics":{"colection_interval":"5s"}}"#,
        "metrics.colection_interval: unknown field `colection_interval`"),
    (r#"{"tracing":{"sample_rate":1.5}}"#,
        "tracing.sample_rate: 1.5 is outside 0.0..=1.0 (1.0 keeps every trace)"),
    (r#"{"tracing":{"sample_rate":"all"}}"#,
        "tracing.sample_rate: invalid type: string \"all\", expected f64"),
    (r#"{"tracing":{"max_attributes_per_span":0}}"#,
        "tracing.max_attributes_per_span: must be at least 1"),
    (r#"{"tracing":{"batch_export":{"max_batch_size":0}}}"#,
        "tracing.batch_export.max_batch_size: must be at least 1"),
    (r#"{"tracing":{"batch_export":{"export_interval":"0s"}}}"#,
        "tracing.batch_export.export_interval: must be greater than 0s"),
    (r#"{"tracing":{"exporters":[{"Jaeger":{"endpoint":"jaeger:4318"}}]}}"#,
        "tracing.exporters[0].Jaeger.endpoint: \"jaeger:4318\" must start with http:// or https://"),
    (r#"{"tracing":{"exporters":[{"Jaeger":{"endpoint":"http://x","compression":"zstd"}}]}}"#,
        "tracing.exporters[0].Jaeger.compression: unknown variant `zstd`, expected `gzip`"),
    (r#"{"logs":{"level":"info,=x=y"}}"#,
        "logs.level: \"info,=x=y\" is not a level directive"),
    (r#"{"logs":{"store_capacity":0}}"#, "logs.store_capacity: must be at least 1"),
    (r#"{"logs":{"exporters":[{"Otlp":{"endpoint":"collector:4318"}}]}}"#,
        "logs.exporters[0].Otlp.endpoint: \"collector:4318\" must start with http:// or https://"),
    (r#"{"logs":{"exporters":[{"Otlp":{"endpoint":"http://c","headers":{"bad header":"x"}}}]}}"#,
        "logs.exporters[0].Otlp.headers: \"bad header\" is not a valid header name"),
    (r#"{"logs":{"exporters":[{"File":{"path":"a.json","max_file_bytes":10}}]}}"#,
        "logs.exporters[0].File.max_file_bytes: must be at least 1024"),
    (r#"{"logs":{"exporters":[{"Console":{}}]}}"#,
        "logs.exporters[0]: unknown variant `Console`, expected `Otlp` or `File`"),
    (r#"{"health":{"checks":[{"DiskSpace":{"path":"/","threshold":90}}]}}"#,
        "health.checks[0].DiskSpace.threshold: 90 is outside (0, 1]; write 0.9 for 90%"),
    (r#"{"health":{"checks":[{"Http":{"name":"Render API","url":"http://x"}}]}}"#,
        "health.checks[0].Http.name: \"Render API\" must be lowercase letters, digits and '_'"),
    (r#"{"alerts":{"rules":[{"name":"r","condition":"rate(x[5m]","severity":"Warning"}]}}"#,
        BAD_CONDITION),
    (r#"{"alerts":{"rules":[{"name":"r","condition":"x > 1","severity":"Warning","actions":[{"Email":{"recipients":["a@b.c"],"subject":"s"}}]}]}}"#,
        EMAIL_ACTION),
    (r#"{"alerts":{"rules":[{"name":"r","condition":"x > 1","severity":"Loud"}]}}"#,
        "alerts.rules[0].severity: unknown variant `Loud`, expected one of `Info`, `Warning`, `Critical`"),
    (r#"{"alerts":{"email":{"smtp_host":"h","from":"nobody"}}}"#,
        NOT_AN_ADDRESS),
    (r#"{"alerts":{"rules":[{"name":"r","condition":"x > 1","severity":"Info"},{"name":"r","condition":"y > 1","severity":"Info"}]}}"#,
        "alerts.rules[1].name: \"r\" is used by another rule"),
    (r#"{"health":{"checks":[{"DiskSpace":{"path":"/"}},{"DiskSpace":{"path":"/tmp"}}]}}"#,
        "health.checks[1]: a health check named \"disk_space\" exists already"),
    (r#"{"health":{"checks":[{"Http":{"name":"exporters","url":"http://x"}}]}}"#,
        "health.checks[0]: a health check named \"exporters\" exists already"),
    (r#"{"metrics":{"max_attributes_per_measurement":0}}"#,
        "metrics.max_attributes_per_measurement: must be at least 1"),
    (r#"{"health":{"check_interval":"0s"}}"#,
        "health.check_interval: must be greater than 0s"),
    (r#"{"health":{"check_interval":"5s","default_timeout":"10s"}}"#,
        "health.default_timeout: must not exceed health.check_interval"),
    (r#"{"service_name":"  "}"#, "service_name: must not be empty"),
    (r#"{"http_token":"short"}"#, "http_token: must be at least 16 characters long"),
    (r#"{"http_token":"a token with spaces in it"}"#,
        "http_token: may hold only visible ASCII characters (no spaces)"),
    (r#"{"telemetry":{"enabled":true},"extra":1}"#, "extra: unknown field `extra`"),
    (r#"{"enabled": tru}"#, "expected ident at line 1 column 16"),
    (r#"{"panels":[{"title":"Hits","kind":"ratio","metric":"hits_total"}]}"#,
        "panels[0].complement: a ratio panel needs the counter of misses"),
    (r#"{"panels":[{"title":"Queue","kind":"value","metric":"queue","complement":"x"}]}"#,
        "panels[0].complement: only a ratio panel takes a complement"),
    (r#"{"panels":[{"title":" ","kind":"rate","metric":"jobs_total"}]}"#,
        "panels[0].title: must not be empty"),
    (r#"{"panels":[{"title":"Jobs","kind":"rate","metric":"jobs-total"}]}"#,
        "panels[0].metric: metric name \"jobs-total\" is invalid"),
    (r#"{"panels":[{"title":"Jobs","kind":"rate","metric":"jobs_total","labels":{"le":"1"}}]}"#,
        "panels[0].labels: invalid label \"le\""),
    (r#"{"panels":[{"title":"Jobs","kind":"chart","metric":"jobs_total"}]}"#,
        "panels[0].kind: unknown variant `chart`"),
    (r#"{"metrics":{"catalogue":[{"name":"jobs_total","help":"Jobs"},{"name":"jobs","help":"Jobs"}]}}"#,
        "metrics.catalogue[1].name: \"jobs\" is described twice"),
    (r#"{"metrics":{"catalogue":[{"name":"9jobs","help":"Jobs"}]}}"#,
        "metrics.catalogue[0].name: metric name \"9jobs\" is invalid"),
    (r#"{"metrics":{"catalogue":[{"name":"jobs","help":"a\u0007b"}]}}"#,
        "metrics.catalogue[0].help: must not hold control characters"),
];

#[test]
fn bad_configs_name_the_field() {
    assert!(BAD.len() >= 15);
    for (json, want) in BAD {
        // Parsing checks the fields; `validate` adds what each alert rule means.
        let err = TelemetryConfig::from_json(json)
            .and_then(|c| c.validate())
            .expect_err(json);
        let text = err.to_string();
        let first = match &err {
            ConfigError::Invalid(issues) => issues[0].to_string(),
            _ => text.lines().next().unwrap_or_default().to_owned(),
        };
        assert!(
            first.starts_with(want),
            "config {json}\n  got:  {first}\n  want: {want}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = TelemetryConfig::from_json(
        r#"{"service_name":"","tracing":{"sample_rate":-1},"metrics":{"exporters":[{"Prometheus":{"port":0}}]}}"#,
    )
    .unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "service_name",
            "tracing.sample_rate",
            "metrics.exporters[0].Prometheus.port"
        ]
    );
    assert!(err
        .to_string()
        .starts_with("invalid telemetry config:\n  service_name: must not be empty\n"));
}

#[test]
fn from_env_reads_the_file_named_by_telemetry_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telemetry.json");
    std::fs::write(&path, Profile::Production.json()).unwrap();
    let p = path.display().to_string();
    let cfg = TelemetryConfig::from_env_with(|v| match v {
        "TELEMETRY_CONFIG" => Some(p.clone()),
        "TELEMETRY_ENABLED" => Some("false".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(cfg.service_name, "timeline-studio");
    assert!(!cfg.enabled);

    let err = TelemetryConfig::from_env_with(|v| {
        (v == "TELEMETRY_CONFIG").then(|| "/nonexistent/t.json".into())
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read config file /nonexistent/t.json:"),
        "{err}"
    );
}

#[test]
fn endpoint_problems_never_show_the_credentials_or_the_query() {
    let otlp = |endpoint: &str| {
        format!(r#"{{"tracing":{{"exporters":[{{"Otlp":{{"endpoint":{endpoint:?}}}}}]}}}}"#)
    };
    for (endpoint, message) in [
        (
            "collector:4318/v1/traces?api-key=SECRET",
            r#""collector:4318/v1/traces" must start with http:// or https://"#,
        ),
        (
            "ftp://user:SECRET@collector/v1/traces",
            r#""ftp://collector/v1/traces" must start with http:// or https://"#,
        ),
        (
            "https://:SECRET@/v1/traces",
            r#""https:///v1/traces" is not a valid URL: empty host"#,
        ),
        (
            "https://collector:99999/v1/traces?api-key=SECRET",
            r#""https://collector:99999/v1/traces" is not a valid URL: invalid port number"#,
        ),
        // A base64 key pasted unencoded: its `/` ends the authority.
        (
            "https://api:SECRET/x+y=@collector/v1/traces",
            r#""https://collector/v1/traces" is not a valid URL: invalid port number"#,
        ),
        ("http:///v1/traces", r#""http:///v1/traces" has no host"#),
    ] {
        let err = TelemetryConfig::from_json(&otlp(endpoint)).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        let ConfigError::Invalid(issues) = err else {
            panic!("{endpoint}: {text}");
        };
        assert_eq!(
            issues[0].to_string(),
            format!("tracing.exporters[0].Otlp.endpoint: {message}"),
            "{endpoint}"
        );
    }
    // A key given as the password of an empty user name is a valid endpoint.
    TelemetryConfig::from_json(&otlp("https://:SECRET@collector/v1/traces")).unwrap();
}

#[test]
fn shown_endpoints_carry_no_credentials() {
    for (given, shown) in [
        (
            "http://user:pw@collector:4318/v1/traces?key=k#f",
            "http://collector:4318/v1/traces",
        ),
        (
            "https://collector.example.com",
            "https://collector.example.com",
        ),
        ("user@collector:4317", "collector:4317"),
        ("http://[::1]:4318/v1/logs", "http://[::1]:4318/v1/logs"),
    ] {
        assert_eq!(crate::config::shown_endpoint(given), shown);
    }
}
